"""The page's stylesheet and script, inlined into ``index.html`` (no file or network access).

The script never builds markup from data: it reads the report's JSON with ``JSON.parse``, draws
the charts with plotly, and sorts or hides the table rows that the server already rendered
(escaped). Text it writes goes through ``textContent``.
"""

from __future__ import annotations

CSS = """
:root { --ink: #1b2631; --muted: #5d6d7e; --line: #d5dbdb; --accent: #1f6f8b;
        --bg: #f7f9f9; --warn-bg: #fff4ce; --warn-line: #c9a227; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; scroll-padding-top: 64px; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       color: var(--ink); background: var(--bg); }
header.top { position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap;
             align-items: center; gap: 8px 24px; padding: 10px 24px; background: #fff;
             border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; font-size: 17px; }
header.top nav a { margin-right: 18px; color: var(--accent); text-decoration: none;
                   font-weight: 600; }
header.top nav a:hover { text-decoration: underline; }
.banner { margin: 16px 24px 0; padding: 10px 16px; background: var(--warn-bg);
          border: 1px solid var(--warn-line); border-radius: 6px; font-weight: 600; }
main { padding: 0 24px 40px; max-width: 1400px; margin: 0 auto; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 8px 24px 24px; margin-top: 24px; }
h2 { font-size: 22px; margin: 16px 0 8px; }
h3 { font-size: 17px; margin: 24px 0 8px; }
p.lead { font-size: 16px; max-width: 70em; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; }
.missing { padding: 10px 14px; border-left: 4px solid var(--warn-line); background: #fbfbf4; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { flex: 1 1 180px; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 22px; font-weight: 700; }
.card .value.words { font-size: 16px; }
.card .period { font-size: 12px; color: var(--muted); }
.controls { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: end; margin: 12px 0; }
.controls label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); }
.controls select, .controls input { font: inherit; padding: 4px 6px; min-width: 160px; }
.controls button { font: inherit; padding: 5px 12px; }
.table-wrap { overflow: auto; max-height: 640px; border: 1px solid var(--line);
              border-radius: 6px; }
.table-wrap.static { max-height: none; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eef1f1; text-align: left;
         vertical-align: top; }
thead th { position: sticky; top: 0; background: #eef3f5; z-index: 1; min-width: 60px; }
td.name { min-width: 190px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody tr:hover { background: #f4f8fa; }
th button { all: unset; cursor: pointer; font-weight: 700; }
th button::after { content: " \\2195"; color: #9aa7ad; font-weight: 400; }
th[aria-sort="ascending"] button::after { content: " \\2191"; color: var(--ink); }
th[aria-sort="descending"] button::after { content: " \\2193"; color: var(--ink); }
.code { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr));
          gap: 16px; margin-top: 16px; }
.chart { min-height: 300px; border: 1px solid var(--line); border-radius: 6px; }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
dl.formulas dt { font-weight: 700; margin-top: 10px; }
dl.formulas dd { margin: 2px 0 0 0; max-width: 75em; }
code { background: #f2f4f4; padding: 1px 4px; border-radius: 3px; font-size: 13px; }
footer { padding: 16px 24px 32px; color: var(--muted); font-size: 13px; text-align: center; }
.print-only { display: none; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  header.top nav, .controls { display: none; }
  header.top { position: static; }
  body { background: #fff; }
  section { break-inside: auto; border: none; padding: 0; }
  .table-wrap { max-height: none; overflow: visible; }
  .charts, .two { display: block; }
  table { font-size: 10.5px; }
  th, td { padding: 3px 5px; }
  th button::after { content: ""; }
  td.name { min-width: 0; }
  #opportunity-table tbody tr:nth-child(n+51) { display: none; }
  .print-only { display: block; }
  .chart { break-inside: avoid; margin-bottom: 12px; }
}
"""

JS = r"""
(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("report-data").textContent);

  function drawCharts() {
    var divs = document.querySelectorAll("[data-chart]");
    if (typeof Plotly === "undefined") {
      divs.forEach(function (div) { div.textContent = "Charts need JavaScript (plotly)."; });
      return;
    }
    var config = { displaylogo: false, responsive: true };
    divs.forEach(function (div) {
      var figure = payload.charts[div.getAttribute("data-chart")];
      if (figure) { Plotly.newPlot(div, figure.data, figure.layout, config); }
    });
  }

  function setupTable() {
    var table = document.getElementById("opportunity-table");
    if (!table) { return; }
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var year = document.getElementById("f-year");
    var group = document.getElementById("f-group");
    var dest = document.getElementById("f-dest");
    var list = document.getElementById("f-list");
    var search = document.getElementById("f-search");
    var count = document.getElementById("opportunity-count");

    function apply() {
      var query = search.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (tr) {
        var ok = (!year.value || tr.getAttribute("data-year") === year.value) &&
          (!group.value || tr.getAttribute("data-group") === group.value) &&
          (!dest.value || tr.getAttribute("data-dest") === dest.value) &&
          (!list.value || tr.getAttribute("data-list") === list.value) &&
          (!query || tr.getAttribute("data-text").indexOf(query) !== -1);
        tr.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = "Showing " + shown.toLocaleString("en-US") + " of " +
        rows.length.toLocaleString("en-US") + " opportunities in the table";
    }

    [year, group, dest, list].forEach(function (el) { el.addEventListener("change", apply); });
    search.addEventListener("input", apply);
    document.getElementById("f-reset").addEventListener("click", function () {
      year.value = ""; group.value = ""; dest.value = ""; list.value = "";
      search.value = ""; apply();
    });

    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    headers.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") !== "text";
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        function key(tr) {
          var v = tr.cells[col].getAttribute("data-v");
          if (numeric) { return v === null || v === "" ? NaN : parseFloat(v); }
          return (v === null ? tr.cells[col].textContent : v).toLowerCase();
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (numeric) {
            if (isNaN(x)) { return isNaN(y) ? 0 : 1; }
            if (isNaN(y)) { return -1; }
            return dir * (x - y);
          }
          return dir * (x < y ? -1 : x > y ? 1 : 0);
        });
        rows.forEach(function (tr) { body.appendChild(tr); });
      });
    });
    apply();
  }

  setupTable();
  drawCharts();
})();
"""
