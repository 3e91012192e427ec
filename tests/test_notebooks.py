"""The notebooks in notebooks/ (issue 9): stored without outputs, and they run top to bottom.

Each notebook runs in a fresh kernel started by nbclient with the ``python3`` kernelspec. When
that spec's command is ``python``, jupyter_client starts the kernel with ``sys.executable``, so
the kernel runs this interpreter (the project's virtualenv); a test checks that. Notebooks 02 and
03 read ../shared/data. Without those files they are skipped, and their skip path (every cell
runs and does nothing) is run against an empty folder instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO_ROOT, SHARED_DATA

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# The files of ../shared/data that each notebook reads (the quickstart reads none).
NEEDS: dict[str, tuple[str, ...]] = {
    "01_quickstart.ipynb": (),
    "02_real_data.ipynb": (
        "baci_sample/BACI_HS92_Y2021_sample_AFG_ZAF.csv",
        "baci_sample/country_codes_V202201.csv",
        "cepii_geodist/dist_cepii.csv",
        "wdi/gdp_current_usd_1960_2023.csv",
        "fixest_trade/trade.csv",
    ),
    "03_replication.ipynb": (
        "yotov2016_agtpa/Chapter1Application1.dta",
        "santos_silva_tenreyro2006/log_of_gravity.dta",
    ),
}
CELL_TIMEOUT_S = 300
# Stored notebooks hold code and prose only.
MAX_NOTEBOOK_BYTES = 64_000
SKIP_MARK = "SKIPPED"  # what the notebooks print when their data are absent


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def execute(
    nb: nbformat.NotebookNode, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh kernel; a cell error raises CellExecutionError."""
    # the kernel inherits this environment: where the data are, and a plotly renderer that
    # creates the figure without inlining plotly.js
    monkeypatch.setenv("GRAVITY_SHARED_DATA", str(shared_data))
    monkeypatch.setenv("PLOTLY_RENDERER", "json")
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    return nb


def printed(nb: nbformat.NotebookNode) -> str:
    """Everything the code cells printed to stdout."""
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stdout"
    )


def missing_data(name: str) -> list[str]:
    return [f for f in NEEDS[name] if not (SHARED_DATA / f).is_file()]


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NEEDS)


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_stored_notebook_has_no_outputs(name: str) -> None:
    assert (NOTEBOOK_DIR / name).stat().st_size < MAX_NOTEBOOK_BYTES
    nb = read(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: cell {cell.id} has stored outputs"
            assert cell.execution_count is None, f"{name}: cell {cell.id} has an execution count"


def test_kernel_runs_this_interpreter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cell = nbformat.v4.new_code_cell("import sys\nprint(sys.executable)\nprint(sys.prefix)")
    nb = execute(nbformat.v4.new_notebook(cells=[cell]), tmp_path, monkeypatch)
    assert printed(nb).split() == [sys.executable, sys.prefix]


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_notebook_runs(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = missing_data(name)
    if missing:
        pytest.skip(f"{name} reads {missing}, not available in {SHARED_DATA}")
    nb = execute(read(name), SHARED_DATA, monkeypatch)
    assert SKIP_MARK not in printed(nb)


@pytest.mark.parametrize("name", sorted(n for n, files in NEEDS.items() if files))
def test_notebook_skips_cleanly_without_data(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nb = execute(read(name), tmp_path / "no-shared-data", monkeypatch)
    assert SKIP_MARK in printed(nb)
