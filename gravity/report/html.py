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
from gravity.report.formatting import format_money, format_value
from gravity.report.interactive import controls, opportunity_skeleton, table_payload
from gravity.report.markup import Child, Markup, el, join, safe_json
from gravity.report.profile_sections import MORE_TABLES
from gravity.report.tables import ReportTable
from gravity.report.text import (
    FORMULAS,
    profile_sentences,
    scoring_sentence,
)

__all__ = ["render_html", "render_table"]

NUMERIC = {"money", "share", "change", "score", "number", "int", "year", "pvalue"}
INLINE = {"product_name": "product", "importer_name": "importer"}
SECTIONS = (
    ("opportunities", "Opportunities"),
    ("accuracy", "How accurate is this?"),
    ("profile", "Bilateral profile"),
    ("model", "Model"),
    ("method", "Data and method"),
)


def _country_filters(report: Report) -> dict[str, dict[str, str]]:
    """Destination code to its region, country groups and income group, by filter key."""
    return {"region": report.regions, "bloc": report.blocs, "income": report.income}


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
    money = report.currency
    top = table.frame.iloc[0]
    what = f"{top.get('product_name', '')} to " if "product_name" in table.frame else ""
    latest = report.tables.get("destinations")
    period = report.period
    cards: list[Child] = []
    if latest is not None:
        cards += [
            _card(
                "Untapped potential, products already exported",
                format_money(latest.frame["untapped"].sum(), money),
                f"sum over destinations; {period}",
            ),
            _card(
                "Potential exports, products already exported",
                format_money(latest.frame["potential"].sum(), money),
                period,
            ),
        ]
    new = report.tables.get("new_products")
    if new is not None:
        cards.append(
            _card(
                "New products",
                f"{len(new):,} shown",
                "listed apart, with their entry probability; not in the totals",
            )
        )
    parts += [
        el(
            "p",
            {"class": "lead"},
            f"Where {who} could export more: opportunities ranked by score (1 = best). ",
            scoring_sentence(report.scoring),
        ),
        _missing(report.note("opportunities")),
        el(
            "div",
            {"class": "cards"},
            cards,
            _card("Opportunities", f"{report.opportunities_total:,}"),
            _card("Best-ranked opportunity", f"{what}{top['importer_name']}", words=True),
        ),
        controls(table, _country_filters(report)),
        el(
            "p",
            {"id": "opportunity-count", "class": "note", "aria-live": "polite"},
            f"{len(table):,} opportunities",
        ),
        opportunity_skeleton(table),
    ]
    parts.append(
        el(
            "p",
            {"class": "note print-only"},
            "Printed, the table lists the opportunities in view; opportunities.xlsx holds them "
            "all.",
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
            "The controls filter the table and the charts; click a header to sort. Without a "
            "year or list chosen, the charts show the latest year of "
            f"{who}'s opportunities in products it already exports. Intervals: "
            + (f"{report.level:.0%}" if report.level is not None else "nominal")
            + " level; new products are listed apart below, with the probability that the "
            "flow starts.",
        )
    )
    parts.append(
        el(
            "div",
            {"class": "charts"},
            [
                _chart(n, report)
                for n in ("products", "markets", "intervals", "scatter", "destinations")
            ],
        )
    )
    for name in ("destinations", "products", "new_products"):
        if name in report.tables:
            parts.append(render_table(report.tables[name]))
    return join(parts)


def _accuracy(report: Report) -> Markup:
    parts: list[Child] = [el("h2", {}, "How accurate is this?"), _missing(report.note("accuracy"))]
    if report.accuracy:
        parts.append(
            el(
                "p",
                {"class": "lead"},
                "The model was trained on data up to a past year and its forecasts compared "
                "with what happened later, against simple rules that need no model.",
            )
        )
        parts.append(el("ul", {"class": "verdicts"}, [el("li", {}, s) for s in report.accuracy]))
    if "accuracy" in report.tables:
        parts.append(render_table(report.tables["accuracy"]))
    return join(parts)


def _profile(report: Report) -> Markup:
    parts: list[Child] = [el("h2", {}, "Bilateral profile")]
    profile = report.profile
    if profile is None:
        return join([*parts, _missing(report.note("profile"))])
    parts.append(
        el("p", {"class": "lead"}, profile_sentences(profile, report.names, report.currency))
    )
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
                format_value(fig.value, fig.kind, report.currency),
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
    parts.append(el("h3", {}, "More about the pair"))
    parts.append(el("ul", {"class": "verdicts"}, [el("li", {}, x) for x in report.profile_lines]))
    parts.append(el("div", {"class": "charts"}, _chart("forecast", report)))
    parts.extend(render_table(report.tables[n]) for n in MORE_TABLES if n in report.tables)
    return join(parts)


def _model(report: Report) -> Markup:
    parts: list[Child] = [el("h2", {}, "Model"), _missing(report.note("model"))]
    if report.fit is not None or "ease_coefficients" in report.tables:
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
    for name in ("model_facts", "coefficients", "ease_coefficients", "models", "backtest"):
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
        *SECTIONS[:4],
        *([("counterfactual", "Counterfactual")] if has_counterfactual else []),
        *SECTIONS[4:],
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
                    ("accuracy", lambda: _accuracy(report)),
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
            + safe_json(
                {
                    "charts": report.charts,
                    "forecast": report.forecast,
                    "table": table_payload(
                        report.opportunities, report.currency, _country_filters(report)
                    )
                    if report.opportunities is not None
                    else None,
                }
            )
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
