"""Tests of the synthetic demo world: determinism, shapes, realism and parameter recovery."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import statsmodels.api as sm
from pydantic import ValidationError

from gravity.exceptions import ConfigError, DataError, OptionsError
from gravity.panel.synthetic import (
    FILE_NAMES,
    SyntheticWorld,
    SyntheticWorldOptions,
    generate_world,
    join_pair_covariates,
    keys_as_str,
    load_or_generate_world,
    write_world,
)

SMALL = SyntheticWorldOptions(n_countries=9, n_products=12, n_years=5)
REGRESSORS = ["ln_dist", "contig", "comlang", "rta"]
# Recovery tolerance, in robust (HC1) standard errors. The fits below are correctly specified, so
# beta_hat - beta is centred on zero; but HC standard errors are too small with this many fixed
# effects per observation and heavy-tailed flows: over 30 seeds of each test world, the z-scores
# had standard deviations of 1.0-1.6 (aggregate 1.3-1.6, product level 1.0-1.5) and the largest
# |z| was 3.6 (aggregate) and 3.4 (product level). Four standard errors covers that.
RECOVERY_Z_TOL = 4.0
# Sanity bound on the standard errors, so that the z-test cannot pass by being uninformative.
MAX_RECOVERY_SE = 0.15


def assert_same_frame(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Exact frame equality; categoricals compared by dtype and codes (fast on millions of rows)."""
    assert list(left.columns) == list(right.columns)
    assert left.dtypes.equals(right.dtypes)

    def codes(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.apply(lambda c: c.cat.codes if isinstance(c.dtype, pd.CategoricalDtype) else c)

    pd.testing.assert_frame_equal(codes(left), codes(right), check_exact=True)


def assert_same_world(left: SyntheticWorld, right: SyntheticWorld) -> None:
    for name in ("trade", "countries", "macro", "pairs", "products"):
        assert_same_frame(getattr(left, name), getattr(right, name))
    assert left.truth == right.truth


@pytest.fixture(scope="module")
def default_world() -> SyntheticWorld:
    start = time.perf_counter()
    world = generate_world()
    elapsed = time.perf_counter() - start
    print(
        f"\ndefault synthetic world: {elapsed:.2f} s, {len(world.trade):,} positive flows of "
        f"{world.n_cells:,} cells (zero share {world.zero_share:.3f})"
    )
    return world


@pytest.fixture(scope="module")
def small_world() -> SyntheticWorld:
    return generate_world(SMALL)


# --- options ---------------------------------------------------------------------------------


def test_options_defaults_are_the_documented_demo() -> None:
    opts = SyntheticWorldOptions()
    assert (opts.seed, opts.n_countries, opts.n_products) == (20261125, 60, 200)
    assert (opts.first_year, opts.n_years) == (2000, 22)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"n_countries": 3}, "n_countries"),
        ({"n_countries": 677}, "n_countries"),
        ({"n_products": 0}, "n_products"),
        ({"n_years": 0}, "n_years"),
        ({"zero_quantile": 1.0}, "zero_quantile"),
        ({"beta_dist": float("inf")}, "beta_dist"),
        ({"seed": -1}, "seed"),
        ({"n_countrys": 10}, "Extra inputs are not permitted"),
    ],
)
def test_options_reject_bad_values(settings: dict[str, object], match: str) -> None:
    with pytest.raises(OptionsError, match=match):
        SyntheticWorldOptions(**settings)  # type: ignore[arg-type]


def test_options_are_frozen() -> None:
    opts = SyntheticWorldOptions()
    with pytest.raises(ValidationError, match="frozen"):
        opts.seed = 1  # type: ignore[misc]


def test_generate_world_rejects_other_option_types() -> None:
    with pytest.raises(ConfigError, match="expects SyntheticWorldOptions, got dict"):
        generate_world({"seed": 1})  # type: ignore[arg-type]


# --- determinism and files -------------------------------------------------------------------


def test_same_seed_gives_identical_world_and_bytes(tmp_path: Path) -> None:
    first, second = generate_world(SMALL), generate_world(SMALL)
    assert_same_world(first, second)
    paths_a = write_world(first, tmp_path / "a")
    paths_b = write_world(second, tmp_path / "b")
    assert set(paths_a) == set(FILE_NAMES)
    for name in FILE_NAMES:
        assert paths_a[name].read_bytes() == paths_b[name].read_bytes(), name
    # no pandas / Arrow schema metadata that could vary between library versions
    assert pq.read_schema(paths_a["trade"]).metadata is None


def test_different_seed_gives_different_world(tmp_path: Path) -> None:
    first = generate_world(SMALL)
    other = generate_world(SMALL.model_copy(update={"seed": SMALL.seed + 1}))
    assert not first.trade["value"].equals(other.trade["value"])
    assert not np.allclose(first.countries["lat"], other.countries["lat"])
    a = write_world(first, tmp_path / "a")["trade"].read_bytes()
    b = write_world(other, tmp_path / "b")["trade"].read_bytes()
    assert a != b


def test_load_or_generate_reuses_matching_files(tmp_path: Path) -> None:
    world = load_or_generate_world(tmp_path, SMALL)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert set(stamps) == set(FILE_NAMES.values())
    loaded = load_or_generate_world(tmp_path, SMALL)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    assert_same_world(world, loaded)
    assert loaded.options == SMALL


def test_load_or_generate_regenerates_on_mismatch(tmp_path: Path) -> None:
    load_or_generate_world(tmp_path, SMALL)
    other = SMALL.model_copy(update={"seed": 7})
    world = load_or_generate_world(tmp_path, other)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["options"]["seed"] == 7
    assert_same_world(world, generate_world(other))
    # a missing file also triggers regeneration
    (tmp_path / "pairs.csv").unlink()
    assert_same_world(load_or_generate_world(tmp_path, other), world)
    assert (tmp_path / "pairs.csv").is_file()


def test_load_for_some_years_reads_only_those_and_leaves_the_cache_alone(tmp_path: Path) -> None:
    full = load_or_generate_world(tmp_path, SMALL)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    years = [SMALL.first_year + 3, SMALL.first_year + 1]
    part = load_or_generate_world(tmp_path, SMALL, years)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    assert part.trade_years == tuple(sorted(years))
    assert part.n_positive == len(full.trade)  # the whole world's count, for the manifest
    expected = full.trade[full.trade["year"].isin(years)].reset_index(drop=True)
    assert_same_frame(part.trade, expected)
    assert_same_frame(part.dense_trade(years=years), full.dense_trade(years=years))
    with pytest.raises(DataError, match="year"):
        part.dense_trade(years=[SMALL.first_year])
    with pytest.raises(DataError, match="load it without years"):
        part.aggregate_trade()


@pytest.mark.parametrize("share", [1.0, 0.6])
def test_join_pair_covariates_equals_the_merge(share: float) -> None:
    world = generate_world(SMALL)
    dense = world.dense_trade()
    pairs = world.pairs.sample(frac=share, random_state=3)  # some cells without covariates
    merged = dense.merge(pairs, on=["exporter", "importer", "year"])
    joined = join_pair_covariates(dense, pairs)
    for frame in (merged, joined):
        keys_as_str(frame, ("exporter", "importer", "product"))
    pd.testing.assert_frame_equal(joined, merged, check_exact=True)
    assert len(joined) == round(share * len(world.pairs)) * SMALL.n_products


def test_keys_as_str_equals_astype_str() -> None:
    trade = generate_world(SMALL).trade
    frame = trade.copy()
    keys_as_str(frame, ("exporter", "product", "absent"))
    expected = trade.astype({"exporter": str, "product": str})
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_load_reports_unreadable_cache(tmp_path: Path) -> None:
    load_or_generate_world(tmp_path, SMALL)
    (tmp_path / "trade.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match="delete the folder"):
        load_or_generate_world(tmp_path, SMALL)


# --- shapes, dtypes and content --------------------------------------------------------------


def test_tables_shapes_and_dtypes(small_world: SyntheticWorld) -> None:
    o = small_world.options
    n, k, t = o.n_countries, o.n_products, o.n_years
    trade = small_world.trade
    assert list(trade.columns) == ["exporter", "importer", "product", "year", "value"]
    for col in ("exporter", "importer", "product"):
        assert isinstance(trade[col].dtype, pd.CategoricalDtype)
    assert trade["year"].dtype == np.int64
    assert trade["value"].dtype == np.float64
    assert (trade["value"] > 0).all()
    assert np.array_equal(trade["value"], np.round(trade["value"]))  # whole USD
    assert small_world.countries.shape == (n, 6)
    assert small_world.countries["country"].str.fullmatch(r"X[A-Z]{2}").all()
    assert small_world.products["product"].tolist()[:2] == ["0001", "0002"]
    assert small_world.products["product"].str.fullmatch(r"\d{4}").all()
    assert small_world.macro.shape == (n * t, 4)
    assert small_world.pairs.shape == (n * (n - 1) * t, 7)
    assert small_world.products.shape == (k, 7)
    assert set(trade["year"].unique()) == set(range(o.first_year, o.first_year + t))
    assert not trade.duplicated(["exporter", "importer", "product", "year"]).any()


def test_no_domestic_flows(default_world: SyntheticWorld) -> None:
    trade = default_world.trade
    assert not (trade["exporter"].cat.codes == trade["importer"].cat.codes).any()
    assert not (default_world.pairs["exporter"] == default_world.pairs["importer"]).any()


def test_default_world_size_and_zero_share(default_world: SyntheticWorld) -> None:
    assert default_world.n_cells == 60 * 59 * 200 * 22
    zero_share = 1.0 - len(default_world.trade) / default_world.n_cells
    assert zero_share == pytest.approx(default_world.zero_share)
    assert 0.30 <= zero_share <= 0.60


def test_macro_is_realistic(default_world: SyntheticWorld) -> None:
    macro = default_world.macro
    assert (macro["gdp"] > 0).all() and (macro["population"] > 0).all()
    world_gdp = macro.groupby("year")["gdp"].sum()
    assert world_gdp.iloc[-1] > world_gdp.iloc[0]  # growth over the sample
    # world trade is calibrated to trade_to_gdp of world GDP in expectation
    trade_by_year = default_world.trade.groupby("year")["value"].sum()
    ratio = trade_by_year / world_gdp
    assert np.allclose(ratio, default_world.options.trade_to_gdp, rtol=0.1)


def test_distances_symmetric_and_positive(default_world: SyntheticWorld) -> None:
    pairs = default_world.pairs
    first = pairs[pairs["year"] == default_world.options.first_year]
    dist = first.pivot(index="exporter", columns="importer", values="dist")
    assert (first["dist"] > 0).all()
    assert np.array_equal(dist.to_numpy(), dist.T.to_numpy(), equal_nan=True)
    for col in ("contig", "comlang"):
        dummy = first.pivot(index="exporter", columns="importer", values=col)
        assert np.array_equal(dummy.to_numpy(), dummy.T.to_numpy(), equal_nan=True)
        assert set(first[col].unique()) == {0, 1}
    assert first["dist"].max() < 20_100  # half the Earth's circumference


def test_rta_switches_on_during_the_sample(default_world: SyntheticWorld) -> None:
    rta = default_world.pairs.pivot_table(
        index=["exporter", "importer"], columns="year", values="rta", observed=True
    )
    steps = np.diff(rta.to_numpy(), axis=1)
    assert (steps >= 0).all()  # agreements never lapse
    entering = (rta.iloc[:, 0] == 0) & (rta.iloc[:, -1] == 1)
    assert entering.sum() >= 10
    assert (rta.iloc[:, 0] == 1).any()  # some agreements predate the sample


def test_countries_enter_new_products(default_world: SyntheticWorld) -> None:
    o = default_world.options
    trade = default_world.trade
    n, k, t = o.n_countries, o.n_products, o.n_years
    key = (trade["exporter"].cat.codes.to_numpy(np.int64) * k + trade["product"].cat.codes) * t
    key = key + (trade["year"].to_numpy() - o.first_year)
    exports = np.bincount(key, weights=trade["value"], minlength=n * k * t).reshape(n, k, t)
    share = exports / exports.sum(axis=1, keepdims=True)
    world_share = exports.sum(axis=0, keepdims=True) / exports.sum(axis=(0, 1), keepdims=True)
    rca = share / world_share
    early, late = rca[:, :, :3].mean(axis=2), rca[:, :, -3:].mean(axis=2)
    entries = (early < 0.05) & (late >= 1.0)
    print(f"\ncountry-product entries (RCA < 0.05 -> >= 1): {int(entries.sum())}")
    assert entries.sum() >= 10
    assert entries.any(axis=1).sum() >= 5  # spread over several countries


def test_products_table_describes_requirements(default_world: SyntheticWorld) -> None:
    products = default_world.products
    n_listed = products["capabilities"].str.split().str.len()
    assert (n_listed == products["n_capabilities"]).all()
    assert products["ubiquity"].between(0.0, 1.0).all()
    assert products["ubiquity"].std() > 0.1


def test_truth_is_json_and_matches_options(small_world: SyntheticWorld) -> None:
    truth = json.loads(json.dumps(small_world.truth))
    assert truth == small_world.truth
    o = small_world.options
    assert (truth["beta_dist"], truth["beta_contig"]) == (o.beta_dist, o.beta_contig)
    assert (truth["beta_lang"], truth["beta_rta"]) == (o.beta_lang, o.beta_rta)
    assert truth["options"] == o.model_dump(mode="json")
    assert len(truth["calibration"]["shipment_scale_usd"]) == o.n_years


# --- rectangularising ------------------------------------------------------------------------


def test_aggregate_trade_covers_all_pairs(small_world: SyntheticWorld) -> None:
    agg = small_world.aggregate_trade()
    assert list(agg.columns) == ["exporter", "importer", "year", "value"]
    assert len(agg) == len(small_world.pairs)
    assert agg[["exporter", "importer", "year"]].equals(
        small_world.pairs[["exporter", "importer", "year"]]
    )
    assert agg["value"].sum() == pytest.approx(small_world.trade["value"].sum(), rel=1e-12)
    one = small_world.trade.iloc[0]
    manual = small_world.trade.loc[
        (small_world.trade["exporter"] == one["exporter"])
        & (small_world.trade["importer"] == one["importer"])
        & (small_world.trade["year"] == one["year"]),
        "value",
    ].sum()
    row = agg.loc[
        (agg["exporter"] == one["exporter"])
        & (agg["importer"] == one["importer"])
        & (agg["year"] == one["year"]),
        "value",
    ]
    assert row.item() == pytest.approx(manual, rel=1e-12)


def test_dense_trade_rectangularises(small_world: SyntheticWorld) -> None:
    dense = small_world.dense_trade()
    assert len(dense) == small_world.n_cells
    assert dense.dtypes.equals(small_world.trade.dtypes)
    positive = dense[dense["value"] > 0].reset_index(drop=True)
    assert_same_frame(positive, small_world.trade)
    part = small_world.dense_trade(products=["0003", "0001"], years=[2004])
    o = small_world.options
    assert len(part) == o.n_countries * (o.n_countries - 1) * 2
    assert set(part["product"]) == {"0001", "0003"}
    mask = small_world.trade["product"].isin(["0001", "0003"]) & (small_world.trade["year"] == 2004)
    assert part["value"].sum() == pytest.approx(small_world.trade.loc[mask, "value"].sum())


def test_dense_trade_rejects_unknown_selection(small_world: SyntheticWorld) -> None:
    with pytest.raises(DataError, match=r"unknown product\(s\) \['9999'\]"):
        small_world.dense_trade(products=["9999"])
    with pytest.raises(DataError, match=r"year\(s\) \[1999\]"):
        small_world.dense_trade(years=[1999])
    with pytest.raises(DataError, match="duplicates"):
        small_world.dense_trade(products=["0001", "0001"])


# --- parameter recovery (statsmodels GLM-Poisson with explicit dummies) ----------------------


def ppml_with_dummies(frame: pd.DataFrame, first: str, second: str, block: str) -> object:
    """PPML of ``value`` on REGRESSORS with dummies for ``first`` and ``second``.

    Groups whose outcome is all zero are dropped first (their effect is minus infinity, as
    ppmlhdfe does). ``first`` and ``second`` overlap once per ``block`` (their dummies both sum
    to the block indicator), so the first ``second`` level of each block is the reference.
    """
    while True:
        keep = np.ones(len(frame), dtype=bool)
        for col in (first, second):
            keep &= frame.groupby(col, observed=True)["value"].transform("sum").to_numpy() > 0
        if keep.all():
            break
        frame = frame[keep]
    ref = frame[second].groupby(frame[block]).transform("min")
    dummies = [
        pd.get_dummies(frame[first], dtype=float),
        pd.get_dummies(frame[second].where(frame[second] != ref), dtype=float),
    ]
    X = pd.concat([frame[REGRESSORS].astype(float), *dummies], axis=1).to_numpy()
    assert np.linalg.matrix_rank(X) == X.shape[1]  # the reference choice left no collinearity
    y = (frame["value"] / frame["value"].mean()).to_numpy()  # rescaling leaves beta unchanged
    model = sm.GLM(y, X, family=sm.families.Poisson())
    return model.fit(cov_type="HC1", tol=1e-10, wls_method="lstsq")


def with_regressors(world: SyntheticWorld, flows: pd.DataFrame) -> pd.DataFrame:
    frame = flows.merge(world.pairs, on=["exporter", "importer", "year"], validate="many_to_one")
    frame["ln_dist"] = np.log(frame["dist"])
    for col in ("exporter", "importer", "product"):
        if col in frame:
            frame[col] = frame[col].astype(str)
    frame["year"] = frame["year"].astype(str)
    return frame


def assert_recovers_truth(world: SyntheticWorld, result: object) -> None:
    names = ("beta_dist", "beta_contig", "beta_lang", "beta_rta")
    truth = np.array([world.truth[k] for k in names])
    beta = np.asarray(result.params[:4])  # type: ignore[attr-defined]
    se = np.asarray(result.bse[:4])  # type: ignore[attr-defined]
    print(f"\nbeta_hat {np.round(beta, 3)} truth {truth} se {np.round(se, 3)}")
    assert (se < MAX_RECOVERY_SE).all()
    assert (np.abs(beta - truth) < RECOVERY_Z_TOL * se).all()


def test_aggregate_ppml_recovers_truth() -> None:
    world = generate_world(SyntheticWorldOptions(n_countries=24, n_products=8, n_years=4))
    frame = with_regressors(world, world.aggregate_trade())
    for col in ("contig", "comlang", "rta"):
        assert frame[col].nunique() == 2, col  # every regressor varies
    frame["exporter_year"] = frame["exporter"] + "_" + frame["year"]
    frame["importer_year"] = frame["importer"] + "_" + frame["year"]
    result = ppml_with_dummies(frame, "exporter_year", "importer_year", block="year")
    assert_recovers_truth(world, result)


def test_product_level_ppml_recovers_truth() -> None:
    world = generate_world(SyntheticWorldOptions(n_countries=20, n_products=3, n_years=2))
    frame = with_regressors(world, world.dense_trade())
    for col in ("contig", "comlang", "rta"):
        assert frame[col].nunique() == 2, col
    frame["product_year"] = frame["product"] + "_" + frame["year"]
    frame["exporter_product_year"] = frame["exporter"] + "_" + frame["product_year"]
    frame["importer_product_year"] = frame["importer"] + "_" + frame["product_year"]
    result = ppml_with_dummies(
        frame, "exporter_product_year", "importer_product_year", block="product_year"
    )
    assert_recovers_truth(world, result)
