/* signatory workspace: the live preview of a letter's text. The editor works without this
   file: its Preview button re-renders the page on the server. */
(function () {
  "use strict";

  var source = document.querySelector("textarea[data-preview-source]");
  var target = document.querySelector("[data-preview-target]");
  if (!source || !target || !window.fetch || !window.FormData) {
    return;
  }
  var form = source.form;
  var tokenField = form && form.querySelector("input[name=csrf_token]");
  var status = document.querySelector("[data-preview-status]");
  var url = source.getAttribute("data-preview-url");
  var timer = null;
  // Each request gets a number; a slow answer to an older request never replaces a newer one.
  var sent = 0;
  var shown = 0;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function refresh() {
    var mine = ++sent;
    var body = new FormData();
    body.append("body", source.value);
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": tokenField ? tokenField.value : "", "Accept": "application/json" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (mine < shown) {
          return;
        }
        shown = mine;
        // The server returns Markdown rendered and sanitised by the same code as the
        // published letter (scripts, styles and event handlers removed).
        target.innerHTML = data.html;
        say("Your text as it will read; updates as you type. Not saved yet.");
      })
      .catch(function () {
        say("The live preview is unavailable just now; the Preview button still works.");
      });
  }

  source.addEventListener("input", function () {
    window.clearTimeout(timer);
    // Wait for a pause in typing rather than asking the server on every key.
    timer = window.setTimeout(refresh, 400);
  });
  say("The preview updates as you type.");
})();
