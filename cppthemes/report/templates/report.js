// report.html's only script: search, filter and sort what the page already holds.
// Without it the page is complete (lists are <details>, heatmap numbers are links).
(function () {
  "use strict";
  var doc = document;
  var tools = doc.getElementById("tools");
  if (!tools) { return; }
  tools.hidden = false;

  var state = { q: [], theme: "", group: "", speaker: "", weak: false, unstable: false, cell: null };
  var articles = {};
  var words = {};
  Array.prototype.forEach.call(doc.querySelectorAll("article.code"), function (a) {
    var code = a.getAttribute("data-code") || "";
    var h = a.querySelector("h3");
    var k = a.querySelector(".keyphrases");
    var shown = a.querySelector("details.passages .shown");
    articles[code] = {
      el: a,
      list: a.querySelector("details.passages"),
      shown: shown,
      lead: shown ? shown.textContent : "",
      flags: (a.getAttribute("data-flags") || "").split(" ")
    };
    words[code] = ((h ? h.textContent : "") + " " + (k ? k.textContent : "")).toLowerCase();
  });
  var items = Array.prototype.map.call(doc.querySelectorAll("li.passage"), function (el) {
    var code = el.getAttribute("data-code") || "";
    var text = el.querySelector(".text");
    var groups = [];
    try { groups = JSON.parse(el.getAttribute("data-groups") || "[]"); } catch (e) { groups = []; }
    return {
      el: el, code: code, groups: groups,
      theme: el.getAttribute("data-theme") || "",
      speaker: el.getAttribute("data-speaker") || "",
      text: ((text ? text.textContent : "") + " " + (words[code] || "")).toLowerCase()
    };
  });
  var total = items.length;
  var status = doc.getElementById("status");
  var clear = doc.getElementById("clear");

  function flagged(code) {
    if (!state.weak && !state.unstable) { return true; }
    var flags = articles[code] ? articles[code].flags : [];
    return (state.weak && flags.indexOf("weak") >= 0) ||
      (state.unstable && flags.indexOf("unstable") >= 0);
  }

  function matches(it) {
    for (var i = 0; i < state.q.length; i++) {
      if (it.text.indexOf(state.q[i]) < 0) { return false; }
    }
    if (state.theme && it.theme !== state.theme) { return false; }
    if (state.group && it.groups.indexOf(state.group) < 0) { return false; }
    if (state.speaker && it.speaker !== state.speaker) { return false; }
    if (state.cell && (it.code !== state.cell.code || it.groups.indexOf(state.cell.group) < 0)) {
      return false;
    }
    return flagged(it.code);
  }

  function apply() {
    var active = state.q.length > 0 || !!state.theme || !!state.group || !!state.speaker ||
      state.weak || state.unstable || !!state.cell;
    var counts = {};
    var shown = 0;
    items.forEach(function (it) {
      var ok = !active || matches(it);
      it.el.hidden = !ok;
      if (ok) { counts[it.code] = (counts[it.code] || 0) + 1; shown += 1; }
    });
    Object.keys(articles).forEach(function (code) {
      var a = articles[code];
      var n = counts[code] || 0;
      a.el.hidden = active && n === 0;
      if (a.list) { a.list.open = active && n > 0; }
      if (a.shown) { a.shown.textContent = active ? n + " shown of " : a.lead; }
    });
    var what = active ? shown + " of " + total + " passages match" : total + " passages";
    if (state.cell) { what += " (" + state.cell.code + " in " + state.cell.group + ")"; }
    status.textContent = what;
    clear.hidden = !active;
    Array.prototype.forEach.call(doc.querySelectorAll("table.heat a.picked"), function (a) {
      a.classList.remove("picked");
    });
    return active;
  }

  var search = doc.getElementById("search");
  search.addEventListener("input", function () {
    state.q = search.value.toLowerCase().split(/\s+/).filter(function (w) { return w; });
    apply();
  });
  Array.prototype.forEach.call(tools.querySelectorAll("button[data-theme]"), function (b) {
    b.addEventListener("click", function () {
      var theme = b.getAttribute("data-theme");
      state.theme = state.theme === theme ? "" : theme;
      Array.prototype.forEach.call(tools.querySelectorAll("button[data-theme]"), function (o) {
        o.setAttribute("aria-pressed", String(o.getAttribute("data-theme") === state.theme));
      });
      apply();
    });
  });
  ["group", "speaker"].forEach(function (name) {
    var select = doc.getElementById(name);
    if (select) {
      select.addEventListener("change", function () { state[name] = select.value; apply(); });
    }
  });
  ["weak", "unstable"].forEach(function (name) {
    var box = doc.getElementById(name);
    box.addEventListener("change", function () { state[name] = box.checked; apply(); });
  });
  clear.addEventListener("click", function () {
    state = { q: [], theme: "", group: "", speaker: "", weak: false, unstable: false, cell: null };
    search.value = "";
    Array.prototype.forEach.call(tools.querySelectorAll("select"), function (s) { s.value = ""; });
    Array.prototype.forEach.call(tools.querySelectorAll("input[type=checkbox]"), function (c) {
      c.checked = false;
    });
    Array.prototype.forEach.call(tools.querySelectorAll("button[data-theme]"), function (o) {
      o.setAttribute("aria-pressed", "false");
    });
    apply();
  });

  // A heatmap number: just the passages of that code in that group.
  Array.prototype.forEach.call(doc.querySelectorAll("table.heat a[data-group]"), function (a) {
    a.addEventListener("click", function (event) {
      event.preventDefault();
      state.cell = { code: a.getAttribute("data-code"), group: a.getAttribute("data-group") };
      apply();
      a.classList.add("picked");
      var list = doc.getElementById("list-" + state.cell.code);
      if (list) { list.scrollIntoView({ block: "start" }); }
    });
  });

  // Sortable tables: click a heading; numbers sort as numbers (data-v when given).
  function value(cell) {
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
    var n = parseFloat(raw);
    return isNaN(n) || !/^\s*[-+]?\d/.test(raw) ? raw.trim().toLowerCase() : n;
  }
  Array.prototype.forEach.call(doc.querySelectorAll("table.sortable"), function (table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = value(r1.cells[col]);
          var b = value(r2.cells[col]);
          var order = typeof a === typeof b ? (a < b ? -1 : a > b ? 1 : 0)
            : (typeof a === "number" ? -1 : 1);
          return up ? order : -order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  apply();
}());
