"""The report stage as the CLI runs it: ``OUTPUT/*`` in, ``OUTPUT/report/`` out.

Files (each only when its format is asked for in ``report.formats``):

``index.html``
    The self-contained page (plotly.js inlined; opens offline).
``opportunities.xlsx``
    An *About* sheet and one sheet per table.
``csv/<table>.csv``
    The same tables as CSV.
``report.pdf``
    The page printed by headless Chromium (``index.html`` is written too).

Nothing is written outside ``OUTPUT/report/``: every path is checked after resolving links.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gravity.exceptions import ConfigError
from gravity.layout import OutputLayout
from gravity.report.build import Report, build_report
from gravity.report.country_facts import CountryFacts
from gravity.report.data import ReportNames, load_inputs
from gravity.report.html import render_html
from gravity.report.options import ReportOptions
from gravity.report.pdf import print_pdf
from gravity.report.xlsx import SHEET_NAMES, render_csv, render_xlsx

__all__ = ["stage_report"]

log = logging.getLogger("gravity")


def _inside(path: Path, folder: Path) -> Path:
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ConfigError(
            f"report: refusing to write {path}, which resolves outside {folder}; remove the "
            "link that points elsewhere"
        )
    return path


def _about(report: Report) -> list[tuple[str, str]]:
    names = report.names
    lines = [
        ("Exporter", names.country(report.exporter) if report.exporter else "none"),
        (
            "Partner (bilateral profile)",
            names.country(report.partner) if report.partner else "none",
        ),
        ("Profile year", str(report.year) if report.year is not None else "none"),
        ("Data", report.source),
        ("Generated", report.generated),
    ]
    if report.synthetic:
        lines.insert(
            0,
            (
                "SYNTHETIC DATA",
                "built from gravity's synthetic demo world; no figure describes real trade",
            ),
        )
    return lines


def stage_report(
    options: ReportOptions,
    output: Path,
    names: ReportNames | None = None,
    facts: CountryFacts | None = None,
) -> dict[str, Path]:
    """Read the run's outputs and write the report under ``output / "report"``.

    Parameters
    ----------
    options : ReportOptions
        The ``report:`` section.
    output : pathlib.Path
        The run's output folder (``OUTPUT``), holding what earlier stages wrote; any input may
        be absent (its section of the report says so).
    names : ReportNames, optional
        Country and product names (e.g. ``ReportNames.from_frames(world.countries,
        world.products)`` for the synthetic world). Names from ``options.country_names`` and
        ``options.product_names`` take precedence; codes are shown where no name is known.
    facts : CountryFacts, optional
        Contiguity and WDI GDP per capita from the config's covariate files.

    Returns
    -------
    dict of str to pathlib.Path
        Every file written: ``html``, ``xlsx``, ``pdf`` and ``csv:<table>``.

    Raises
    ------
    DataError
        An input exists but cannot be read, or the chosen exporter, partner or year is not in
        the data.
    ConfigError
        ``pdf`` was asked for and Chromium is missing or fails, or ``OUTPUT/report`` resolves
        outside ``OUTPUT``.
    """
    output = Path(output)
    folder = OutputLayout(output).report_dir
    if folder.exists() and not folder.resolve().is_relative_to(output.resolve()):
        raise ConfigError(
            f"report: {folder} resolves to {folder.resolve()}, outside {output}; remove the link"
        )
    inputs = load_inputs(output)
    from_files = ReportNames.read(options.country_names, options.product_names)
    report = build_report(inputs, options, from_files.merged(names or ReportNames()), facts)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    formats = set(options.formats)
    if formats & {"html", "pdf"}:
        page = _inside(folder / "index.html", folder)
        page.write_text(render_html(report), encoding="utf-8")
        paths["html"] = page
    tables = list(report.tables.values())
    if "xlsx" in formats:
        paths["xlsx"] = _inside(folder / "opportunities.xlsx", folder)
        paths["xlsx"].write_bytes(render_xlsx(tables, report.title, _about(report)))
    if "csv" in formats:
        csv_folder = _inside(folder / "csv", folder)
        csv_folder.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, text in render_csv(tables).items():
            written[name] = csv_folder / f"{name}.csv"
            written[name].write_bytes(text.encode("utf-8"))
        paths.update({f"csv:{name}": path for name, path in written.items()})
        # tables of an earlier run that this one has not (e.g. no backtest now) would mislead
        for stale in csv_folder.glob("*.csv"):
            if stale.stem in SHEET_NAMES and stale.stem not in written:
                _inside(stale, folder).unlink()
    if "pdf" in formats:
        paths["pdf"] = print_pdf(
            paths["html"], _inside(folder / "report.pdf", folder), options.chromium
        )
    log.info("[report] %d files written to %s", len(paths), folder)
    return paths
