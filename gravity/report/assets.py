"""The page's stylesheet and script, inlined into ``index.html`` (no file or network access).

The script never builds markup from data: it reads the report's JSON with ``JSON.parse``, draws
the charts with plotly, and renders the opportunity rows in view (a virtualised table over the
compact columns of :func:`gravity.report.interactive.table_payload`), filtering and sorting all
rows and redrawing the charts for the filters. Text it writes goes through ``textContent``.
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
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(520px, 100%), 1fr));
          gap: 16px; margin-top: 16px; }
.chart { min-height: 300px; min-width: 0; border: 1px solid var(--line); border-radius: 6px; }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(560px, 100%), 1fr));
       gap: 16px; }
#opportunity-table td { white-space: nowrap; height: 31px; overflow: hidden; }
#opportunity-table tr.spacer td, #opportunity-table tr.spacer { padding: 0; border: 0; }
@media (max-width: 600px) {
  main { padding: 0 8px 24px; }
  section { padding: 4px 10px 16px; }
  header.top { padding: 8px 10px; }
  .controls select, .controls input { min-width: 0; width: 100%; }
  .controls label { flex: 1 1 140px; }
  .note, .missing { overflow-wrap: anywhere; }
}
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
  var MINUS = "\u2212", DASH = "\u2013";
  var T = payload.table;

  // numbers for people, as gravity.report.formatting writes them
  function three(x) { return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2); }
  function money(v) {
    if (v === null || v === undefined || !isFinite(v)) { return DASH; }
    var sign = v < 0 ? MINUS : "", size = Math.abs(v), text = size.toFixed(0);
    var scales = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < scales.length; i++) {
      if (size >= scales[i][0] * 0.9995) {
        text = three(size / scales[i][0]) + scales[i][1];
        break;
      }
    }
    if (T && T.symbol) { return sign + T.symbol + text; }
    return sign + text + (T && T.currency ? " " + T.currency : "");
  }
  function format(v, kind) {
    if (kind === "text") { return v === null || v === undefined ? DASH : String(v); }
    if (v === null || v === undefined || !isFinite(v)) { return DASH; }
    if (kind === "money") { return money(v); }
    if (kind === "year") { return String(Math.round(v)); }
    if (kind === "int") { return Math.round(v).toLocaleString("en-US").replace("-", MINUS); }
    if (kind === "share" || kind === "change") {
      var t = (Math.abs(v) * 100).toFixed(1) + "%";
      if (kind === "change" && v > 0 && t !== "0.0%") { return "+" + t; }
      return v < 0 && t !== "0.0%" ? MINUS + t : t;
    }
    var digits = kind === "score" ? 2 : 3;
    var s = Math.abs(v).toLocaleString("en-US",
      { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return v < 0 ? MINUS + s : s;
  }

  function drawCharts() {
    var divs = document.querySelectorAll("[data-chart]");
    if (typeof Plotly === "undefined") {
      divs.forEach(function (div) { div.textContent = "Charts need JavaScript (plotly)."; });
      return false;
    }
    var config = { displaylogo: false, responsive: true };
    divs.forEach(function (div) {
      var figure = payload.charts[div.getAttribute("data-chart")];
      if (figure) {
        var fit = narrow(figure, div.clientWidth);
        Plotly.newPlot(div, fit.data, fit.layout, config);
      }
    });
    return true;
  }

  // on a narrow screen: titles and source notes wrapped to the width, long category labels
  // shortened, so nothing is cut off at 420 px
  function wrap(text, width) {
    var words = String(text).replace(/<br>/g, " ").split(" "), lines = [], line = "";
    words.forEach(function (w) {
      if (line && (line + " " + w).length > width) { lines.push(line); line = w; }
      else { line = line ? line + " " + w : w; }
    });
    if (line) { lines.push(line); }
    return lines;
  }
  function narrow(figure, width) {
    if (!width || width >= 600) { return figure; }
    var fig = JSON.parse(JSON.stringify(figure)), layout = fig.layout;
    var title = wrap(layout.title.text, Math.max(20, Math.floor(width / 8.5)));
    layout.title.text = title.join("<br>");
    layout.title.font = { size: 14 };
    layout.margin.t = 30 + 18 * title.length;
    (layout.annotations || []).forEach(function (a) {
      // the note starts at the plot area's left edge, after the category labels
      var lines = wrap(a.text, Math.max(24, Math.floor((width - 170) / 5.8)));
      a.text = lines.join("<br>");
      a.xref = "paper"; a.x = 0;
      layout.margin.b = 78 + 13 * lines.length;
      layout.height += 13 * Math.max(0, lines.length - 2);
    });
    fig.data.forEach(function (trace) {
      if (trace.orientation === "h" && trace.y) {
        trace.y = trace.y.map(function (label) {
          label = String(label);
          return label.length > 22 ? label.slice(0, 21) + "\u2026" : label;
        });
      }
    });
    return fig;
  }

  function setupTable(plotted) {
    var table = document.getElementById("opportunity-table");
    if (!table || !T) { return; }
    var wrap = document.getElementById("opportunity-wrap");
    var body = table.tBodies[0];
    var D = T.data, n = T.n, kinds = {}, i;
    T.columns.forEach(function (c) { kinds[c.key] = c.kind; });
    function get(key, r) {
      var col = D[key];
      if (!col) { return null; }
      if (col.codes) { var c = col.codes[r]; return c < 0 ? null : col.dict[c]; }
      return col[r];
    }
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var keys = heads.map(function (th) { return th.getAttribute("data-key"); });
    var text = new Array(n);
    for (i = 0; i < n; i++) {
      text[i] = [get("product_name", i), get("product", i), get("importer_name", i),
                 get("importer", i)].join(" ").toLowerCase();
    }
    var ctl = {};
    ["year", "list", "group", "dest", "region", "bloc", "income", "search"].forEach(function (k) {
      ctl[k] = document.getElementById("f-" + k);
    });
    var count = document.getElementById("opportunity-count");
    var order = [], ROW = 31, WINDOW = 40, last = -1;

    function matches(r) {
      var q = ctl.search.value.trim().toLowerCase();
      return (!ctl.year.value || String(get("year", r)) === ctl.year.value) &&
        (!ctl.list.value || get("list", r) === ctl.list.value) &&
        (!ctl.group.value || get("group", r) === ctl.group.value) &&
        (!ctl.dest.value || get("importer", r) === ctl.dest.value) &&
        (!ctl.region.value || get("region", r) === ctl.region.value) &&
        (!ctl.bloc.value || (get("bloc", r) || "").split("; ").indexOf(ctl.bloc.value) !== -1) &&
        (!ctl.income.value || get("income", r) === ctl.income.value) &&
        (!q || text[r].indexOf(q) !== -1);
    }
    function spacer(height) {
      var tr = document.createElement("tr");
      tr.className = "spacer";
      tr.style.height = height + "px";
      return tr;
    }
    function render(force) {
      var first = Math.max(0, Math.floor(wrap.scrollTop / ROW) - 5);
      if (!force && first === last) { return; }
      last = first;
      var end = Math.min(order.length, first + WINDOW);
      var frag = document.createDocumentFragment();
      frag.appendChild(spacer(first * ROW));
      for (var k = first; k < end; k++) {
        var r = order[k], tr = document.createElement("tr");
        keys.forEach(function (key) {
          var td = document.createElement("td"), kind = kinds[key];
          td.textContent = format(get(key, r), kind);
          if (kind !== "text") { td.className = "num"; }
          if (key === "product_name" && D.product) {
            td.className = "name";
            var code = document.createElement("span");
            code.className = "code";
            code.textContent = " " + get("product", r);
            td.appendChild(code);
          }
          if (key === "potential" && D.potential_low) {
            td.title = money(get("potential_low", r)) + " to " + money(get("potential_high", r));
          }
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      }
      frag.appendChild(spacer(Math.max(0, order.length - end) * ROW));
      body.replaceChildren(frag);
      table.setAttribute("data-shown", String(order.length));
    }
    var sortKey = "rank", sortDir = 1;
    function sortOrder() {
      var kind = kinds[sortKey], numeric = kind !== "text";
      order.sort(function (a, b) {
        var x = get(sortKey, a), y = get(sortKey, b);
        if (x === null || x === undefined) { return y === null || y === undefined ? a - b : 1; }
        if (y === null || y === undefined) { return -1; }
        if (numeric) { return sortDir * (x - y) || a - b; }
        x = String(x).toLowerCase(); y = String(y).toLowerCase();
        return sortDir * (x < y ? -1 : x > y ? 1 : 0) || a - b;
      });
    }
    function apply() {
      order = [];
      for (var r = 0; r < n; r++) { if (matches(r)) { order.push(r); } }
      sortOrder();
      count.textContent = "Showing " + order.length.toLocaleString("en-US") + " of " +
        n.toLocaleString("en-US") + " opportunities";
      wrap.scrollTop = 0;
      render(true);
      if (plotted) { updateCharts(); }
    }

    // the charts follow the filters: the year chosen (else the latest), the list chosen (else
    // products already exported), every other filter as set
    function chartRows(anyList) {
      var year = ctl.year.value, latest = -Infinity, out = [];
      var list = ctl.list.value || (anyList ? "" : "existing");
      order.forEach(function (r) { var y = get("year", r); if (y > latest) { latest = y; } });
      order.forEach(function (r) {
        if ((year || get("year", r) === latest) && (!D.list || !list || get("list", r) === list)) {
          out.push(r);
        }
      });
      return out;
    }
    function sums(rows, key, top, by) {
      var acc = {}, names = {};
      rows.forEach(function (r) {
        var k = get(key, r);
        if (!acc[k]) { acc[k] = { untapped: 0, potential: 0, actual: 0 }; }
        acc[k].untapped += get("untapped", r) || 0;
        acc[k].potential += get("potential", r) || 0;
        acc[k].actual += get("actual", r) || 0;
        names[k] = get(key === "product" ? "product_name" : "importer_name", r);
      });
      var list = Object.keys(acc).sort(function (a, b) { return acc[b][by] - acc[a][by]; });
      return list.slice(0, top).map(function (k) {
        var name = names[k];
        return { label: name === k ? k : name + " (" + k + ")", v: acc[k] };
      });
    }
    function updateBars(id, key) {
      var div = document.getElementById("chart-" + id);
      if (!div || !div.data) { return; }
      var top = (payload.charts[id].data[0].y || []).length || 10;
      var s = sums(chartRows(), key, Math.max(top, 10), "untapped");
      Plotly.restyle(div, {
        x: [s.map(function (e) { return e.v.untapped; })],
        y: [s.map(function (e) { return e.label; })],
        customdata: [s.map(function (e) {
          return [money(e.v.untapped), money(e.v.potential), money(e.v.actual)];
        })]
      }, [0]);
    }
    function updateDestinations() {
      var div = document.getElementById("chart-destinations");
      if (!div || !div.data) { return; }
      var s = sums(chartRows(), "importer", 10, "potential");
      var labels = s.map(function (e) { return e.label; });
      var custom = s.map(function (e) {
        var share = e.v.potential > 0 ? e.v.actual / e.v.potential : null;
        return [money(e.v.actual), money(e.v.untapped), money(e.v.potential),
                format(share, "share")];
      });
      Plotly.restyle(div, {
        x: [s.map(function (e) { return e.v.actual; }),
            s.map(function (e) { return e.v.untapped; })],
        y: [labels, labels], customdata: [custom, custom]
      }, [0, 1]);
    }
    function updateIntervals() {
      var div = document.getElementById("chart-intervals");
      if (!div || !div.data) { return; }
      var rows = chartRows().slice(0, (payload.charts.intervals.data[0].y || []).length || 10);
      rows.sort(function (a, b) { return get("rank", a) - get("rank", b); });
      Plotly.restyle(div, {
        x: [rows.map(function (r) { return get("potential", r); })],
        y: [rows.map(function (r) {
          return (D.product_name ? get("product_name", r) + " to " : "") + get("importer_name", r);
        })],
        "error_x.array": [rows.map(function (r) {
          return Math.max(0, (get("potential_high", r) || 0) - (get("potential", r) || 0));
        })],
        "error_x.arrayminus": [rows.map(function (r) {
          return Math.max(0, (get("potential", r) || 0) - (get("potential_low", r) || 0));
        })],
        customdata: [rows.map(function (r) {
          return [money(get("potential", r)), money(get("potential_low", r)),
                  money(get("potential_high", r))];
        })]
      }, [0]);
    }
    function updateScatter() {
      var div = document.getElementById("chart-scatter");
      if (!div || !div.data) { return; }
      var rows = chartRows(true).slice().sort(function (a, b) {
        return get("rank", a) - get("rank", b);
      }).slice(0, 400);
      Plotly.restyle(div, {
        x: [rows.map(function (r) { return get("feasibility", r); })],
        y: [rows.map(function (r) { return get("attractiveness", r); })],
        "marker.size": [rows.map(function (r) { return get("untapped", r) || 0; })],
        "marker.color": [rows.map(function (r) { return get("score", r); })],
        customdata: [rows.map(function (r) {
          return [get("product_name", r) || "", get("importer_name", r) || "",
                  money(get("untapped", r)), String(get("rank", r))];
        })]
      }, [0]);
    }
    // the forecast path: the potential (and its band, products' intervals in quadrature) of
    // the rows the filters leave for the partner in their latest year, and the exports of the
    // same products by year (all products when no product filter is set)
    function updateForecast() {
      var div = document.getElementById("chart-forecast"), F = payload.forecast;
      if (!div || !div.data || !F) { return; }
      var latest = -Infinity, rows = [], r, k;
      order.forEach(function (r) {
        var y = get("year", r);
        if (get("importer", r) === F.partner && y > latest) { latest = y; }
      });
      order.forEach(function (r) {
        if (get("importer", r) === F.partner && get("year", r) === latest) { rows.push(r); }
      });
      var total = 0, below = 0, above = 0, products = {};
      rows.forEach(function (r) {
        var p = get("potential", r) || 0;
        total += p;
        var lo = get("potential_low", r), hi = get("potential_high", r);
        below += Math.pow(Math.max(0, p - (lo === null || lo === undefined ? p : lo)), 2);
        above += Math.pow(Math.max(0, (hi === null || hi === undefined ? p : hi) - p), 2);
        products[get("product", r)] = true;
      });
      var narrowed = ctl.group.value || ctl.list.value || ctl.search.value.trim() ||
        (ctl.dest.value && ctl.dest.value !== F.partner);
      var actual = F.total;
      if (narrowed && F.products) {
        actual = F.years.map(function () { return 0; });
        for (k = 0; k < F.products.length; k++) {
          if (products[F.products[k]]) {
            for (r = 0; r < F.years.length; r++) { actual[r] += F.values[k][r]; }
          }
        }
      }
      var low = total - Math.sqrt(below), high = total + Math.sqrt(above), shown = rows.length > 0;
      Plotly.restyle(div, {
        y: [actual, [shown ? total : null]],
        customdata: [actual.map(function (v) { return money(v); }),
                     [[money(total), money(low), money(high)]]],
        "error_y.array": [null, [shown ? high - total : 0]],
        "error_y.arrayminus": [null, [shown ? total - low : 0]]
      }, [0, 1]);
      div.setAttribute("data-potential", shown ? String(total) : "");
    }
    function updateCharts() {
      updateForecast();
      updateBars("markets", "importer");
      if (D.product) { updateBars("products", "product"); }
      updateDestinations();
      updateIntervals();
      updateScatter();
    }

    ["year", "list", "group", "dest", "region", "bloc", "income"].forEach(function (k) {
      ctl[k].addEventListener("change", apply);
    });
    ctl.search.addEventListener("input", apply);
    wrap.addEventListener("scroll", function () { render(false); }, { passive: true });
    document.getElementById("f-reset").addEventListener("click", function () {
      ["year", "list", "group", "dest", "region", "bloc", "income", "search"].forEach(function (k) {
        ctl[k].value = "";
      });
      apply();
    });
    heads.forEach(function (th) {
      th.querySelector("button").addEventListener("click", function () {
        var key = th.getAttribute("data-key");
        sortDir = sortKey === key && sortDir === 1 ? -1 : 1;
        sortKey = key;
        heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
        sortOrder();
        wrap.scrollTop = 0;
        render(true);
      });
    });
    order = [];
    for (i = 0; i < n; i++) { order.push(i); }
    sortOrder();
    count.textContent = "Showing " + n.toLocaleString("en-US") + " of " +
      n.toLocaleString("en-US") + " opportunities";
    render(true);
    window.__gravityTable = { apply: apply, shown: function () { return order.length; } };
  }

  var started = performance.now();
  var plotted = drawCharts();
  var charted = performance.now();
  setupTable(plotted);
  // read by the load-time benchmark and the browser tests (first render done)
  window.__gravityTiming = { script: started, charts: charted - started,
                             table: performance.now() - charted, done: performance.now() };
})();
"""
