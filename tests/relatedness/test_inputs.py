"""Input layouts, validation errors, Atlas-style filters and their row counts, edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import gravity as gv
from gravity.exceptions import ConfigError, DataError, DataWarning, OptionsError
from gravity.relatedness.inputs import label_codes, prepare_exports, read_population
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions


def table(
    seed: int = 0, n_c: int = 6, n_p: int = 8, years: tuple[int, ...] = (2000, 2001)
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (f"c{c}", f"p{p:02d}", y, float(rng.integers(1, 1000)))
        for y in years
        for c in range(n_c)
        for p in range(n_p)
    ]
    return pd.DataFrame(rows, columns=["country", "product", "year", "value"])


def population(countries: list[str], years: tuple[int, ...] = (2000, 2001)) -> pd.DataFrame:
    rows = [(c, y, 1e6 * (i + 1)) for i, c in enumerate(countries) for y in years]
    return pd.DataFrame(rows, columns=["country", "year", "population"])


def step(model: Relatedness, name: str) -> tuple[int, int, dict[str, int]]:
    found = next(s for s in model.steps if s.name == name)
    return found.rows_in, found.rows_out, dict(found.removed)


def test_bilateral_panel_is_summed_over_importers_and_drops_domestic() -> None:
    base = table()
    panel = pd.concat(
        [
            base.rename(columns={"country": "exporter"}).assign(
                importer="m1", value=base["value"] * 0.25
            ),
            base.rename(columns={"country": "exporter"}).assign(
                importer="m2", value=base["value"] * 0.75
            ),
            base.rename(columns={"country": "exporter"}).assign(
                importer=base["country"], value=1e9
            ),
        ]
    )
    model = Relatedness(panel)
    assert model.bilateral
    rows_in, rows_out, removed = step(model, "exports by country, product and year")
    assert (rows_in, rows_out) == (3 * len(base), len(base))
    assert removed == {
        "domestic flows (exporter == importer)": len(base),
        "summed over importers": len(base),
    }
    direct = Relatedness(base).fit()
    summed = model.fit()
    for a, b in zip(direct, summed, strict=True):
        np.testing.assert_allclose(a.export_value, b.export_value, rtol=1e-15)
        np.testing.assert_allclose(a.eci, b.eci, atol=1e-12)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda f: f.drop(columns="value"), r"lacks column\(s\) \['value'\]"),
        (lambda f: f.assign(value=f["value"].where(f.index != 3)), "missing or infinite"),
        (lambda f: f.assign(value=f["value"].where(f.index != 3, -1.0)), "negative value"),
        (lambda f: f.assign(value="x"), "not numeric"),
        (lambda f: f.assign(year=f["year"] + 0.5), "whole years"),
        (lambda f: pd.concat([f, f.iloc[:2]]), "duplicate"),
        (lambda f: f.assign(country=f["country"].where(f.index != 0)), "missing labels"),
        (lambda f: f.iloc[0:0], "no rows"),
    ],
)
def test_bad_input_is_a_clear_error(mutate: object, match: str) -> None:
    with pytest.raises(DataError, match=match):
        Relatedness(mutate(table()))  # type: ignore[operator]


def test_years_filter_and_missing_year() -> None:
    model = Relatedness(table(), RelatednessOptions(years=[2001]))
    assert model.years == (2001,)
    assert step(model, "years") == (96, 48, {"year not selected": 48})
    with pytest.raises(DataError, match=r"year\(s\) \[1999\] requested"):
        Relatedness(table(), RelatednessOptions(years=[1999, 2001]))
    with pytest.raises(OptionsError, match="'years' is empty"):
        RelatednessOptions(years=[])


def test_exclude_min_exports_min_product_exports_counts() -> None:
    data = table()
    data.loc[data["country"] == "c5", "value"] = 1.0  # a tiny exporter: 7.5 per year
    data.loc[data["product"] == "p07", "value"] = 0.5  # a tiny product
    options = RelatednessOptions(
        exclude_countries=["c0", "zz"], min_exports=10.0, min_product_exports=10.0
    )
    model = Relatedness(data, options)
    assert step(model, "exclude countries") == (96, 80, {"excluded country": 16})
    assert "zz" in next(s for s in model.steps if s.name == "exclude countries").notes[0]
    assert step(model, "min exports") == (80, 64, {"country exports below 10": 16})
    assert step(model, "min product exports") == (64, 56, {"product world exports below 10": 8})
    result = model.fit()
    for year in result:
        assert list(year.countries) == ["c1", "c2", "c3", "c4"]
        assert "p07" not in set(year.products)


def test_min_population_counts_small_and_unknown() -> None:
    pop = population(["c0", "c1", "c2", "c3", "c4"])  # c5 unknown; c0 has 1e6
    model = Relatedness(table(), RelatednessOptions(min_population=1.5e6), pop)
    removed = step(model, "min population")[2]
    assert removed == {"population below 1.5e+06": 16, "population unknown": 16}
    assert list(model.fit().years[0].countries) == ["c1", "c2", "c3", "c4"]
    with pytest.raises(DataError, match="needs a population table"):
        Relatedness(table(), RelatednessOptions(min_population=1.0))


def test_rpop_needs_every_population(tmp_path: Path) -> None:
    countries = [f"c{i}" for i in range(6)]
    path = tmp_path / "pop.csv"
    population(countries).to_csv(path, index=False)
    result = gv.relatedness(table(), RelatednessOptions(presence="rpop", population_file=path))
    assert result.years[0].rpop is not None
    with pytest.raises(DataError, match="lacks it for"):
        Relatedness(table(), RelatednessOptions(presence="rpop"), population(countries[:5]))
    bad = population(countries)
    with pytest.raises(DataError, match="duplicate rows"):
        Relatedness(table(), RelatednessOptions(presence="rpop"), pd.concat([bad, bad.iloc[:1]]))
    with pytest.raises(DataError, match="lacks column"):
        Relatedness(table(), RelatednessOptions(presence="rpop"), bad.drop(columns="population"))
    with pytest.raises(DataError, match="not found"):
        read_population(path.with_name("missing.csv"))


def test_country_exporting_nothing_is_dropped_with_a_warning() -> None:
    data = table()
    data.loc[(data["country"] == "c2") & (data["year"] == 2001), "value"] = 0.0
    with pytest.warns(DataWarning, match=r"2001: dropped 1 countries \['c2'\]"):
        model = Relatedness(data)
    assert step(model, "zero totals")[2] == {
        "country with zero exports": 8,
        "product with zero exports": 0,
    }
    result = model.fit()
    assert "c2" in result.year(2000).countries and "c2" not in result.year(2001).countries
    assert np.isfinite(result.year(2001).eci).all()


def test_product_nobody_exports_is_dropped_with_a_warning() -> None:
    data = table()
    data.loc[data["product"] == "p03", "value"] = 0.0
    with pytest.warns(DataWarning, match="and 1 products with zero exports"):
        result = Relatedness(data).fit()
    assert all("p03" not in y.products for y in result)


def test_single_country_year_gives_documented_nans() -> None:
    data = table(n_c=1, years=(2000,))
    with pytest.warns(DataWarning, match="at least two countries"):
        result = Relatedness(data, RelatednessOptions(strict_threshold=False)).fit()
    year = result.years[0]
    np.testing.assert_allclose(year.rca, 1.0)  # a one-country world: every share is the world's
    assert year.m.all()
    for values in (year.eci, year.pci, year.coi, year.cog):
        assert np.isnan(values).all()
    assert np.isfinite(year.density).all()


def test_year_without_any_exports_is_an_error_when_nothing_remains() -> None:
    data = table(years=(2000,)).assign(value=0.0)
    with pytest.raises(DataError, match="no exports left"), pytest.warns(DataWarning):
        Relatedness(data)


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RelatednessOptions.model_validate({"treshold": 2})
    with pytest.raises(OptionsError, match="greater than 0"):
        RelatednessOptions(threshold=0)


def test_prepare_exports_returns_sorted_dense_years() -> None:
    data = table().sample(frac=1.0, random_state=3)
    prepared = prepare_exports(data, RelatednessOptions())
    assert [y.year for y in prepared.years] == [2000, 2001]
    first = prepared.years[0]
    assert list(first.countries) == sorted(first.countries)
    expected = (
        data[data["year"] == 2000]
        .pivot(index="country", columns="product", values="value")
        .to_numpy()
    )
    np.testing.assert_array_equal(first.values, expected)


def test_integer_product_codes_are_labels_sorted_as_strings() -> None:
    data = table()
    data["product"] = data["product"].str[1:].astype(int) * 100 + 5  # 5, 105, ..., 705
    result = Relatedness(data).fit()
    assert list(result.years[0].products) == sorted(str(p) for p in data["product"].unique())
    codes, labels = label_codes(pd.Series([105, "105", None, 7]))
    assert list(labels) == ["105", "7"]
    np.testing.assert_array_equal(codes, [0, 0, -1, 1])
    codes, _ = label_codes(pd.Series(["a", "zz"], dtype="category"), np.array(["zz", "b"]))
    np.testing.assert_array_equal(codes, [-1, 0])


def test_the_model_reads_no_file(tmp_path: Path) -> None:
    # the population file is read at the edge (population_for, gv.relatedness, the CLI stage)
    options = RelatednessOptions(presence="rpop", population_file=tmp_path / "absent.csv")
    with pytest.raises(ConfigError, match="Relatedness reads no file: pass population="):
        Relatedness(table(), options)
