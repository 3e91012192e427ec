"""Reusing the panel of an earlier run (``data.reuse_panel: auto``) against building it again.

The reference is a fresh build of the same config (``--rebuild-panel``): a reused panel must give
the same frame exactly, the same manifest steps (every count of the build that wrote it) and the
same downstream results (the fit's ``coefficients.csv`` byte for byte). Each way the inputs can
change must make a rebuild, and only those: a touched file (new time, same bytes) is reused, a
file with new bytes under its old size and time is not.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import gravity.cli.panel_reuse as panel_reuse
import gravity.panel.stream as stream
from gravity.cli.main import main
from gravity.cli.stages import stage_panel
from gravity.config.loader import load_config
from gravity.exceptions import DataError
from gravity.panel.synthetic_baci import BaciWorldOptions, write_baci_world

#: A small BACI-format world (about 1,800 positive flows, 30,000 rows with zeros): each
#: command on it takes well under a second.
WORLD = {"countries": 20, "products": 30, "years": 3, "density": 0.1, "seed": 5}

FORMULA = "value ~ log(dist) + contig + comlang | exporter^year + importer^year"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_baci_world(tmp_path_factory.mktemp("world"), BaciWorldOptions(**WORLD)).folder


@pytest.fixture
def world(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the world each test may change."""
    folder = tmp_path / "world"
    shutil.copytree(pristine, folder)
    return folder


def write_config(world: Path, extra: str = "", sample: str = "", name: str = "run.yaml",
                 streaming: bool = False) -> Path:
    text = (world / "panel.yaml").read_text()
    text = text.replace("zeros: auto",
                        "zeros: {mode: auto, max_rows: 0}\n"
                        f"  streaming: {'true' if streaming else 'false'}{extra}")
    text += f"model:\n  formula: \"{FORMULA}\"\n  aggregate_products: true\n{sample}"
    path = world / name
    path.write_text(text)
    return path


def run(command: str, config: Path, *flags: str) -> dict[str, Any]:
    assert main([command, str(config), "--quiet", *flags]) == 0
    manifest: dict[str, Any] = json.loads((config.parent / "out" / "manifest.json").read_text())
    return manifest


def panel_file(world: Path) -> Path:
    return world / "out" / "panel" / "panel.parquet"


def first_trade_file(world: Path) -> Path:
    return sorted(world.glob("BACI_*.csv"))[0]


def test_reused_when_nothing_changed(world: Path) -> None:
    config = write_config(world)
    built = run("fit", config)
    coefficients = (world / "out" / "fit" / "coefficients.csv").read_bytes()
    written = panel_file(world).stat().st_mtime_ns
    reused = run("fit", config)
    assert built["panel"]["status"] == "built" and reused["panel"]["status"] == "reused"
    assert panel_file(world).stat().st_mtime_ns == written  # not written again
    assert reused["panel"]["sha256"] == built["panel"]["sha256"]
    assert reused["outputs"]["panel/panel.parquet"] == built["outputs"]["panel/panel.parquet"]
    # every step of the build, counts and notes included, and the same input hashes
    panel_steps = [s for s in built["steps"] if s["name"].startswith("panel: ")]
    assert panel_steps and [s for s in reused["steps"] if s["name"].startswith("panel: ")] == (
        panel_steps)
    assert any(s["counts"] for s in panel_steps)
    assert reused["inputs"] == built["inputs"]
    # the fit on the reused panel is the fit on the built one, byte for byte
    assert (world / "out" / "fit" / "coefficients.csv").read_bytes() == coefficients
    # and a forced rebuild (the reference) gives the same frame as the reused panel
    fresh = run("panel", config, "--rebuild-panel")
    assert fresh["panel"]["status"] == "built"
    assert "--rebuild-panel" in fresh["panel"]["reason"]
    rebuilt, _ = stage_panel(load_config(config).model_copy(update={
        "data": load_config(config).data.model_copy(update={"reuse_panel": "never"})}))
    again, output = stage_panel(load_config(config))
    assert output.sections["panel"]["status"] == "reused"
    pd.testing.assert_frame_equal(again.frame, rebuilt.frame)
    assert [s.to_dict() for s in again.steps] == [s.to_dict() for s in rebuilt.steps]
    assert again.zeros == rebuilt.zeros and again.universe == rebuilt.universe


def test_a_touched_file_is_reused_a_changed_one_is_not(world: Path) -> None:
    config = write_config(world)
    run("panel", config)
    trade = first_trade_file(world)
    os.utime(trade, ns=(trade.stat().st_atime_ns, trade.stat().st_mtime_ns + 10**9))
    assert run("panel", config)["panel"]["status"] == "reused"  # same bytes, new time
    # new bytes under the old size and the old time: only the hash sees it
    stat = trade.stat()
    lines = trade.read_text().splitlines(keepends=True)
    last = lines[-1].split(",")
    digit = last[4][0]
    last[4] = ("2" if digit != "2" else "3") + last[4][1:]
    lines[-1] = ",".join(last)
    trade.write_text("".join(lines))
    os.utime(trade, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert trade.stat().st_size == stat.st_size
    manifest = run("panel", config)
    assert manifest["panel"]["status"] == "built"
    assert manifest["panel"]["reason"] == f"{trade.name} changed content (sha256)"


def test_rebuilt_when_a_file_grows_appears_or_goes(world: Path) -> None:
    trade = first_trade_file(world)
    aside = world / "aside.csv"
    trade.rename(aside)  # the first build sees one year less
    config = write_config(world)
    run("panel", config)
    aside.rename(trade)
    manifest = run("panel", config)
    assert manifest["panel"]["reason"] == f"{trade.name} is a new input file"
    dist = world / "dist_cepii.csv"
    dist.write_text(dist.read_text() + "\n")
    manifest = run("panel", config)
    assert manifest["panel"]["status"] == "built"
    assert manifest["panel"]["reason"].startswith("dist_cepii.csv changed size")
    assert run("panel", config)["panel"]["status"] == "reused"


@pytest.mark.parametrize(
    ("extra", "sample", "reason"),
    [
        ("", "sample:\n  years: [2018, 2019]\n", "sample.years changed"),
        ("\n  metadata: {currency: EUR}", "", "data.metadata.currency changed"),
    ],
)
def test_rebuilt_when_a_data_or_sample_key_changes(
    world: Path, extra: str, sample: str, reason: str
) -> None:
    run("panel", write_config(world))
    manifest = run("panel", write_config(world, extra, sample))
    assert manifest["panel"] == {**manifest["panel"], "status": "built", "reason": reason}


def test_streaming_keys_do_not_count_and_reuse_panel_never_does(world: Path) -> None:
    run("panel", write_config(world))
    budget = "\n  reuse_panel: auto"
    assert run("panel", write_config(world, budget, streaming=True))["panel"]["status"] == (
        "reused")
    never = run("panel", write_config(world, "\n  reuse_panel: never"))
    assert never["panel"]["status"] == "built"


def test_rebuilt_when_gravity_or_its_panel_code_changes(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(world)
    run("panel", config)
    monkeypatch.setattr(panel_reuse, "__version__", "99.0")
    assert run("panel", config)["panel"]["reason"] == "gravity's version changed"
    monkeypatch.setattr(panel_reuse, "_code_digest", lambda: "0" * 64)
    assert run("panel", config)["panel"]["reason"] == "gravity's panel-building code changed"
    assert run("panel", config)["panel"]["status"] == "reused"


def test_a_truncated_panel_is_rebuilt(world: Path) -> None:
    config = write_config(world)
    run("panel", config)
    reference = pd.read_parquet(panel_file(world))
    path = panel_file(world)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    manifest = run("panel", config)
    assert manifest["panel"]["status"] == "built"
    assert manifest["panel"]["reason"].startswith("panel.parquet changed size")
    pd.testing.assert_frame_equal(pd.read_parquet(path), reference)


def test_a_panel_that_matches_its_stamp_but_cannot_be_read_is_rebuilt(world: Path) -> None:
    config = write_config(world)
    run("panel", config)
    path = panel_file(world)
    path.write_bytes(path.read_bytes()[:100])  # and a stamp that agrees with it
    stamp_file = world / "out" / "panel" / "build.json"
    stamp = json.loads(stamp_file.read_text())
    stamp["files"]["panel/panel.parquet"] = {"sha256": panel_reuse.sha256_file(path),
                                             "bytes": 100}
    stamp_file.write_text(json.dumps(stamp))
    manifest = run("panel", config)
    assert manifest["panel"]["status"] == "built"
    assert manifest["panel"]["reason"].startswith("the panel could not be read back")
    assert pq.read_metadata(path).num_rows > 0


def test_an_unreadable_stamp_or_a_build_that_failed_means_a_build(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(world, streaming=True)
    run("panel", config)
    stamp_file = world / "out" / "panel" / "build.json"
    stamp_file.write_text("{not json")
    assert run("panel", config)["panel"]["reason"] == "panel/build.json is unreadable"

    # a streaming build that fails half-way: the old panel file stays, its stamp does not
    def fail(*args: object, **kwargs: object) -> None:
        raise DataError("BACI_HS17_Y2018_V202401b.csv: line 6: made to fail")

    monkeypatch.setattr(stream, "complete_bucket", fail)
    assert main(["panel", str(config), "--quiet", "--rebuild-panel"]) == 1
    assert panel_file(world).is_file() and not stamp_file.exists()
    monkeypatch.undo()
    manifest = run("panel", config)
    assert manifest["panel"]["status"] == "built"
    assert manifest["panel"]["reason"].startswith("no panel built by an earlier run")


def test_a_streamed_panel_is_reused_with_its_steps(world: Path) -> None:
    config = write_config(world, streaming=True)
    built = run("fit", config)
    reused = run("fit", config)
    assert reused["panel"]["status"] == "reused"
    steps = {s["name"]: s for s in reused["steps"]}
    assert steps["panel: streaming"]["counts"]["pieces"] == WORLD["years"]
    assert [s for s in reused["steps"] if s["name"].startswith("panel: ")] == [
        s for s in built["steps"] if s["name"].startswith("panel: ")]
    panel, _ = stage_panel(load_config(config), load=False)
    assert panel.frame.empty and panel.metadata["rows"] == pq.read_metadata(
        panel_file(world)).num_rows
