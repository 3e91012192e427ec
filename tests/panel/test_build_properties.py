"""Property: building a panel preserves total trade value exactly, except what the steps report.

Values are whole numbers (as trade in USD usually is), so float sums are exact in any order and
the identity ``panel total == source total - removed + added`` is checked with ``==``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gravity.exceptions import DataError
from gravity.panel.build import build_panel
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers import GenericSource

COUNTRIES = ["AAA", "BBB", "CCC", "DDD", "EEE"]
YEARS = [2018, 2019, 2020]

flows = st.lists(
    st.tuples(
        st.sampled_from(COUNTRIES),
        st.sampled_from(COUNTRIES),
        st.sampled_from(YEARS),
        st.integers(min_value=0, max_value=10**9),
    ),
    min_size=1,
    max_size=40,
)
subsets = st.one_of(st.none(), st.lists(st.sampled_from(COUNTRIES), min_size=1, unique=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=flows,
    duplicates=st.sampled_from(["error", "sum"]),
    zeros=st.sampled_from(["none", "fill"]),
    universe=st.sampled_from(["panel", "year"]),
    years=st.one_of(st.none(), st.lists(st.sampled_from(YEARS), min_size=1, unique=True)),
    exporters=subsets,
    countries=subsets,
    exclude_domestic=st.booleans(),
    population=st.dictionaries(st.sampled_from(COUNTRIES), st.integers(1, 10**8)),
    on_missing=st.sampled_from(["keep", "drop"]),
)
def test_total_value_is_preserved_except_what_steps_report(
    rows: list[tuple[str, str, int, int]],
    duplicates: str,
    zeros: str,
    universe: str,
    years: list[int] | None,
    exporters: list[str] | None,
    countries: list[str] | None,
    exclude_domestic: bool,
    population: dict[str, int],
    on_missing: str,
) -> None:
    frame = pd.DataFrame(rows, columns=["o", "d", "yr", "v"])
    if duplicates == "error":
        frame = frame.drop_duplicates(["o", "d", "yr"])
    source_total = float(frame["v"].sum())
    sample = SampleOptions(years=years, exporters=exporters, countries=countries,
                           exclude_domestic=exclude_domestic)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        frame.to_csv(base / "t.csv", index=False)
        pd.DataFrame({"c": list(population), "pop": list(population.values())}).to_csv(
            base / "pop.csv", index=False)
        covariates = [{"path": "pop.csv", "columns": {"country": "c"}, "on_missing": on_missing}]
        if not population:
            covariates = []
        options = PanelOptions(
            zeros={"mode": zeros, "universe": universe},  # type: ignore[arg-type]
            covariates=covariates,  # type: ignore[arg-type]
        )
        source = GenericSource(
            path="t.csv",
            columns={"exporter": "o", "importer": "d", "year": "yr", "value": "v"},
            duplicates=duplicates,  # type: ignore[arg-type]
        )
        try:
            panel = build_panel(source, None, sample, base, options)
        except DataError as exc:  # only "everything was filtered out" is an acceptable failure
            assert "every row" in str(exc)
            return
    removed = sum(sum(s.removed_value.values()) for s in panel.steps)
    added = sum(sum(s.added_value.values()) for s in panel.steps)
    assert float(panel.frame["value"].sum()) == source_total - removed + added
    for step in panel.steps:
        assert step.rows_out == step.rows_in - sum(step.removed.values()) + sum(
            step.added.values()
        )
    assert panel.steps[0].rows_in == len(frame)
    assert panel.steps[-1].rows_out == len(panel.frame)
    keys = ["exporter", "importer", "year"]
    assert not panel.frame.duplicated(keys).any()
    if zeros == "fill":
        assert (panel.frame["value"] >= 0).all()
        zero_step = next(s for s in panel.steps if s.name == "zeros")
        assert zero_step.removed_value == {} and zero_step.value_in == zero_step.value_out
