/* signatory: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // The sign form: show only the fields that apply to the chosen kind of signature.
  var form = document.querySelector("form[data-sign-form]");
  if (form) {
    var update = function () {
      var checked = form.querySelector("input[name=kind]:checked");
      var individual = checked !== null && checked.value === "individual";
      form.querySelectorAll("[data-org-only]").forEach(function (el) {
        el.hidden = individual;
      });
      form.querySelectorAll("[data-label-organization], [data-hint-organization]").forEach(function (el) {
        el.hidden = individual;
      });
      form.querySelectorAll("[data-label-individual]").forEach(function (el) {
        el.hidden = !individual;
      });
    };
    form.addEventListener("change", function (event) {
      if (event.target.name === "kind") {
        update();
      }
    });
    update();
  }

  // An error summary takes focus so screen-reader and keyboard users land on it.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
})();
