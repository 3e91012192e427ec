"""Every file gravity writes lands inside the output folder, whatever names the data or config hold.

The names that reach file or folder names are covariate names (``panel/covariates/NAME.parquet``
when zeros stay implicit) and, through job keys, batch spec names, product groups and codes. The
tests feed them hostile names (``../``, absolute paths, backslashes, control characters, 300
characters, unicode, names that clean up alike) through the real ``gravity`` entry point and check
that (a) nothing appears outside the output folder, (b) every written path resolves inside it and
(c) two names never share a file silently. The other names gravity writes (``fit/``,
``relatedness/``, ``report/`` ...) are fixed by :class:`gravity.layout.OutputLayout`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from gravity.cli.main import main
from gravity.panel.dataset import _file_name
from gravity.panel.io import load_panel

HOSTILE = (
    "../../escape",
    "/abs/path",
    "a\\b",
    "a/b",
    "a_b",
    "tab\there\x07bell\x1b[31m",
    "x" * 300,
    "café 日本 ☃",
    "caf?",
    "..",
    ".",
    "",
    "CON",
)
"""Covariate names: distinct, and several of them clean up to the same characters."""


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _trade(folder: Path, products: tuple[str, ...] = ("0101", "0202")) -> None:
    rows = []
    for i, e in enumerate("ABCD"):
        for j, m in enumerate("ABCD"):
            for p in products:
                for year in (2019, 2020):
                    if e != m:
                        dist = 100.0 * (1 + abs(i - j)) + 10 * (i + j)
                        rows.append((e, m, p, year, dist, 1e6 * (i + 1) * (j + 2) / dist))
    columns = ["origin", "dest", "hs", "yr", "dist", "flow"]
    pd.DataFrame(rows, columns=columns).to_csv(folder / "trade.csv", index=False)


def _config(folder: Path, names: tuple[str, ...], extra: str = "") -> Path:
    """A product-level panel with one country covariate per name, zeros kept implicit."""
    _trade(folder)
    covariates = ""
    for i, name in enumerate(names):
        table = pd.DataFrame({"country": list("ABCD"), f"v{i}": [1.0 + i, 2.0, 3.0, 4.0]})
        table.to_csv(folder / f"c{i}.csv", index=False)
        covariates += (
            f"    - {{name: {json.dumps(name)}, path: c{i}.csv, columns: {{country: country}}}}\n"
        )
    text = f"""\
output: out
data:
  trade:
    path: trade.csv
    columns: {{exporter: origin, importer: dest, product: hs, year: yr, value: flow}}
  zeros: {{mode: fill, max_rows: 1}}
  covariates:
{covariates}{extra}"""
    path = folder / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _assert_inside(out: Path, before: set[Path], sandbox: Path) -> None:
    """(a) nothing new outside ``out``; (b) every path under ``out`` resolves inside it."""
    new = _files(sandbox) - before
    assert new, "the command wrote nothing"
    root = out.resolve()
    stray = sorted(str(p) for p in new if not p.resolve().is_relative_to(root))
    assert stray == [], stray
    for path in _files(out):
        assert path.resolve().is_relative_to(root), path
        assert len(path.name.encode("utf-8")) <= 255, path.name


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder inside ``tmp_path``: relative escapes from it land in ``tmp_path``."""
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return work


def test_hostile_covariate_names_stay_inside_and_apart(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = tuple(n for n in HOSTILE if n)  # an empty name falls back to the file stem
    config = _config(sandbox, names)
    root = sandbox.parents[2]
    before = _files(root)
    assert main(["panel", str(config), "--quiet"]) == 0, capsys.readouterr().err
    out = sandbox / "out"
    _assert_inside(out, before, root)
    assert not Path("/abs/path.parquet").exists() and not Path("/abs").exists()
    files = sorted((out / "panel" / "covariates").iterdir())
    # (c) one file per name: nothing overwritten, names that clean up alike kept apart
    assert len(files) == len(names)
    assert len({f.name.lower() for f in files}) == len(names)
    for path in files:
        assert re.fullmatch(r"[0-9A-Za-z_-]+\.parquet", path.name), path.name
    manifest = json.loads((out / "manifest.json").read_text())
    for written in manifest["outputs"]:
        assert (out / written).resolve().is_relative_to(out.resolve()), written
    # reading the panel back gives every table its own data
    panel = load_panel(out / "panel" / "panel.parquet")
    assert [t.name for t in panel.covariates] == list(names)
    for i, table in enumerate(panel.covariates):
        assert list(table.frame.columns) == ["country", f"v{i}"]
        assert table.frame[f"v{i}"].iloc[0] == 1.0 + i


@pytest.mark.parametrize(
    "names", [("gdp", "gdp"), ("GDP", "gdp")], ids=["same name", "same name but case"]
)
def test_names_sharing_a_file_are_one_clear_error(
    names: tuple[str, str], sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(sandbox, names)
    assert main(["panel", str(config)]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("gravity panel: error: ")]
    assert len(errors) == 1 and "internal error" not in err, err
    assert "would share the file" in errors[0] and "own name" in errors[0]
    assert not (sandbox / "out" / "panel" / "covariates").exists()  # refused before writing


def test_covariate_file_names_are_safe_bounded_and_distinct() -> None:
    long_a, long_b = "é" * 300, "é" * 299 + "e"
    names = (*HOSTILE, long_a, long_b, "a" * 64, "a" * 65, "gdp", "dist_cepii", "geo-cepii")
    stems = [_file_name(n) for n in names]
    for name, stem in zip(names, stems, strict=True):
        assert re.fullmatch(r"[0-9A-Za-z_-]{1,80}", stem), (name, stem)
        assert _file_name(name) == stem  # stable across runs (a rerun rewrites the same file)
    assert len(set(stems)) == len(names)
    # plain names keep their file name
    assert [_file_name(n) for n in ("gdp", "dist_cepii", "geo-cepii")] == list(names[-3:])


def test_hostile_batch_names_make_no_paths(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Spec names and product groups reach job labels, never paths: job folders are hash keys."""
    _trade(sandbox, products=("0101", "0202", "../x", "/etc"))
    groups = {"../../escape": ["0101", "../x"], "/abs/group\\x": ["0202", "/etc"]}
    specs = "".join(
        f'      - {{name: {json.dumps(name)}, formula: "value ~ log(dist) | {effects}"}}\n'
        for name, effects in (("../../spec", "exporter + importer"), ("/abs/spec\x07", "exporter"))
    )
    config = sandbox / "run.yaml"
    config.write_text(
        f"""\
output: out
data:
  trade:
    path: trade.csv
    columns: {{exporter: origin, importer: dest, product: hs, year: yr, value: flow}}
model:
  formula: "value ~ log(dist) | exporter + importer"
batch:
  backend: serial
  grid:
    products: {{groups: {json.dumps(groups)}}}
    specs:
{specs}""",
        encoding="utf-8",
    )
    root = sandbox.parents[2]
    before = _files(root)
    assert main(["batch", str(config), "--quiet"]) == 0, capsys.readouterr().err
    out = sandbox / "out"
    _assert_inside(out, before, root)
    jobs = sorted((out / "batch" / "jobs").iterdir())
    assert len(jobs) == 4  # 2 groups x 2 specs, none overwritten
    assert all(re.fullmatch(r"[0-9a-f]{16}", j.name) for j in jobs), [j.name for j in jobs]
    results = pd.read_parquet(out / "batch" / "results.parquet")
    assert set(results["spec"]) == {"../../spec", "/abs/spec\x07"}
    assert set(results["products"]) == set(groups)
