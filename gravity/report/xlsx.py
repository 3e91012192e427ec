"""Spreadsheet and CSV renderers of the report's tables.

``opportunities.xlsx`` gets an *About* sheet, then one sheet per table: bold, shaded, wrapped
headers, a number format per column kind, frozen header row (and label columns), an autofilter
and fitted column widths. Strings are written as strings, never as formulas or links, so a name
such as ``=HYPERLINK(...)`` stays text. The CSV files hold the same tables with raw numbers;
text cells that a spreadsheet would run as a formula get a leading apostrophe.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import xlsxwriter

from gravity.report.formatting import Kind
from gravity.report.tables import ReportTable

__all__ = ["NUMBER_FORMATS", "SHEET_NAMES", "render_csv", "render_xlsx"]

NUMBER_FORMATS: dict[Kind, str] = {
    "usd": '"$"#,##0',
    "share": "0.0%",
    "change": "+0.0%;-0.0%;0.0%",
    "score": "0.00",
    "number": "#,##0.0000",
    "int": "#,##0",
    "year": "0",
    "pvalue": "0.0000",
}
SHEET_NAMES = {
    "opportunities": "Opportunities",
    "destinations": "Destinations",
    "products": "Products",
    "profile": "Bilateral profile",
    "top_exports": "Top exports",
    "top_imports": "Top imports",
    "growth_exports": "Growth, exports",
    "growth_imports": "Growth, imports",
    "potential_exports": "Potential, exports",
    "potential_imports": "Potential, imports",
    "model_facts": "Model",
    "coefficients": "Coefficients",
    "models": "All models",
    "backtest": "Backtest",
    "data": "Data",
    "sources": "Sources",
    "filters": "Filters",
    "steps": "Steps",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LABEL_KEYS = {"product_name", "importer_name", "label", "term", "item", "c0"}
MAX_WIDTH = 60


def _sheet_name(table: ReportTable, used: set[str]) -> str:
    base = SHEET_NAMES.get(table.name, table.name)[:31]
    name, i = base, 2
    while name.lower() in used:
        name = f"{base[:27]} ({i})"
        i += 1
    used.add(name.lower())
    return name


def _frozen_columns(table: ReportTable) -> int:
    keys = [c.key for c in table.columns]
    for i, key in enumerate(keys[:3]):
        if key in LABEL_KEYS:
            return i + 1
    return 0


def render_xlsx(
    tables: Sequence[ReportTable], title: str, about: Sequence[tuple[str, str]] = ()
) -> bytes:
    """Render ``tables`` as one workbook, one sheet each, after an *About* sheet.

    Parameters
    ----------
    tables : sequence of ReportTable
        The tables, in sheet order.
    title : str
        Title written at the top of the *About* sheet.
    about : sequence of (str, str)
        Label and value lines of the *About* sheet (data, exporter, synthetic warning, ...).

    Returns
    -------
    bytes
        The ``.xlsx`` file's content (the caller writes it).
    """
    buffer = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": False,
    }
    with xlsxwriter.Workbook(buffer, options) as book:
        header = book.add_format(
            {"bold": True, "bg_color": "#DCE6EA", "border": 1, "text_wrap": True, "valign": "top"}
        )
        bold = book.add_format({"bold": True})
        big = book.add_format({"bold": True, "font_size": 14})
        formats = {kind: book.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()}
        sheet = book.add_worksheet("About")
        sheet.write_string(0, 0, title, big)
        for row, (label, value) in enumerate(about, start=2):
            sheet.write_string(row, 0, label, bold)
            sheet.write_string(row, 1, value)
        start = len(about) + 3
        sheet.write_string(start, 0, "Sheet", header)
        sheet.write_string(start, 1, "Contents", header)
        sheet.set_column(0, 0, 24)
        sheet.set_column(1, 1, 100)
        used = {"about"}
        names = [_sheet_name(t, used) for t in tables]
        for row, (name, table) in enumerate(zip(names, tables, strict=True), start=start + 1):
            sheet.write_string(row, 0, name)
            sheet.write_string(row, 1, table.title)
        for name, table in zip(names, tables, strict=True):
            _write_sheet(book.add_worksheet(name), table, header, formats)
    return buffer.getvalue()


def _write_sheet(
    sheet: xlsxwriter.worksheet.Worksheet,
    table: ReportTable,
    header: xlsxwriter.format.Format,
    formats: dict[Kind, xlsxwriter.format.Format],
) -> None:
    widths = [min(max(len(c.label), 8), 24) + 2 for c in table.columns]
    for col, column in enumerate(table.columns):
        sheet.write_string(0, col, column.label, header)
        if column.help:
            sheet.write_comment(0, col, column.help)
    for r, row in enumerate(table.frame.itertuples(index=False), start=1):
        for col, (value, column) in enumerate(zip(row, table.columns, strict=True)):
            if column.kind == "text":
                text = (
                    ""
                    if value is None or (isinstance(value, float) and math.isnan(value))
                    else str(value)
                )
                sheet.write_string(r, col, text)
                widths[col] = min(max(widths[col], len(text) + 2), MAX_WIDTH)
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if math.isfinite(number):
                sheet.write_number(r, col, number, formats[column.kind])
            else:
                sheet.write_blank(r, col, None)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.set_row(0, 32)
    sheet.freeze_panes(1, _frozen_columns(table))
    if len(table):
        sheet.autofilter(0, 0, len(table), len(table.columns) - 1)


def _csv_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render_csv(tables: Sequence[ReportTable]) -> dict[str, str]:
    """Render each table as CSV text (labelled headers, raw numbers; ``name.csv`` by the caller).

    Returns
    -------
    dict of str to str
        The CSV text of each table, by table name.
    """
    texts = {}
    for table in tables:
        frame = table.labelled()
        for i, column in enumerate(table.columns):
            if column.kind == "text":
                frame.isetitem(i, [_csv_safe(v) for v in frame.iloc[:, i]])
        texts[table.name] = frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")
    return texts
