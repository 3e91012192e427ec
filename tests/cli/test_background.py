"""``backtest.background``: the backtest in a forked process beside the other stages of a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli import commands
from gravity.cli.background import can_fork
from gravity.cli.main import main

pytestmark = pytest.mark.skipif(not can_fork(), reason="the backtest runs beside only with fork")


def write_config(tmp_path: Path, output: str, backtest: str) -> Path:
    text = f"""\
output: {output}
data:
  synthetic: {{folder: world, level: product, n_countries: 10, n_products: 12, n_years: 6,
               seed: 7}}
sample:
  exclude_domestic: true
relatedness: {{}}
potential: {{horizon: 1, window: 2}}
backtest: {backtest}
"""
    path = tmp_path / f"{output}.yaml"
    path.write_text(text)
    return path


def test_background_backtest_writes_the_same_files(tmp_path: Path) -> None:
    # oracle: the same run with the backtest in turn; every file is equal byte for byte (the
    # same computations on the same rows, in another process)
    serial = write_config(tmp_path, "serial", "{horizon: 1, max_splits: 2}")
    aside = write_config(tmp_path, "aside", "{horizon: 1, max_splits: 2, background: true}")
    assert main(["run", str(serial), "--quiet"]) == 0
    assert main(["run", str(aside), "--quiet"]) == 0
    for name in ("metrics.csv", "summary.md"):
        want = (tmp_path / "serial" / "backtest" / name).read_bytes()
        assert (tmp_path / "aside" / "backtest" / name).read_bytes() == want, name
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "aside" / "potential" / "opportunities.parquet"),
        pd.read_parquet(tmp_path / "serial" / "potential" / "opportunities.parquet"),
        check_exact=True,
    )
    steps = {}
    for run in ("serial", "aside"):
        manifest = json.loads((tmp_path / run / "manifest.json").read_text())
        assert manifest["status"] == "ok"
        assert list(manifest["stage_seconds"]) == [
            "panel",
            "relatedness",
            "potential",
            "backtest",
        ]
        steps[run] = [
            {k: v for k, v in step.items() if k != "seconds"} for step in manifest["steps"]
        ]
    # the manifest records the backtest's step in its place, with the same rows and notes
    assert steps["aside"] == steps["serial"]


def test_background_backtest_error_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a cutoff whose outcome year is not in the panel: the DataError raised in the second
    # process reaches the CLI as its usual one line (no traceback), and the manifest says failed
    config = write_config(tmp_path, "bad", "{horizon: 3, cutoffs: [2014], background: true}")
    assert main(["run", str(config), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "outcome year" in err and "Traceback" not in err
    manifest = json.loads((tmp_path / "bad" / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "DataError" in manifest["error"]


def test_background_process_that_dies_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def dies(config: object, panel: object) -> None:
        os._exit(3)  # a crash of the second process (killed, out of memory): no result sent

    monkeypatch.setattr(commands, "_stage_backtest", dies)
    config = write_config(tmp_path, "dies", "{horizon: 1, max_splits: 1, background: true}")
    assert main(["run", str(config), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "exit code 3" in err and "backtest.background: false" in err
