"""Hostile and sloppy inputs through the real CLI: one clear line, no side effect, no traceback.

Each test is a regression test for a case named in the hardening issue; the expected behaviour is
the CLI contract (exit 1 and exactly one ``gravity COMMAND: error:`` line naming the key, file or
piece at fault), not numbers.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.cli.main import main
from tests.cli.test_cli import write_config


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``gravity`` in-process; return the exit code and stderr."""
    code = main(argv)
    return code, capsys.readouterr().err


def one_error_line(err: str, command: str) -> str:
    """The single error line of a failed command (and fail if there is anything else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"gravity {command}: error: ")]
    assert len(errors) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return errors[0]


INJECTION = "value ~ I(@pd.io.common.os.system('touch PWNED')) | exporter"


@pytest.mark.parametrize("where", ["model", "compare", "batch"])
@pytest.mark.parametrize("command", ["validate", "fit", "batch"])
def test_formula_injection_is_refused_everywhere(
    where: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = f'formula: "{INJECTION}"'
    extra = {
        "model": "",
        "compare": f"compare:\n  - {hostile}\n",
        "batch": f"batch:\n  backend: serial\n  grid:\n    specs:\n      - {hostile}\n",
    }[where]
    config = write_config(tmp_path, extra)
    if where == "model":
        text = config.read_text().replace("value ~ log(dist) | exporter + importer", INJECTION)
        config.write_text(text)
    before = set(tmp_path.rglob("*"))
    code, err = run_cli([command, str(config)], capsys)
    assert code == 1
    line = one_error_line(err, command)
    assert "'@' is not allowed" in line and "formula" in line
    assert set(tmp_path.rglob("*")) == before  # nothing written, no PWNED anywhere


CONFIG_EDITS = {
    "maxiter 0": (
        "  vcov: {type: cluster, by: [exporter]}",
        "  vcov: {type: cluster, by: [exporter]}\n  solver: {maxiter: 0}",
        "key 'model.solver.maxiter': Input should be greater than or equal to 1",
    ),
    "negative tolerance": (
        "  vcov: {type: cluster, by: [exporter]}",
        "  vcov: {type: cluster, by: [exporter]}\n  solver: {tol: -1}",
        "key 'model.solver.tol': Input should be greater than 0",
    ),
    "encoding": (
        "    path: trade.csv",
        "    path: trade.csv\n    encoding: klingon",
        "key 'data.trade.encoding': unknown encoding 'klingon'",
    ),
    "top-level Output": (
        "output: out",
        "Output: out",
        "unknown key 'Output'; did you mean 'output'?",
    ),
    "seed 1e300": ("output: out", "output: out\nseed: 1e300", "key 'seed'"),
    "huge year": ("output: out", "output: out\nreport: {year: 1e300}", "key 'report.year'"),
}


@pytest.mark.parametrize("case", CONFIG_EDITS)
@pytest.mark.parametrize("command", ["validate", "fit"])
def test_bad_options_are_one_line_naming_the_key(
    case: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    old, new, message = CONFIG_EDITS[case]
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace(old, new))
    code, err = run_cli([command, str(config)], capsys)
    assert code == 1
    assert message in one_error_line(err, command)
    assert not (tmp_path / "out").exists()


def test_empty_estimation_sample_is_an_error_naming_the_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "")
    config.write_text(config.read_text().replace("sample:\n", "sample:\n  years: [1990]\n"))
    code, err = run_cli(["fit", str(config)], capsys)
    assert code == 1
    line = one_error_line(err, "fit")
    assert "removed 50 rows outside sample.years" in line
    assert "sample.years [1990] are not in the data" in line
    assert not (tmp_path / "out" / "fit" / "coefficients.csv").exists()


def test_years_absent_from_the_data_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, "")
    config.write_text(config.read_text().replace("sample:\n", "sample:\n  years: [2019, 2031]\n"))
    code, _ = run_cli(["fit", str(config)], capsys)
    assert code == 0
    assert "sample.years not in the data: [2031] (the data have 2019-2020)" in caplog.text
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    sample = next(s for s in manifest["steps"] if s["name"] == "panel: sample")
    assert any("[2031]" in note for note in sample["notes"])


def test_output_that_is_an_existing_file_or_unwritable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    (tmp_path / "out").write_text("my thesis\n")
    code, err = run_cli(["fit", str(config)], capsys)
    assert code == 1
    assert "is an existing file, not a folder" in one_error_line(err, "fit")
    assert (tmp_path / "out").read_text() == "my thesis\n"
    (tmp_path / "out").unlink()
    # a folder inside a file cannot be created, whoever runs the test
    config.write_text(config.read_text().replace("output: out", "output: trade.csv/out"))
    code, err = run_cli(["fit", str(config)], capsys)
    assert code == 1
    assert "output: cannot write to" in one_error_line(err, "fit")


def test_output_in_a_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: nothing to check here
            pytest.skip("running with permissions that ignore a read-only folder")
        config.write_text(config.read_text().replace("output: out", "output: locked/out"))
        code, err = run_cli(["fit", str(config)], capsys)
        assert code == 1
        assert "cannot write to" in one_error_line(err, "fit")
    finally:
        locked.chmod(0o700)


def test_non_empty_foreign_output_folder_needs_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("keep me\n")
    code, err = run_cli(["fit", str(config)], capsys)
    assert code == 1
    assert "pass --force" in one_error_line(err, "fit")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]
    assert run_cli(["fit", str(config), "--force", "--quiet"], capsys)[0] == 0
    # once gravity has written its manifest there, the folder is gravity's: no --force needed
    assert run_cli(["fit", str(config), "--quiet"], capsys)[0] == 0
    assert (tmp_path / "out" / "notes.txt").read_text() == "keep me\n"


def test_links_out_of_the_output_folder_are_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "fit").symlink_to(outside, target_is_directory=True)
    code, err = run_cli(["fit", str(config), "--force"], capsys)
    assert code == 1
    assert "outside the output folder" in one_error_line(err, "fit")
    assert list(outside.iterdir()) == []


def test_warnings_are_one_line_and_quiet_silences_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gravity.cli import commands
    from gravity.exceptions import DataWarning

    real = commands.run_stages

    def warn_then_run(*args: object, **kwargs: object) -> int:
        warnings.warn("12 rows have\nunmatched codes", DataWarning, stacklevel=1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(commands, "run_stages", warn_then_run)
    config = write_config(tmp_path)
    code, err = run_cli(["fit", str(config)], capsys)
    assert code == 0
    lines = [line for line in err.splitlines() if "unmatched" in line]
    assert lines == ["gravity fit: warning: 12 rows have unmatched codes"]
    assert ".py" not in err and "warnings.warn" not in err
    code, err = run_cli(["fit", str(config), "--quiet"], capsys)
    assert code == 0 and "unmatched" not in err


VALIDATE_DATA = {
    "mapped column": ("dest", "dst", "column 'dst' not found; did you mean 'dist'?"),
    "formula variable": ("log(dist)", "log(distance)", "column 'distance' is not in the data"),
    "fixed effect": ("| exporter + importer", "| exporter + partner", "column 'partner'"),
    "cluster": ("by: [exporter]", "by: [pair]", "column 'pair' is not in the data"),
    "years": ("sample:\n", "sample:\n  years: [1990]\n", "do not overlap the years"),
    "exporters": (
        "output: out",
        "output: out\npotential: {exporters: [ZZZ], ease_terms: [log(dist)]}",
        "potential.exporters: code(s) ['ZZZ'] do not occur in trade.csv",
    ),
    "ease terms": ("output: out", "output: out\npotential: {ease_terms: [rta]}", "'rta'"),
}


@pytest.mark.parametrize("case", VALIDATE_DATA)
def test_validate_checks_the_data_like_a_run_would(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, message = VALIDATE_DATA[case]
    config = write_config(tmp_path)
    text = config.read_text()
    if case == "mapped column":
        text = text.replace("importer: dest", "importer: dst")
    else:
        assert old in text
        text = text.replace(old, new)
    config.write_text(text)
    code, err = run_cli(["validate", str(config)], capsys)
    assert code == 1
    assert message in one_error_line(err, "validate")
    code, err = run_cli(["fit", str(config), "--quiet"], capsys)
    assert code != 0 or case in ("exporters", "ease terms")  # fit does not read those sections


def test_validate_prints_what_it_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["validate", str(config)]) == 0
    out = capsys.readouterr().out
    for piece in ("checked output:", "has the mapped columns", "cluster columns exist"):
        assert piece in out
    assert not (tmp_path / "out").exists()  # validate writes nothing


def test_exporter_only_data_works_for_relatedness_like_country(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(20261127)
    rows = [
        (c, f"0{p}01", year, float(rng.gamma(1.0, 1e6)))
        for c in ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
        for p in range(1, 6)
        for year in (2019, 2020)
    ]
    pd.DataFrame(rows, columns=["origin", "hs", "yr", "usd"]).to_csv(
        tmp_path / "exports.csv", index=False
    )
    results = {}
    for role in ("exporter", "country"):
        folder = tmp_path / role
        folder.mkdir()
        (folder / "run.yaml").write_text(
            "output: out\n"
            "data:\n"
            "  trade:\n"
            "    path: ../exports.csv\n"
            f"    columns: {{{role}: origin, product: hs, year: yr, value: usd}}\n"
            "relatedness: {}\n"
        )
        code, err = run_cli(["relatedness", str(folder / "run.yaml"), "--quiet"], capsys)
        assert code == 0, err
        results[role] = pd.read_parquet(folder / "out" / "relatedness" / "country_product.parquet")
    # the same exports, whichever name the country column has: the same RCA and density
    pd.testing.assert_frame_equal(results["exporter"], results["country"])


def test_a_fit_whose_every_regressor_is_absorbed_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # two countries without domestic flows: one distance per direction, absorbed by the effects
    rows = [("A", "B", 2019, 100.0, 5.0), ("B", "A", 2019, 100.0, 7.0)]
    config = write_config(tmp_path)  # writes its own table: replaced by the tiny one
    pd.DataFrame(rows, columns=["origin", "dest", "yr", "dist", "flow"]).to_csv(
        tmp_path / "trade.csv", index=False
    )
    code, err = run_cli(["fit", str(config), "--quiet"], capsys)
    assert code == 1
    assert "collinear with the fixed effects" in one_error_line(err, "fit")
    assert not (tmp_path / "out" / "fit" / "coefficients.csv").exists()


def test_a_glob_reads_every_file_and_the_manifest_counts_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    frame = pd.read_csv(tmp_path / "trade.csv")
    for year, part in frame.groupby("yr"):
        part.to_csv(tmp_path / f"trade_{year}.csv", index=False)
    (tmp_path / "trade.csv").unlink()
    config.write_text(config.read_text().replace("path: trade.csv", "path: trade_*.csv"))
    code, err = run_cli(["panel", str(config), "--quiet"], capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    read = next(s for s in manifest["steps"] if s["name"].startswith("panel: read"))
    assert read["rows_in"] == len(frame)
    assert read["counts"] == {
        "rows_read_file:trade_2019.csv": 25,
        "rows_read_file:trade_2020.csv": 25,
    }
    assert len(pd.read_parquet(tmp_path / "out" / "panel" / "panel.parquet")) == len(frame) - 10
