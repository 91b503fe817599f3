// Filters for the findings list. The report is complete without this script: it only hides
// what the reader filters out and keeps the "Showing N of M" count in step.
(function () {
  "use strict";
  var findings = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var files = Array.prototype.slice.call(document.querySelectorAll("section.file"));
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-severity]"));
  var query = document.getElementById("filter-text");
  var shown = document.getElementById("shown-count");
  var filters = document.getElementById("filters");
  if (!shown || !query || !filters) {
    return;
  }
  // Printing shows every finding, collapsed or not, and restores the reader's view after.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.slice.call(document.querySelectorAll("section.file details:not([open])"));
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });
  // Lower-cased once: searching re-reads it on every keystroke.
  var haystacks = findings.map(function (f) {
    return ((f.getAttribute("data-path") || "") + "\n" + f.textContent).toLowerCase();
  });

  function apply() {
    var wanted = {};
    boxes.forEach(function (b) {
      wanted[b.getAttribute("data-severity")] = b.checked;
    });
    var q = query.value.trim().toLowerCase();
    var visible = 0;
    findings.forEach(function (f, i) {
      var ok = wanted[f.getAttribute("data-severity")] !== false &&
        (q === "" || haystacks[i].indexOf(q) !== -1);
      f.hidden = !ok;
      if (ok) {
        visible += 1;
      }
    });
    files.forEach(function (s) {
      s.hidden = s.querySelector("article.finding:not([hidden])") === null;
    });
    shown.textContent = "Showing " + visible + " of " + findings.length +
      (findings.length === 1 ? " finding" : " findings");
  }

  boxes.forEach(function (b) {
    b.addEventListener("change", apply);
  });
  query.addEventListener("input", apply);
  // `report.html#filter=IMDS030` opens the report filtered: links can point at a subset.
  var hash = window.location.hash;
  if (hash.indexOf("#filter=") === 0) {
    try {
      query.value = decodeURIComponent(hash.slice("#filter=".length));
    } catch (e) {
      query.value = hash.slice("#filter=".length);
    }
  }
  filters.hidden = false;
  apply();
  document.documentElement.setAttribute("data-js", "ready");
})();
