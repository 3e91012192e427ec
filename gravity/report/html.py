"""Render a :class:`~gravity.report.build.Report` as one self-contained HTML page.

The page inlines plotly.js, its stylesheet, its script and its data, so it opens offline from
disk. Safety rests on one rule: markup is built only through :func:`el`, which escapes every
string that is not already :class:`Markup`, and data embedded for the script go through
:func:`safe_json`, which escapes ``<``, ``>`` and ``&`` (so a ``</script>`` inside a name cannot
close the script element). Nothing here writes files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from plotly.offline import get_plotlyjs

from gravity._version import __version__
from gravity.report.assets import CSS, JS
from gravity.report.build import Report
from gravity.report.formatting import format_usd, format_value
from gravity.report.markup import Child, Markup, el, join, safe_json
from gravity.report.tables import ReportTable
from gravity.report.text import (
    FORMULAS,
    profile_sentences,
    scoring_sentence,
)

__all__ = ["render_html", "render_table"]

NUMERIC = {"usd", "share", "change", "score", "number", "int", "year", "pvalue"}
TABLE_KEYS = (
    "rank",
    "product_name",
    "group",
    "importer_name",
    "year",
    "actual",
    "potential",
    "untapped",
    "realised_share",
    "feasibility",
    "attractiveness",
    "score",
)
INLINE = {"product_name": "product", "importer_name": "importer"}
SECTIONS = (
    ("opportunities", "Opportunities"),
    ("profile", "Bilateral profile"),
    ("model", "Model"),
    ("method", "Data and method"),
)


def _missing(notes: list[str]) -> Markup:
    return Markup("".join(el("p", {"class": "missing"}, note) for note in notes))


def _cell(value: str, raw: object, kind: str) -> Markup:
    if kind in NUMERIC:
        data = "" if raw is None else repr(raw)
        return el("td", {"class": "num", "data-v": data}, value)
    return el("td", {}, value)


def render_table(
    table: ReportTable,
    keys: Iterable[str] | None = None,
    caption: bool = True,
    attrs: Mapping[str, object] | None = None,
) -> Markup:
    """A static table (every cell escaped), optionally a subset of its columns.

    Codes are shown small beside their names (``product`` beside ``product_name``) instead of
    in a column of their own.
    """
    wanted = set(keys) if keys is not None else {c.key for c in table.columns}
    present = {c.key for c in table.columns}
    inlined = {INLINE[k]: k for k in INLINE if k in wanted and INLINE[k] in present}
    index = [i for i, c in enumerate(table.columns) if c.key in wanted and c.key not in inlined]
    position = {c.key: i for i, c in enumerate(table.columns)}
    cols = [table.columns[i] for i in index]
    head = el(
        "tr",
        {},
        [
            el(
                "th",
                {"class": "num" if c.kind in NUMERIC else None, "title": c.help or None},
                c.label,
            )
            for c in cols
        ],
    )
    rows = []
    for cells, raw in zip(table.cells(), table.raw(), strict=True):
        tds = []
        for i in index:
            code_key = INLINE.get(table.columns[i].key)
            if code_key in inlined:
                code = cells[position[code_key]]
                name = cells[i]
                tds.append(
                    el(
                        "td",
                        {"class": "name"},
                        name,
                        None if code == name else [" ", el("span", {"class": "code"}, code)],
                    )
                )
            else:
                tds.append(_cell(cells[i], raw[i], table.columns[i].kind))
        rows.append(el("tr", {}, tds))
    parts: list[Child] = []
    if caption:
        parts.append(el("h3", {}, table.title))
    parts.append(
        el(
            "div",
            {"class": "table-wrap static"},
            el(
                "table",
                {"id": f"table-{table.name}", **(attrs or {})},
                el("thead", {}, head),
                el("tbody", {}, rows),
            ),
        )
    )
    if table.note:
        parts.append(el("p", {"class": "note"}, table.note))
    return join(parts)


def _options(values: Iterable[tuple[str, str]], everything: str) -> list[Markup]:
    return [el("option", {"value": ""}, everything)] + [
        el("option", {"value": v}, label) for v, label in values
    ]


def _opportunity_table(table: ReportTable) -> Markup:
    frame = table.frame
    cols = [c for c in table.columns if c.key in TABLE_KEYS]
    index = [next(i for i, c in enumerate(table.columns) if c.key == col.key) for col in cols]
    head = el(
        "tr",
        {},
        [
            el(
                "th",
                {
                    "class": "num" if c.kind in NUMERIC else None,
                    "title": c.help or None,
                    "data-type": "number" if c.kind in NUMERIC else "text",
                    "aria-sort": "none",
                },
                el("button", {"type": "button"}, c.label),
            )
            for c in cols
        ],
    )
    body = []
    records = frame.to_dict("records")
    for cells, raw, record in zip(table.cells(), table.raw(), records, strict=True):
        text = " ".join(
            str(record.get(k, "")) for k in ("product_name", "product", "importer_name", "importer")
        )
        tds = []
        for i in index:
            kind = table.columns[i].kind
            if table.columns[i].key == "product_name" and "product" in record:
                tds.append(
                    el(
                        "td",
                        {"class": "name", "data-v": cells[i]},
                        cells[i],
                        " ",
                        el("span", {"class": "code"}, str(record["product"])),
                    )
                )
            elif table.columns[i].key == "potential" and "potential_low" in record:
                tip = (
                    f"{format_usd(record['potential_low'])} to "
                    f"{format_usd(record['potential_high'])}"
                )
                tds.append(
                    el("td", {"class": "num", "data-v": repr(raw[i]), "title": tip}, cells[i])
                )
            else:
                tds.append(_cell(cells[i], raw[i], kind))
        body.append(
            el(
                "tr",
                {
                    "data-year": format_value(record.get("year"), "year"),
                    "data-group": record.get("group", ""),
                    "data-dest": record.get("importer", ""),
                    "data-text": text.lower(),
                },
                tds,
            )
        )
    return el(
        "div",
        {"class": "table-wrap"},
        el("table", {"id": "opportunity-table"}, el("thead", {}, head), el("tbody", {}, body)),
    )


def _controls(table: ReportTable) -> Markup:
    frame = table.frame
    years = sorted({format_value(y, "year") for y in frame["year"]}, reverse=True)
    groups = sorted(set(frame["group"])) if "group" in frame.columns else []
    dests = (
        frame[["importer", "importer_name"]]
        .drop_duplicates()
        .sort_values("importer_name", kind="stable")
    )
    return el(
        "div",
        {"class": "controls"},
        el(
            "label",
            {},
            "Year",
            el("select", {"id": "f-year"}, _options(((y, y) for y in years), "All years")),
        ),
        el(
            "label",
            {},
            "Product group",
            el(
                "select",
                {"id": "f-group", "disabled": not groups},
                _options(((g, g) for g in groups), "All groups"),
            ),
        ),
        el(
            "label",
            {},
            "Destination",
            el(
                "select",
                {"id": "f-dest"},
                _options(
                    zip(dests["importer"], dests["importer_name"], strict=True), "All destinations"
                ),
            ),
        ),
        el(
            "label",
            {},
            "Search product or market",
            el("input", {"id": "f-search", "type": "search", "placeholder": "name or code"}),
        ),
        el("button", {"id": "f-reset", "type": "button"}, "Reset filters"),
    )


def _card(label: str, value: str, period: str = "", words: bool = False) -> Markup:
    return el(
        "div",
        {"class": "card"},
        el("div", {"class": "label"}, label),
        el("div", {"class": "value words" if words else "value"}, value),
        el("div", {"class": "period"}, period) if period else None,
    )


def _chart(name: str, report: Report) -> Markup | None:
    if name not in report.charts:
        return None
    return el(
        "div",
        {
            "class": "chart",
            "id": f"chart-{name}",
            "data-chart": name,
            "role": "img",
            "aria-label": report.charts[name]["layout"]["title"]["text"],
        },
    )


def _opportunities(report: Report) -> Markup:
    table = report.opportunities
    parts: list[Child] = [el("h2", {}, "Opportunities")]
    if table is None:
        return join([*parts, _missing(report.note("opportunities"))])
    who = report.names.country(report.exporter)
    latest = report.tables["destinations"]
    top = table.frame.iloc[0]
    what = f"{top.get('product_name', '')} to " if "product_name" in table.frame else ""
    parts += [
        el(
            "p",
            {"class": "lead"},
            f"Where {who} could export more: opportunities ranked by score (1 = best). ",
            scoring_sentence(report.scoring),
        ),
        el(
            "div",
            {"class": "cards"},
            _card(
                "Untapped potential",
                format_usd(latest.frame["untapped"].sum()),
                f"sum over destinations, {format_value(table.frame['year'].max(), 'year')}",
            ),
            _card("Potential exports", format_usd(latest.frame["potential"].sum())),
            _card("Opportunities", f"{report.opportunities_total:,}"),
            _card("Best-ranked opportunity", f"{what}{top['importer_name']}", words=True),
        ),
        _controls(table),
        el(
            "p",
            {"id": "opportunity-count", "class": "note", "aria-live": "polite"},
            f"Showing {len(table):,} of {len(table):,} opportunities in the table",
        ),
        _opportunity_table(table),
    ]
    parts.append(
        el(
            "p",
            {"class": "note print-only"},
            "Printed, the table lists at most 50 opportunities (in the order shown on screen); "
            "opportunities.xlsx holds them all.",
        )
    )
    if report.opportunities_total > len(table):
        parts.append(
            el(
                "p",
                {"class": "note"},
                f"The page lists the {len(table):,} best-ranked of "
                f"{report.opportunities_total:,} opportunities; opportunities.xlsx and "
                "csv/opportunities.csv hold them all.",
            )
        )
    parts.append(
        el(
            "p",
            {"class": "note"},
            "The controls filter the table. The charts show the latest year of all of "
            f"{who}'s opportunities. Hover a potential to see its interval.",
        )
    )
    parts.append(
        el(
            "div",
            {"class": "charts"},
            [_chart(n, report) for n in ("products", "markets", "scatter", "destinations")],
        )
    )
    parts.append(render_table(latest))
    if "products" in report.tables:
        parts.append(render_table(report.tables["products"]))
    return join(parts)


def _profile(report: Report) -> Markup:
    parts: list[Child] = [el("h2", {}, "Bilateral profile")]
    profile = report.profile
    if profile is None:
        return join([*parts, _missing(report.note("profile"))])
    parts.append(el("p", {"class": "lead"}, profile_sentences(profile, report.names)))
    keys = (
        "total",
        "exports",
        "imports",
        "balance",
        "total_yoy",
        "total_cagr5",
        "partner_rank_total",
        "partner_share",
    )
    cards = []
    for key in keys:
        fig = profile.figure(key)
        cards.append(
            _card(
                fig.label,
                format_value(fig.value, fig.kind),
                " ".join(filter(None, (fig.period, fig.note))),
            )
        )
    parts.append(el("div", {"class": "cards"}, cards))
    parts.append(_missing(report.note("profile")))
    parts.append(el("div", {"class": "charts"}, _chart("history", report)))
    parts.append(render_table(report.tables["profile"], keys=("label", "shown", "period", "note")))
    for group in (
        ("top_exports", "top_imports"),
        ("growth_exports", "growth_imports"),
        ("potential_exports", "potential_imports"),
    ):
        found = [render_table(report.tables[g]) for g in group if g in report.tables]
        if found:
            parts.append(el("div", {"class": "two"}, [el("div", {}, f) for f in found]))
    return join(parts)


def _model(report: Report) -> Markup:
    parts: list[Child] = [el("h2", {}, "Model"), _missing(report.note("model"))]
    if report.fit is not None:
        parts.append(
            el(
                "p",
                {"class": "lead"},
                "The gravity model explains trade between two countries by the size "
                "of both economies (absorbed by fixed effects) and the costs of trading "
                "between them. A coefficient on log distance of \u22121 means 1% more "
                "distance goes with 1% less trade; for a 0/1 variable such as a trade "
                "agreement, exp(b) \u2212 1 is the difference it makes.",
            )
        )
    for name in ("model_facts", "coefficients", "models", "backtest"):
        if name in report.tables:
            parts.append(render_table(report.tables[name]))
    if "backtest" in report.tables:
        parts.append(
            el(
                "p",
                {"class": "note"},
                "Backtest: the model is trained on data up to a past year and its "
                "ranking is compared with what happened later. ROC-AUC is the chance "
                "that a flow that appeared is ranked above one that did not (0.5 = "
                "chance); AUC-PR and precision at k reward getting the top of the list "
                "right.",
            )
        )
    return join(parts)


def _counterfactual(report: Report) -> Markup:
    parts: list[Child] = [
        el("h2", {}, "Counterfactual"),
        el(
            "p",
            {"class": "lead"},
            "What changes if trade costs change: the structural gravity model solved again with "
            "the scenario's costs. Conditional general equilibrium holds output and spending "
            "fixed; full general equilibrium lets factory-gate prices, output and spending "
            "adjust. Real GDP is output deflated by the consumer price index.",
        ),
    ]
    charts = sorted(n for n in report.charts if n.startswith("counterfactual_"))
    parts += [_chart(name, report) for name in charts]
    parts.append(render_table(report.tables["counterfactual"]))
    return join(parts)


def _method(report: Report) -> Markup:
    parts: list[Child] = [el("h2", {}, "Data and method"), _missing(report.note("method"))]
    parts.append(
        el(
            "p",
            {},
            f"Data: {report.source}. Report generated {report.generated} by gravity {__version__}.",
        )
    )
    manifest = report.manifest or {}
    if manifest:
        parts.append(
            el(
                "p",
                {"class": "note"},
                f"Run: {manifest.get('command', '')}, started "
                f"{manifest.get('started_utc', '')}, status {manifest.get('status', '')}.",
            )
        )
    for name in ("data", "sources", "filters", "steps"):
        if name in report.tables:
            parts.append(render_table(report.tables[name]))
    parts.append(el("h3", {}, "The formulas in plain words"))
    parts.append(
        el(
            "dl",
            {"class": "formulas"},
            [[el("dt", {}, term), el("dd", {}, words)] for term, words in FORMULAS],
        )
    )
    versions = manifest.get("versions") or {}
    if versions:
        parts.append(
            el(
                "p",
                {"class": "note"},
                "Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
            )
        )
    return join(parts)


def render_html(report: Report, inline_plotly: bool = True) -> str:
    """The whole page as a string.

    Parameters
    ----------
    report : Report
        What to show (see :func:`gravity.report.build.build_report`).
    inline_plotly : bool
        Inline plotly.js (about 4.8 MB) so the page works offline; tests of the markup alone
        may turn it off.

    Returns
    -------
    str
        ``<!DOCTYPE html>`` and the document.
    """
    has_counterfactual = "counterfactual" in report.tables
    sections = [
        *SECTIONS[:3],
        *([("counterfactual", "Counterfactual")] if has_counterfactual else []),
        *SECTIONS[3:],
    ]
    nav = el(
        "nav",
        {"aria-label": "Sections"},
        [el("a", {"href": f"#{key}"}, label) for key, label in sections],
    )
    banner = None
    if report.synthetic:
        banner = el(
            "div",
            {"class": "banner", "id": "synthetic-banner", "role": "note"},
            "Synthetic data: this report is built from gravity's synthetic demo world. "
            "Countries, products and flows are invented; no figure describes real trade.",
        )
    who = report.names.country(report.exporter) if report.exporter else ""
    heading = f"{report.title}: {who}" if who else report.title
    body = el(
        "body",
        {},
        el("header", {"class": "top"}, el("div", {"class": "brand"}, heading), nav),
        banner,
        el(
            "main",
            {},
            [
                el("section", {"id": key}, render())
                for key, render in (
                    ("opportunities", lambda: _opportunities(report)),
                    ("profile", lambda: _profile(report)),
                    ("model", lambda: _model(report)),
                    ("counterfactual", lambda: _counterfactual(report)),
                    ("method", lambda: _method(report)),
                )
                if key != "counterfactual" or has_counterfactual
            ],
        ),
        el(
            "footer",
            {},
            f"{report.title} \u00b7 generated {report.generated} \u00b7 "
            f"gravity {__version__}" + (" \u00b7 SYNTHETIC DATA" if report.synthetic else ""),
        ),
        Markup(f"<script>{get_plotlyjs()}</script>") if inline_plotly else None,
        Markup(
            '<script type="application/json" id="report-data">'
            + safe_json({"charts": report.charts})
            + "</script>"
        ),
        Markup(f"<script>{JS}</script>"),
    )
    head = el(
        "head",
        {},
        Markup('<meta charset="utf-8">'),
        Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        el("title", {}, heading),
        Markup(f"<style>{CSS}</style>"),
    )
    return "<!DOCTYPE html>\n" + el("html", {"lang": "en"}, head, body) + "\n"
