"""``model: forecast`` in the chunked potential: equal to the unchunked forecast, resumable.

Reference: the unchunked :func:`gravity.potential.pipeline.rank_opportunities` with
``model: forecast`` on the demo world of ``test_chunked``, whose forecast is fitted on the whole
panel's cube (:func:`gravity.potential.forecast.fitted.fit_forecast`).

- Without a training cap or negative share to apply (this world is small), the chunks give
  the unchunked training sample cell for cell, so the forecast columns are compared exactly.
  Their features read global sums that the chunks add up in another order (exporter, importer
  and pair totals; ``SUM_RTOL``), which moves no tree split: the scores come out bit-identical.
- With a cap and a negative share, the chunked sample is a hashed draw over global cell codes,
  not the unchunked generator's draw over the whole candidate array, so the two samples differ
  by construction: the chunked run is checked to be exactly invariant to the chunk size, and
  its end result against the unchunked one within the spread of the unchunked forecast over
  seeds (``SEED_MEAN_ATOL``, ``SEED_RANK_CORR``).
- The shipped default blends new flows with a naive rule (chosen on the calibration origin's
  out-of-time forecasts); the two blends that read more than the default's tables are checked
  exactly too: new flows stacked with ``lagged_presence`` (a cell's own earlier years) and the
  level blend (an option), whose calibration reads an earlier origin's model drawn on demand.
- Gravity's columns follow ``test_chunked`` (``IRLS_RTOL``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from gravity.panel.dataset import Panel
from gravity.potential.chunked import forecast_tasks, rank
from gravity.potential.chunked.options import ChunkOptions
from gravity.potential.chunked.rank import rank_chunks
from gravity.potential.chunked.runner import run_chunks
from gravity.potential.features import relatedness_features
from gravity.potential.forecast import fitted
from gravity.potential.forecast import harness as harness_module
from gravity.potential.forecast.fitted import ForecastModel, fit_forecast
from gravity.potential.forecast.options import LearnerOptions
from gravity.potential.options import PotentialOptions
from gravity.potential.pipeline import rank_opportunities
from tests.potential.test_chunked import (
    KEYS,
    ROOT,
    WAIT_LIMIT_S,
    assert_same_opportunities,
    related,
    world_panel,
)

# few small trees: the comparison is of the chunked and unchunked paths, not of the learner
FAST = LearnerOptions(max_iter=10, min_samples_leaf=20)
# a cap (per block max(1000 // 2, 1000) = 1000 of about 2,000 candidates) and a negative share
SAMPLED = LearnerOptions(max_iter=40, min_samples_leaf=20, max_train_rows=1000, negative_rate=0.5)
FORECAST_COLUMNS = ["entry_probability", "expected_given_trade", "potential", "score", "rank"]
# exporter, importer and pair sums over products, added chunk by chunk instead of in one pass:
# reassociation error is at most (terms) x 2**-53 relative, about 1e-14 for 180 products
SUM_RTOL = 1e-12
# The unchunked forecast of this world under seeds 1..4 (rank_opportunities, SAMPLED learner),
# seed 1 against 2, 3, 4: mean entry probability differs by 0.008, 0.030, 0.022 and the rank
# correlation of potential is 0.988, 0.990, 0.988. A chunked sample is another draw of the same
# design (measured: 0.003 and 0.986), so it must fall within that spread, with some margin.
SEED_MEAN_ATOL = 0.04
SEED_RANK_CORR = 0.97


def options(**update: object) -> PotentialOptions:
    fields: dict[str, object] = {
        "horizon": 2,
        "window": 3,
        "model": "forecast",
        "learner": FAST,
        **update,
    }
    return PotentialOptions.model_validate(fields)


def chunked(
    tmp: Path, opts: PotentialOptions, panel_path: Path | None = None
) -> tuple[pd.DataFrame, dict[str, object]]:
    run = run_chunks(
        world_panel(), opts, tmp / "chunks", related(), panel_path, relatedness_features()
    )
    rank_chunks(run, tmp / "opportunities.parquet", tmp / "opportunities.csv")
    return pd.read_parquet(tmp / "opportunities.parquet"), run.info


_REFERENCE: dict[str, pd.DataFrame] = {}


def unchunked_frame(opts: PotentialOptions) -> pd.DataFrame:
    """The unchunked table of ``opts`` (computed once per options in a test session)."""
    key = opts.model_dump_json()
    if key not in _REFERENCE:
        _REFERENCE[key] = rank_opportunities(world_panel(), opts, relatedness_features()).frame
    return _REFERENCE[key]


def unchunked(tmp: Path, opts: PotentialOptions) -> pd.DataFrame:
    unchunked_frame(opts).to_parquet(tmp / "reference.parquet", index=False)  # same dtypes
    return pd.read_parquet(tmp / "reference.parquet")


@pytest.mark.parametrize(
    "update",
    [{}, {"exporters": ["XAB", "XAE"], "importers": ["XAA", "XAC", "XAD", "XAF"], "top": 7}],
    ids=["all", "selected"],
)
def test_chunked_forecast_equals_unchunked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, update: dict[str, object]
) -> None:
    monkeypatch.setattr(rank, "RANK_BATCH_ROWS", 300)
    opts = options(**update)
    want = unchunked(tmp_path, opts)
    got, info = chunked(tmp_path, opts.model_copy(update={"chunks": ChunkOptions(products=4)}))
    assert len(want) > 0
    assert_same_opportunities(got, want)
    # the forecast's own columns: the same training sample gives the same model, exactly
    assert_frame_equal(got[KEYS + FORECAST_COLUMNS], want[KEYS + FORECAST_COLUMNS])
    if "top" not in update:  # not two featureless models
        assert got["entry_probability"].nunique() > 100
    assert "gravity_potential" in got.columns
    # every candidate was a training example, as unchunked
    training = info["forecast_training_rows"]
    assert training == info["forecast_training_available"]
    assert isinstance(training, dict) and min(training.values()) > 1000


def test_the_level_blend_chunked_draws_its_earlier_origins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The level blend (an option) is chunked exactly too.

    At horizon 1 the interval is calibrated on the forecast issued at 2004, with 2004's own
    blend, chosen on 2003's model: blocks the plan does not foresee, drawn from the chunks when
    asked for.
    """
    monkeypatch.setattr(rank, "RANK_BATCH_ROWS", 300)
    opts = options(level_blend=True, horizon=1)
    want = unchunked(tmp_path, opts)
    got, info = chunked(tmp_path, opts.model_copy(update={"chunks": ChunkOptions(products=4)}))
    assert_same_opportunities(got, want)
    assert_frame_equal(got[KEYS + FORECAST_COLUMNS], want[KEYS + FORECAST_COLUMNS])
    drawn_later = info["forecast_blocks_drawn_later"]
    assert isinstance(drawn_later, int) and drawn_later > 0
    model: ForecastModel = joblib.load(tmp_path / "chunks" / "forecast.joblib")
    assert "2004->2005" in model.blends["level"].source  # the base year's own blend


def test_a_blend_with_the_cells_own_history_is_chunked_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``lagged_presence`` reads a cell's earlier years, which the global tables do not hold.

    With it the only rule the new-flow blend can stack with, the chunked forecast (whose
    examples carry it from their chunk) still equals the unchunked one.
    """
    monkeypatch.setattr(rank, "RANK_BATCH_ROWS", 300)
    every = harness_module.new_flow_signals

    def lagged_only(*args: object, **kwargs: object) -> dict[str, np.ndarray]:
        return {"lagged_presence": every(*args, **kwargs)["lagged_presence"]}  # type: ignore[arg-type]

    monkeypatch.setattr(harness_module, "new_flow_signals", lagged_only)
    opts = options()
    want = rank_opportunities(world_panel(), opts, relatedness_features()).frame
    want.to_parquet(tmp_path / "reference.parquet", index=False)
    want = pd.read_parquet(tmp_path / "reference.parquet")
    got, _ = chunked(tmp_path, opts.model_copy(update={"chunks": ChunkOptions(products=4)}))
    model: ForecastModel = joblib.load(tmp_path / "chunks" / "forecast.joblib")
    assert model.blends["new_flow"].signal == "lagged_presence"
    assert_frame_equal(got[KEYS + FORECAST_COLUMNS], want[KEYS + FORECAST_COLUMNS])


def test_streamed_tables_equal_the_whole_panels(tmp_path: Path) -> None:
    """The global tables from the chunks against those of the whole panel's cube."""
    opts = options(chunks=ChunkOptions(products=4, progress=False))
    run = run_chunks(world_panel(), opts, tmp_path, related(), None, relatedness_features())
    got: ForecastModel = joblib.load(tmp_path / "forecast.joblib")
    panel = world_panel()
    want = fit_forecast(panel, run.base_year, 2, opts.forecast_options(), relatedness_features())
    assert got.tables.countries.equals(want.tables.countries)
    assert got.tables.products is not None and want.tables.products is not None
    assert got.tables.products.equals(want.tables.products)
    assert want.tables.sums.keys() <= got.tables.sums.keys()
    for key, (total, count) in want.tables.sums.items():
        ours = got.tables.sums[key]
        np.testing.assert_array_equal(ours[1], count, err_msg=str(key))
        if key[1] in ("exporter", "importer", "pair"):
            np.testing.assert_allclose(ours[0], total, rtol=SUM_RTOL, err_msg=str(key))
        else:  # summed within a product: the same cells in the same order
            np.testing.assert_array_equal(ours[0], total, err_msg=str(key))
    for key, value in want.tables.scalars.items():
        np.testing.assert_allclose(got.tables.scalars[key], value, rtol=SUM_RTOL)
    for a, grav in want.tables.gravity.items():
        for name, array in grav.items():
            np.testing.assert_array_equal(got.tables.gravity[a][name], array)
    # the scoring given the fitted model: the whole panel at once, as pass 3 chunk by chunk
    whole = got.score(panel).sort_values(KEYS).reset_index(drop=True)
    reference = want.score(panel).sort_values(KEYS).reset_index(drop=True)
    assert_frame_equal(whole, reference)


def test_sampled_training_is_chunk_invariant_and_near_the_unchunked(tmp_path: Path) -> None:
    opts = options(learner=SAMPLED)
    runs = [
        chunked(tmp_path / str(k), opts.model_copy(update={"chunks": ChunkOptions(products=k)}))
        for k in (4, 7)
    ]
    (four, info), (seven, _) = runs
    assert info["forecast_training_rows"] == {"new_flow": 1000, "level": 1000}
    available = info["forecast_training_available"]
    assert isinstance(available, dict) and min(available.values()) > 1000  # the cap applied
    # the hashed draws do not depend on the chunks: the same sample, the same forecast
    assert_frame_equal(four[KEYS + FORECAST_COLUMNS], seven[KEYS + FORECAST_COLUMNS])
    want = unchunked_frame(opts).sort_values(KEYS).reset_index(drop=True)
    got = four.sort_values(KEYS).reset_index(drop=True)
    assert_frame_equal(got[KEYS], want[KEYS])
    mean_gap = abs(got["entry_probability"].mean() - want["entry_probability"].mean())
    assert mean_gap <= SEED_MEAN_ATOL
    assert got["potential"].rank().corr(want["potential"].rank()) >= SEED_RANK_CORR


_LOCAL: dict[str, pd.DataFrame] = {}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["joblib", "dask"])
def test_parallel_backends_equal_the_local_run(tmp_path: Path, backend: str) -> None:
    panel_path = tmp_path / "panel.parquet"
    Panel(world_panel(), (), ()).to_parquet(panel_path)
    # the sampled learner: the sample's merge over chunks runs on the backend too
    local, _ = chunked(
        tmp_path / "local", options(learner=SAMPLED, chunks=ChunkOptions(products=4))
    )
    parallel, _ = chunked(
        tmp_path / backend,
        options(learner=SAMPLED, chunks=ChunkOptions(products=4, backend=backend, workers=2)),
        panel_path,
    )
    assert_frame_equal(parallel, local)


def test_no_cube_of_the_whole_panel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The largest forecast array is one chunk's cube, whatever the number of products."""
    largest: dict[int, int] = {}

    def recorded(panel: pd.DataFrame, *args: object, **kwargs: object) -> object:
        cube = build_cube(panel, *args, **kwargs)  # type: ignore[arg-type]
        largest[n_products] = max(largest.get(n_products, 0), cube.values.size)
        return cube

    build_cube = forecast_tasks.build_cube
    monkeypatch.setattr(forecast_tasks, "build_cube", recorded)
    monkeypatch.setattr(fitted, "build_cube", recorded)  # scoring, and any unchunked fit
    per_chunk = 3
    for n_products in (9, 27):
        panel = world_panel(n_products)
        opts = options(chunks=ChunkOptions(products=per_chunk, progress=False))
        run_chunks(panel, opts, tmp_path / str(n_products), None, None, relatedness_features())
        countries = len(set(panel["exporter"]) | set(panel["importer"]))
        years = panel["year"].nunique()  # the base year is the last: every year is read
        assert largest[n_products] == years * countries**2 * per_chunk
    assert largest[27] == largest[9]


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from gravity.potential.chunked import store
    from gravity.potential.chunked.options import ChunkOptions
    from gravity.potential.chunked.runner import run_chunks
    from gravity.potential.features import relatedness_features
    from tests.potential.test_chunked import related, world_panel
    from tests.potential.test_chunked_forecast import options

    folder, stop = Path(sys.argv[1]), int(sys.argv[2])
    real_replace = os.replace

    class Os:
        # blocks before renaming pass 3's chunk `stop` into place, as a process killed
        # mid-write would leave it
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def replace(src, dst):
            dst = Path(dst)
            if dst.parent.name == "rows" and dst.name.startswith(f"{stop:05d}"):
                (folder / "blocked").write_text("1")
                while True:
                    time.sleep(60)
            real_replace(src, dst)

    store.os = Os()
    opts = options(chunks=ChunkOptions(products=2, progress=False))
    run_chunks(world_panel(), opts, folder / "chunks", related(), None, relatedness_features())
    """
)


def test_kill_and_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    stop = 3  # pass 3 has written chunks 0..2 when the process is killed writing chunk 3
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(stop)], cwd=ROOT, env=env
    )
    try:
        waited = time.monotonic()
        while not (tmp_path / "blocked").exists():
            assert child.poll() is None, "the run ended before reaching the chunk to kill"
            assert time.monotonic() - waited < WAIT_LIMIT_S, "the run never reached the chunk"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    folder = tmp_path / "chunks"
    model = folder / "forecast.joblib"
    assert model.is_file()
    fitted_at = model.stat().st_mtime_ns
    opts = options(chunks=ChunkOptions(products=2, progress=False))
    run = run_chunks(world_panel(), opts, folder, related(), None, relatedness_features())
    assert run.info["rows_reused"] == stop
    assert run.info["forecast_reused"] is True  # the model was not fitted again
    assert model.stat().st_mtime_ns == fitted_at
    rank_chunks(run, tmp_path / "resumed.parquet", None)
    resumed = pd.read_parquet(tmp_path / "resumed.parquet")
    fresh, info = chunked(tmp_path / "fresh", opts)
    assert info["forecast_reused"] is False
    assert not resumed.duplicated(KEYS).any()
    assert_frame_equal(resumed, fresh)
