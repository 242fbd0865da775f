/* signatory: live counts and new signatories, by polling a small JSON endpoint.
 *
 * A page opts in with data-live="letter|list|widget" and data-live-url on one element.
 * Without this script (or with it failing) every page still works: a reload shows what
 * is new. Polls go through the browser's HTTP cache, which revalidates with the ETag
 * (a 304 costs the server one indexed read) and lets a shared cache in front answer for
 * everyone; cookies are left out so that cache can.
 *
 * User text is only ever set with textContent, inside <bdi> like the server's markup.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live][data-live-url]");
  if (!root || !window.fetch) {
    return;
  }
  var POLL_MS = 4000;
  var MAX_BACKOFF_MS = 60000;
  var mode = root.getAttribute("data-live");
  var url = root.getAttribute("data-live-url");
  var revision = root.getAttribute("data-live-revision");
  var lastEtag = null;
  var delay = POLL_MS;
  var timer = null;
  var renderedTotal = readNumber(root.querySelector("[data-live-total]"));
  // The page's language and its words (data-live-text, from the server's catalogue).
  var lang = document.documentElement.lang || "en";
  var words = readWords(root.getAttribute("data-live-text"));
  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  function readWords(json) {
    try {
      return JSON.parse(json || "{}") || {};
    } catch (error) {
      return {};
    }
  }

  function readNumber(el) {
    return el ? parseInt(el.textContent.replace(/[^0-9]/g, ""), 10) || 0 : 0;
  }

  // A countable phrase in the page's language: forms[0] for "one", forms[1] otherwise.
  function phrase(key, n, english) {
    var forms = words[key] || english;
    var one = pluralRules ? pluralRules.select(n) === "one" : n === 1;
    return forms[one ? 0 : 1].replace("%(num)s", String(n));
  }

  function plural(n, noun) {
    return phrase(noun + "s", n, ["%(num)s " + noun, "%(num)s " + noun + "s"]);
  }

  function word(key, english) {
    return words[key] || english;
  }

  function grouped(n) {
    return n.toLocaleString(lang);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) {
        return;
      }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function bdi(text) {
    return el("bdi", {}, [text || ""]);
  }

  function verifiedMark() {
    return el("span", { "class": "verified" }, [el("span", { "aria-hidden": "true" }, ["✓"]), " " + word("verified_domain", "verified domain")]);
  }

  // --- counts -------------------------------------------------------------------------

  function updateCounts(counts) {
    root.querySelectorAll("[data-live-total]").forEach(function (node) {
      node.textContent = node.hasAttribute("data-live-grouped") ? grouped(counts.total) : String(counts.total);
    });
    root.querySelectorAll("[data-live-total-noun]").forEach(function (node) {
      node.textContent = phrase("signature", counts.total, ["signature", "signatures"]);
    });
    root.querySelectorAll("[data-live-organizations]").forEach(function (node) {
      node.textContent = plural(counts.organizations, "organization");
    });
    root.querySelectorAll("[data-live-individuals]").forEach(function (node) {
      node.textContent = plural(counts.individuals, "individual");
    });
    root.querySelectorAll("[data-live-goal]").forEach(function (node) {
      updateGoal(node, counts.total);
    });
  }

  // The goal's bar and its words (templates/_macros/goal.html), with the same rounding
  // down: 99.6% is not yet "100%".
  function updateGoal(node, total) {
    var goal = parseInt(node.getAttribute("data-live-goal"), 10);
    if (!goal) {
      return;
    }
    var reached = total >= goal;
    var share = Math.floor((total * 100) / goal) / 100;
    var shown = window.Intl ? new Intl.NumberFormat(lang, { style: "percent" }).format(share) : Math.round(share * 100) + "%";
    node.classList.toggle("goal-reached", reached);
    var bar = node.querySelector("[data-live-goal-bar]");
    if (bar) {
      bar.value = Math.min(total, goal);
      bar.textContent = shown;
    }
    var words = node.querySelector("[data-live-goal-share]");
    if (words) {
      words.textContent = reached ? word("goal_reached", "Goal reached") : word("goal_share", "%(share)s of the way").replace("%(share)s", shown);
    }
  }

  // --- the letter page and the widget: a short list of the newest ---------------------

  function signatoryLine(s) {
    var parts = [];
    if (s.kind === "organization") {
      parts.push(el("strong", {}, [bdi(s.organization)]));
      if (s.domain_verified) {
        parts.push(" ");
        parts.push(el("span", {
          "class": "verified",
          "title": word("verified_title", "The signer's email address is at this organization's website domain")
        }, ["✓ " + word("verified_domain", "verified domain")]));
      }
    } else {
      parts.push(el("strong", {}, [bdi(s.name)]));
      if (s.organization) {
        parts.push(", ");
        parts.push(bdi(s.organization));
      }
    }
    parts.push(" ");
    parts.push(el("span", { "class": "muted" }, ["— " + s.country_name]));
    return parts;
  }

  function organizationLine(s) {
    return [bdi(s.organization), " ", el("span", { "class": "muted" }, ["— " + s.country_name])];
  }

  function replaceList(list, items, line) {
    var known = {};
    list.querySelectorAll("[data-signature-id]").forEach(function (node) {
      known[node.getAttribute("data-signature-id")] = true;
    });
    var fresh = document.createDocumentFragment();
    items.forEach(function (s) {
      var attrs = { "data-signature-id": String(s.id) };
      if (!known[String(s.id)]) {
        attrs["class"] = "live-new";
      }
      fresh.appendChild(el("li", attrs, line(s)));
    });
    list.textContent = "";
    list.appendChild(fresh);
    list.hidden = items.length === 0;
  }

  function updateLatest(data) {
    var latest = root.querySelector("[data-live-latest]");
    if (latest) {
      replaceList(latest, data.latest, signatoryLine);
      root.querySelectorAll("[data-live-empty]").forEach(function (node) {
        node.hidden = data.latest.length > 0;
      });
    }
    var organizations = root.querySelector("[data-live-latest-organizations]");
    if (organizations) {
      var limit = parseInt(root.getAttribute("data-live-limit"), 10) || 5;
      var items = data.latest_organizations.slice(0, limit);
      replaceList(organizations, items, organizationLine);
      root.querySelectorAll("[data-live-latest-heading]").forEach(function (node) {
        node.hidden = items.length === 0;
      });
    }
  }

  // --- the full list: new rows where they belong, or a notice -------------------------

  function cell(tag, children, attrs) {
    return el(tag, attrs || {}, children);
  }

  function signedOn(s) {
    return el("time", { "datetime": s.signed_at }, [s.signed_on]);
  }

  function row(s, withVersion) {
    var cells;
    if (s.kind === "organization") {
      var name = bdi(s.organization);
      var first = [s.website ? el("a", { "href": s.website, "rel": "nofollow noopener ugc" }, [name]) : name];
      if (s.domain_verified) {
        first.push(" ");
        first.push(verifiedMark());
      }
      var signer = [bdi(s.name)];
      if (s.title) {
        signer.push(el("br"));
        signer.push(el("span", { "class": "muted" }, [bdi(s.title)]));
      }
      cells = [
        cell("th", first, { "scope": "row" }),
        cell("td", [s.country_name]),
        cell("td", [s.organization_type_name || ""]),
        cell("td", signer),
        cell("td", [signedOn(s)])
      ];
    } else {
      cells = [
        cell("th", [bdi(s.name)], { "scope": "row" }),
        cell("td", s.title ? [bdi(s.title)] : []),
        cell("td", s.organization ? [bdi(s.organization)] : []),
        cell("td", [s.country_name]),
        cell("td", [signedOn(s)])
      ];
    }
    if (withVersion) {
      // As the server's signed_version macro writes it (reconfirm): "v1 · re-confirmed v2".
      var version = [word("version", "v%(num)s").replace("%(num)s", String(s.version))];
      if (s.reconfirmed_version) {
        version.push(" · ");
        version.push(el("span", { "class": "reconfirmed" }, [
          word("reconfirmed_version", "re-confirmed v%(num)s").replace("%(num)s", String(s.reconfirmed_version))
        ]));
      }
      cells.push(cell("td", version));
    }
    return el("tr", { "data-signature-id": String(s.id), "class": "live-new" }, cells);
  }

  // On a phone a row is a card whose cells carry their column's name, as the server's do.
  function labelled(tr, body) {
    var head = body.parentNode.tHead;
    var names = head && head.rows[0] ? head.rows[0].cells : [];
    Array.prototype.forEach.call(tr.cells, function (td, i) {
      if (td.tagName === "TD" && names[i]) {
        td.setAttribute("data-label", names[i].textContent.trim());
      }
    });
    return tr;
  }

  function position(signedAt, id) {
    return signedAt + "#" + String(id).padStart(20, "0");
  }

  function insertRows(data) {
    var inserted = 0;
    var withVersion = root.getAttribute("data-live-columns") === "with-version";
    root.querySelectorAll("tbody[data-live-rows]").forEach(function (body) {
      var where = body.getAttribute("data-live-insert");
      if (!where) {
        return;
      }
      var kind = body.getAttribute("data-live-rows");
      var known = {};
      var newest = "";
      body.querySelectorAll("tr[data-signature-id]").forEach(function (tr) {
        var id = tr.getAttribute("data-signature-id");
        var time = tr.querySelector("time");
        known[id] = true;
        var at = position(time ? time.getAttribute("datetime") : "", id);
        if (at > newest) {
          newest = at;
        }
      });
      // Oldest first, so each lands in order whichever end it goes to.
      var fresh = data.latest.filter(function (s) {
        return s.kind === kind && !known[String(s.id)] && position(s.signed_at, s.id) > newest;
      }).reverse();
      fresh.forEach(function (s) {
        var tr = labelled(row(s, withVersion), body);
        if (where === "top") {
          body.insertBefore(tr, body.firstChild);
        } else {
          body.appendChild(tr);
        }
      });
      if (fresh.length) {
        inserted += fresh.length;
        var section = body.closest("section");
        var wrap = body.closest("[data-live-table]");
        if (wrap) {
          wrap.hidden = false;
        }
        if (section) {
          section.querySelectorAll("[data-live-empty]").forEach(function (node) {
            node.hidden = true;
          });
          var count = section.querySelector("h2 .muted");
          if (count) {
            count.textContent = "(" + (readNumber(count) + fresh.length) + ")";
          }
        }
      }
    });
    return inserted;
  }

  function updateList(data) {
    var inserted = insertRows(data);
    renderedTotal += inserted;
    var waiting = data.counts.total - renderedTotal;
    var notice = root.querySelector("[data-live-notice]");
    if (!notice) {
      return;
    }
    if (waiting > 0) {
      notice.querySelector("[data-live-notice-text]").textContent = phrase("new_signatories", waiting, [
        "%(num)s new signatory since this page was loaded.",
        "%(num)s new signatories since this page was loaded."
      ]);
      notice.hidden = false;
    } else {
      notice.hidden = true;
    }
  }

  // --- polling ------------------------------------------------------------------------

  function apply(data) {
    if (String(data.revision) === revision) {
      return;
    }
    revision = String(data.revision);
    updateCounts(data.counts);
    if (mode === "list") {
      updateList(data);
    } else {
      updateLatest(data);
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (!document.hidden) {
      timer = setTimeout(poll, delay);
    }
  }

  function poll() {
    // "no-cache": every poll revalidates (a conditional GET a shared cache in front can
    // still answer), so the browser never hands back a stale copy while it refreshes.
    fetch(url, { credentials: "omit", cache: "no-cache", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 304) {
          return null;
        }
        if (!response.ok) {
          throw new Error("live update answered " + response.status);
        }
        var etag = response.headers.get("ETag");
        // The browser turns a revalidated 304 into its cached 200: same ETag, nothing new.
        if (etag && etag === lastEtag) {
          return null;
        }
        lastEtag = etag;
        return response.json();
      })
      .then(function (data) {
        if (data) {
          apply(data);
        }
        delay = POLL_MS;
      })
      .catch(function () {
        // Offline or the server is busy: try again, less often.
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      })
      .then(schedule);
  }

  // Watching a hidden tab costs the server and the battery for nothing.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
    } else {
      delay = POLL_MS;
      poll();
    }
  });

  // The embed snippet is selected whole when it gets focus, ready to copy.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
    field.addEventListener("focus", function () {
      field.select();
    });
  });

  schedule();
})();
