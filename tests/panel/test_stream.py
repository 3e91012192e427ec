"""The streaming panel build against the in-memory build (the reference), on the same inputs.

The in-memory build (:func:`gravity.panel.build.build_panel` then ``Panel.to_parquet``) is the
oracle: the streamed ``panel.parquet`` must hold the same rows (exact frame equality), the same
schema, the same row groups, the same metadata and the same manifest steps. Only sums of float
values may differ, by the order in which they are added (one sum per bucket, then the buckets):
``VALUE_RTOL`` bounds that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import gravity.panel.dataset as dataset
import gravity.panel.stream as stream
import gravity.panel.stream_write as stream_write
from gravity.cli.main import main
from gravity.cli.stages import stage_panel
from gravity.config.loader import load_config
from gravity.config.schema import RunConfig
from gravity.exceptions import ConfigError, DataError
from gravity.panel.build import build_panel
from gravity.panel.readers.sources import GenericSource
from gravity.panel.stream import build_panel_streaming, use_streaming
from gravity.panel.synthetic_baci import BaciWorld, BaciWorldOptions, write_baci_world

#: Relative difference allowed between sums of float values (trade value totals in the steps
#: and metadata): the streamed build adds per bucket, then the buckets, where numpy's pairwise
#: sum adds the whole column; with ~1e4 positive terms the rounding differs by well under 1e-12.
VALUE_RTOL = 1e-12

#: A world with the brief's shape: 30 countries x 60 products x 4 years (about 21,000 rows).
WORLD = {"countries": 30, "products": 60, "years": 4, "density": 0.1, "seed": 3}

#: Memory budget (GB) that makes buckets of 0.1 GB / 400 bytes = 250 rows (a few products each).
TINY_BUDGET_GB = 1e-4

#: Row-group size of the product-sorted file in these tests: 600 rows (a few products), so that
#: groups are continued from one bucket into the next.
GROUP_ROWS = 600


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> BaciWorld:
    return write_baci_world(tmp_path_factory.mktemp("world"), BaciWorldOptions(**WORLD))


@pytest.fixture(autouse=True)
def small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset, "PRODUCT_ROW_GROUP_ROWS", GROUP_ROWS)
    monkeypatch.setattr(stream_write, "PRODUCT_ROW_GROUP_ROWS", GROUP_ROWS)


def config_of(world: BaciWorld, data: dict[str, Any], sample: dict[str, Any]) -> RunConfig:
    config = load_config(world.config)
    merged = {**config.data.model_dump(exclude_none=True), **data}
    return config.model_copy(update={
        "data": type(config.data).model_validate(merged),
        "sample": type(config.sample).model_validate(sample),
    })


def both(config: RunConfig, folder: Path) -> tuple[Path, Path, stream.StreamedPanel]:
    """The in-memory build's file and the streamed build's file of ``config``."""
    data = config.data
    panel = build_panel(data.trade, None, config.sample, config.base_dir, data)
    memory = folder / "memory" / "panel.parquet"
    panel.to_parquet(memory)
    streamed = folder / "streamed" / "panel.parquet"
    result = build_panel_streaming(data.trade, config.sample, config.base_dir, data, streamed)
    return memory, streamed, result


def same_number(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=VALUE_RTOL)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_number(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_number(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def assert_same_panel(memory: Path, streamed: Path) -> dict[str, Any]:
    """Rows, schema, row groups, metadata and steps equal; returns the streamed metadata."""
    a, b = pq.read_table(memory), pq.read_table(streamed)
    assert a.schema.remove_metadata().equals(b.schema.remove_metadata())
    assert a.schema.metadata[b"pandas"] == b.schema.metadata[b"pandas"]
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), check_exact=True)
    ma, mb = pq.read_metadata(memory), pq.read_metadata(streamed)
    groups_a = [ma.row_group(i).num_rows for i in range(ma.num_row_groups)]
    assert groups_a == [mb.row_group(i).num_rows for i in range(mb.num_row_groups)]
    meta_a = json.loads(a.schema.metadata[b"gravity"])
    meta_b = json.loads(b.schema.metadata[b"gravity"])
    steps_a, steps_b = meta_a.pop("steps"), meta_b.pop("steps")
    assert steps_b[-1]["name"] == "streaming"
    assert len(steps_a) == len(steps_b) - 1
    for one, two in zip(steps_a, steps_b[:-1], strict=False):
        one.pop("seconds"), two.pop("seconds")
        assert same_number(one, two), (one, two)
    assert meta_a.keys() == meta_b.keys()
    for key in meta_a:
        assert same_number(meta_a[key], meta_b[key]), key
    sidecar = json.loads(streamed.with_suffix(".json").read_text())
    assert sidecar["rows"] == meta_b["rows"]
    assert [s["rows_out"] for s in sidecar["steps"]] == [s["rows_out"] for s in steps_b]
    return meta_b


def test_streamed_equals_in_memory_with_implicit_zeros(world: BaciWorld, tmp_path: Path) -> None:
    config = config_of(world, {"zeros": {"max_rows": 1000},
                               "streaming": {"memory_budget_gb": TINY_BUDGET_GB}}, {})
    memory, streamed, result = both(config, tmp_path)
    meta = assert_same_panel(memory, streamed)
    assert meta["zeros"]["mode"] == "implicit" and meta["rows"] == world.rows
    counts = result.steps[-1].counts
    assert counts["pieces"] == WORLD["years"] and counts["buckets"] > 10
    assert len(list((tmp_path / "streamed").glob(".panel-stream-*"))) == 0  # spills removed
    covariates = sorted(p.name for p in (tmp_path / "streamed" / "covariates").iterdir())
    assert covariates == sorted(p.name for p in (tmp_path / "memory" / "covariates").iterdir())


def test_streamed_equals_in_memory_with_filters_that_drop_rows(
    world: BaciWorld, tmp_path: Path
) -> None:
    memory_config = config_of(world, {"zeros": {"max_rows": 1000}}, {})
    countries = sorted(set(pd.read_parquet(both(memory_config, tmp_path / "all")[0])["exporter"]))
    sample = {"years": [2018, 2019, 2020, 2031], "countries": countries[:25],
              "exporters": countries[2:], "exclude_domestic": True}
    data = {"zeros": {"max_rows": 1000, "universe": "year"},
            "streaming": {"memory_budget_gb": TINY_BUDGET_GB},
            "derived": [{"name": "log_dist", "op": "log", "of": "dist"}]}
    memory, streamed, result = both(config_of(world, data, sample), tmp_path)
    meta = assert_same_panel(memory, streamed)
    steps = {s.name: s for s in result.steps}
    removed = steps["sample"].removed
    assert removed["years"] > 0 and removed["countries"] > 0 and removed["exporters"] > 0
    assert steps["sample"].notes and "2031" in steps["sample"].notes[0]
    assert meta["zeros"]["universe"] == "year"


def test_streamed_equals_in_memory_when_zeros_are_filled(
    world: BaciWorld, tmp_path: Path
) -> None:
    """A panel small enough to fill is read back whole, in the in-memory build's row order."""
    sample = {"products": sorted(pd.read_csv(world.product_codes, dtype=str)["code"])[:3]}
    config = config_of(world, {"streaming": {"enabled": True}}, sample)
    memory, streamed, result = both(config, tmp_path)
    meta = assert_same_panel(memory, streamed)
    assert meta["zeros"]["mode"] == "filled" and result.panel is not None


def test_streamed_equals_in_memory_on_an_aggregate_source(
    world: BaciWorld, tmp_path: Path
) -> None:
    """A table without products (one piece: a generic source is read whole)."""
    frame = pd.read_parquet(both(config_of(world, {"zeros": {"max_rows": 1000}}, {}),
                                 tmp_path / "product")[0])
    totals = frame.groupby(["exporter", "importer", "year"], as_index=False)["value"].sum()
    totals.sample(frac=1.0, random_state=0).to_csv(tmp_path / "aggregate.csv", index=False)
    trade = GenericSource(kind="generic", path=str(tmp_path / "aggregate.csv"))
    config = config_of(world, {"trade": trade.model_dump(), "zeros": "fill",
                               "streaming": True}, {"years": [2018, 2019]})
    memory, streamed, _ = both(config, tmp_path)
    meta = assert_same_panel(memory, streamed)
    assert "product" not in meta["columns"] and meta["zeros"]["mode"] == "filled"


def test_memory_holds_one_piece_or_one_bucket(
    world: BaciWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instrumented: every frame pass 2 completes is one bucket, never the whole panel."""
    sizes: list[int] = []
    complete = stream_write.complete_bucket

    def spy(frame: pd.DataFrame, *args: Any) -> pd.DataFrame:
        sizes.append(len(frame))
        return complete(frame, *args)

    monkeypatch.setattr(stream, "complete_bucket", spy)
    config = config_of(world, {"zeros": {"max_rows": 1000},
                               "streaming": {"memory_budget_gb": TINY_BUDGET_GB}}, {})
    data = config.data
    result = build_panel_streaming(data.trade, config.sample, config.base_dir, data,
                                   tmp_path / "panel.parquet")
    bucket_rows = TINY_BUDGET_GB * 1e9 / stream.BUCKET_BYTES_PER_ROW
    largest_product = int(pd.read_parquet(tmp_path / "panel.parquet")["product"]
                          .value_counts().max())
    assert sum(sizes) == world.rows and len(sizes) == result.steps[-1].counts["buckets"]
    assert max(sizes) <= max(bucket_rows, largest_product) < world.rows / 10
    counts = result.steps[-1].counts
    assert counts["largest_bucket_rows"] == max(sizes)
    assert counts["largest_piece_rows"] == max(world.truth["rows_per_year"].values())


def copy_world(world: BaciWorld, folder: Path) -> Path:
    folder.mkdir()
    for path in world.folder.iterdir():
        if path.is_file():
            (folder / path.name).write_bytes(path.read_bytes())
    return folder


def test_unresolved_country_codes_counted_as_in_memory(world: BaciWorld, tmp_path: Path) -> None:
    """Codes that resolve to no country in two years: rows, share and codes summed right."""
    folder = copy_world(world, tmp_path / "world")
    for year, code in ((2018, "9998"), (2019, "9997")):
        path = sorted(folder.glob(f"BACI_*_Y{year}_*.csv"))[0]
        lines = path.read_text().splitlines()
        exporter = lines[1].split(",")[1]  # one exporter's flows all get an unknown code
        for n in range(1, len(lines)):
            t, i, rest = lines[n].split(",", 2)
            lines[n] = f"{t},{code if i == exporter else i},{rest}"
        path.write_text("\n".join(lines) + "\n")
    config = load_config(folder / "panel.yaml")
    data = config.data.model_validate({**config.data.model_dump(exclude_none=True),
                                       "zeros": {"max_rows": 1000}, "streaming": True})
    config = config.model_copy(update={"data": data})
    with pytest.warns(Warning, match="do not resolve|does not resolve"):
        memory, streamed, result = both(config, tmp_path)
    meta = assert_same_panel(memory, streamed)
    read = result.steps[0]
    assert read.removed["dropped_unmatched_codes"] > 0
    assert "9997, 9998" in read.notes[1]
    assert meta["sources"][0]["countries"]["unmatched"] == ["9997", "9998"]


def test_a_malformed_year_file_is_one_line_naming_it(world: BaciWorld, tmp_path: Path) -> None:
    folder = copy_world(world, tmp_path / "world")
    bad = sorted(folder.glob("BACI_*_Y2019_*.csv"))[0]
    lines = bad.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0] + ",twelve,NA"
    bad.write_text("\n".join(lines) + "\n")
    config = load_config(folder / "panel.yaml")
    data = config.data.model_copy(update={"streaming": config.data.streaming.model_copy(
        update={"enabled": True})})
    target = tmp_path / "out" / "panel.parquet"
    with pytest.raises(DataError, match=rf"^{bad.name}: line 6: column .v. has .twelve.") as error:
        build_panel_streaming(data.trade, config.sample, config.base_dir, data, target)
    assert "\n" not in str(error.value)
    assert not list(target.parent.iterdir())  # spill folder and partial file removed


def test_streaming_option_and_when_it_is_used(world: BaciWorld, tmp_path: Path) -> None:
    config = config_of(world, {}, {})
    data, sample, base = config.data, config.sample, config.base_dir
    assert not use_streaming(data.trade, None, sample, base, data)  # 21k rows: 4 GB not reached
    small = data.model_copy(update={"streaming": data.streaming.model_copy(
        update={"memory_budget_gb": 1e-4})})
    assert use_streaming(data.trade, None, sample, base, small)
    thresholds = type(sample).model_validate({"min_exports": 1.0})
    assert not use_streaming(data.trade, None, thresholds, base, small)  # auto: in memory
    forced = data.model_copy(update={"streaming": data.streaming.model_copy(
        update={"enabled": True})})
    with pytest.raises(ConfigError, match=r"data\.streaming: true, but sample\.min_population"):
        use_streaming(data.trade, None, thresholds, base, forced)
    text = world.config.read_text().replace("zeros: auto", "zeros: auto\n  streaming: sometimes")
    (tmp_path / "panel.yaml").write_text(text)
    with pytest.raises(ConfigError, match="streaming"):
        load_config(tmp_path / "panel.yaml")


def test_gravity_panel_streams(world: BaciWorld, tmp_path: Path) -> None:
    text = world.config.read_text().replace(
        "zeros: auto", "zeros: {mode: auto, max_rows: 1000}\n  streaming: true"
    ).replace("output: out", f"output: {tmp_path / 'out'}")
    config = world.folder / "streamed.yaml"
    config.write_text(text)
    assert main(["panel", str(config), "--quiet"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    steps = {s["name"]: s for s in manifest["steps"]}
    assert steps["panel: streaming"]["counts"]["pieces"] == WORLD["years"]
    assert steps["panel: read baci"]["rows_out"] == world.rows
    assert pq.read_metadata(tmp_path / "out" / "panel" / "panel.parquet").num_rows == world.rows
    # later stages get the rows read back from the file; `gravity panel` alone leaves them there
    panel, _ = stage_panel(load_config(config), load=True)
    assert len(panel.frame) == world.rows and panel.zeros is not None
    assert panel.zeros.mode == "implicit" and panel.universe is not None
    alone, _ = stage_panel(load_config(config), load=False)
    assert alone.frame.empty and list(alone.frame.columns) == list(panel.frame.columns)
    assert alone.metadata["rows"] == world.rows and alone.universe == panel.universe
