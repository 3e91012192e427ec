"""The gravity command: exit codes, one-line errors, --help, manifests and outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli.main import COMMANDS, main


def small_trade(tmp_path: Path) -> Path:
    rows = []
    for i, e in enumerate("ABCDE"):
        for j, m in enumerate("ABCDE"):
            for year in (2019, 2020):
                dist = 100.0 * (1 + abs(i - j)) + 10 * (i + j)
                value = 0.0 if (i + j + year) % 7 == 0 else 1e6 * (i + 1) * (j + 2) / dist
                rows.append((e, m, year, dist, value))
    frame = pd.DataFrame(rows, columns=["origin", "dest", "yr", "dist", "flow"])
    path = tmp_path / "trade.csv"
    frame.to_csv(path, index=False)
    return path


def write_config(tmp_path: Path, extra: str = "") -> Path:
    small_trade(tmp_path)
    text = f"""\
output: out
data:
  trade:
    path: trade.csv
    columns: {{exporter: origin, importer: dest, year: yr, value: flow}}
sample:
  exclude_domestic: true
model:
  formula: "value ~ log(dist) | exporter + importer"
  vcov: {{type: cluster, by: [exporter]}}
{extra}"""
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_fit_writes_contract_files_and_manifest(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert main(["fit", str(config), "--quiet"]) == 0
    out = tmp_path / "out"
    coefs = pd.read_csv(out / "fit" / "coefficients.csv")
    assert list(coefs.columns) == [
        "term",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert list(coefs["term"]) == ["log(dist)"]
    fit = json.loads((out / "fit" / "fit.json").read_text())
    for key in ("nobs", "nobs_dropped", "iterations", "converged", "deviance", "loglik", "vcov"):
        assert key in fit
    assert fit["vcov"]["type"] == "cluster" and fit["vcov"]["by"] == ["exporter"]
    assert "log(dist)" in (out / "fit" / "table.md").read_text()
    assert "\\begin{tabular}" in (out / "fit" / "table.tex").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["config"]["model"]["formula"] == "value ~ log(dist) | exporter + importer"
    trade_inputs = [v for v in manifest["inputs"].values() if v["role"] == "trade"]
    assert len(trade_inputs) == 1 and len(trade_inputs[0]["sha256"]) == 64
    sample = next(s for s in manifest["steps"] if s["name"] == "panel: sample")
    assert sample["rows_in"] == 50 and sample["rows_out"] == 40
    assert sample["removed"]["domestic"] == 10
    assert manifest["versions"]["numpy"] != "missing"
    assert manifest["seed"] == 20261125
    assert "fit/coefficients.csv" in manifest["outputs"]


def test_validate_reports_misspelled_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("formula:", "formual:"))
    assert main(["validate", str(config)]) == 1
    err = capsys.readouterr().err
    assert "unknown key 'model.formual'; did you mean 'formula'?" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_column_is_one_line_error_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("log(dist)", "log(distance)"))
    assert main(["fit", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gravity fit: error: column 'distance'")
    assert "did you mean 'dist'" in err[-1]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed"


def test_debug_shows_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("log(dist)", "log(distance)"))
    assert main(["fit", str(config), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_stage_errors_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    # the default ease terms need columns this panel lacks: the message names them and the fix
    assert main(["potential", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gravity potential: error: export potential: ease term column(s)")
    assert "potential.ease_terms" in err[-1]
    # relatedness needs products
    assert main(["relatedness", str(config)]) == 1
    assert "relatedness needs a product dimension" in capsys.readouterr().err


def test_potential_on_an_aggregate_panel_writes_the_contract(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "potential: {ease_terms: ['log(dist)'], horizon: 1, window: 2}\n"
    )
    assert main(["potential", str(config), "--quiet"]) == 0
    frame = pd.read_parquet(tmp_path / "out" / "potential" / "opportunities.parquet")
    for column in (
        "exporter",
        "importer",
        "year",
        "actual",
        "potential",
        "potential_low",
        "potential_high",
        "untapped",
        "realised_share",
        "feasibility",
        "attractiveness",
        "score",
        "rank",
    ):
        assert column in frame.columns
    assert (tmp_path / "out" / "potential" / "opportunities.csv").is_file()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert any(s["name"] == "potential" for s in manifest["steps"])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_example(command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gravity.cli.main", command, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "Example:" in proc.stdout and f"gravity {command}" in proc.stdout


def test_console_script_exit_code_on_missing_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gravity.cli.main", "run", str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "not found" in proc.stderr
