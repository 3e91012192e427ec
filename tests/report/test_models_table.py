"""The report's table of all models is the regression table's cells, read as data.

Reference: :meth:`RegressionTable.to_csv` of the same fits (the fit stage writes it to
``fit/table.csv`` through :class:`OutputLayout`); the report must show exactly those cells, even
where a cell holds a character Markdown would need to escape.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gravity.cli.stages import write_fit_outputs
from gravity.estimation.ppml import Ppml
from gravity.estimation.table import RegressionTable
from gravity.layout import OutputLayout
from gravity.report.build import build_report
from gravity.report.data import load_inputs
from gravity.report.options import ReportOptions
from tests.estimation.test_oracle_statsmodels import small_panel


def test_models_table_is_the_regression_table(tmp_path: Path) -> None:
    df = small_panel()
    fits = [
        Ppml("trade ~ log(dist) + rta | exporter + importer", df).fit(),
        Ppml("trade ~ log(dist) | exporter + importer", df, vcov="iid").fit(),
    ]
    names = ["main", "x|y"]  # a pipe: the old Markdown round trip split this title in two
    layout = OutputLayout(tmp_path)
    files = write_fit_outputs(fits, names, layout)
    assert files["table_csv"] == layout.table("csv")
    report = build_report(load_inputs(tmp_path), ReportOptions())
    models = report.tables["models"]
    cells = list(csv.reader(io.StringIO(RegressionTable.from_results(fits, names).to_csv())))
    assert [c.label for c in models.columns] == [h or " " for h in cells[0]]
    assert models.frame.to_numpy().tolist() == cells[1:]
    assert cells[0][2] == "x|y"
