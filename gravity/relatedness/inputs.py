"""From a trade table to one country x product export matrix per year, with counted filters.

Two layouts are accepted:

* the canonical bilateral panel (``exporter, importer, product, year, value``): flows are summed
  over importers (domestic flows, ``exporter == importer``, are not exports and are dropped and
  counted);
* a country x product x year table (``country, product, year, value``): one row per key.

Values must be finite and non-negative. Filters run in a fixed order (years, excluded countries,
minimum population, minimum country exports, minimum product exports, zero totals) and each
reports the rows (country x product x year cells) it removed, for the run manifest. Countries and
products with zero total exports in a year are dropped from that year with a
:class:`~gravity.exceptions.DataWarning` (RCA would be 0/0), never kept as silent numbers.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gravity._base import Step
from gravity.exceptions import DataError, DataWarning
from gravity.relatedness.options import RelatednessOptions

__all__ = [
    "PANEL_COLUMNS",
    "TABLE_COLUMNS",
    "PreparedExports",
    "YearExports",
    "label_codes",
    "population_for",
    "prepare_exports",
    "read_population",
]

PANEL_COLUMNS = ("exporter", "importer", "product", "year", "value")
TABLE_COLUMNS = ("country", "product", "year", "value")
POPULATION_COLUMNS = ("country", "year", "population")


@dataclass(frozen=True, eq=False)
class YearExports:
    """Exports of one year after filtering: every row and column has a positive total."""

    year: int
    countries: np.ndarray
    """Country labels (sorted), one per row of :attr:`values`."""
    products: np.ndarray
    """Product labels (sorted), one per column of :attr:`values`."""
    values: np.ndarray
    """Dense ``(countries, products)`` export values (zeros where no trade)."""
    population: np.ndarray | None = None
    """Population of each country (when a population table was given)."""


@dataclass(frozen=True, eq=False)
class PreparedExports:
    """The filtered yearly matrices, the filter steps and whether the input was bilateral."""

    years: tuple[YearExports, ...]
    steps: tuple[Step, ...]
    bilateral: bool


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"the {what} lacks column(s) {missing}; it has {list(frame.columns)}. Relatedness "
            f"needs either {list(PANEL_COLUMNS)} (bilateral panel) or {list(TABLE_COLUMNS)}"
        )


def _values(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    try:
        values = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"column '{column}' of the {what} is not numeric: {exc}") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column '{column}' of the {what} has {int(bad.sum())} missing or infinite value(s) "
            f"(first at row {row}); fill them (0 for no trade) or drop those rows"
        )
    if (values < 0).any():
        row = int(np.flatnonzero(values < 0)[0])
        raise DataError(
            f"column '{column}' of the {what} has {int((values < 0).sum())} negative value(s) "
            f"(first at row {row}: {values[row]}); trade values must be >= 0"
        )
    return values


def _years(frame: pd.DataFrame, what: str) -> np.ndarray:
    raw = frame["year"]
    if pd.api.types.is_integer_dtype(raw.dtype) and not raw.isna().any():
        return raw.to_numpy(dtype=np.int64)
    try:
        years = pd.to_numeric(raw, errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"column 'year' of the {what} is not numeric: {exc}") from exc
    if not np.isfinite(years).all() or (years != np.round(years)).any():
        raise DataError(f"column 'year' of the {what} must hold whole years without gaps")
    return years.astype(np.int64)


def label_codes(
    series: pd.Series, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a label column, without building one string per row.

    Parameters
    ----------
    series
        Labels of any dtype (categorical, string, integer product codes, ...); compared as
        strings, so ``1704`` and ``"1704"`` are the same label.
    labels
        Label set to code against (``-1`` for labels not in it); by default the column's own
        distinct labels, sorted as strings.

    Returns
    -------
    tuple of numpy.ndarray
        ``codes`` (int64, ``-1`` for missing or unknown labels) and the label array (object).
    """
    codes, uniques = pd.factorize(series)  # hash-based: one pass, categorical codes reused
    names = np.asarray([str(x) for x in uniques], dtype=object)
    if labels is None:
        labels, remap = np.unique(names, return_inverse=True) if names.size else (names, names)
        labels = labels.astype(object)
    else:
        remap = pd.Index(labels).get_indexer(names) if names.size else np.empty(0, np.int64)
    remap = np.append(np.asarray(remap, dtype=np.int64), -1)  # code -1 (missing) -> -1
    return remap[codes], np.asarray(labels, dtype=object)


def _codes(series: pd.Series, name: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    codes, labels = label_codes(series)
    if (codes < 0).any():
        raise DataError(
            f"column '{name}' of the {what} has {int((codes < 0).sum())} missing labels"
        )
    return codes, labels


def population_for(
    options: RelatednessOptions, population: pd.DataFrame | None = None
) -> pd.DataFrame | None:
    """The population table to use: ``population`` if given, else ``options.population_file``.

    Reading happens here, at the edge, so that :class:`~gravity.relatedness.model.Relatedness`
    itself never touches a file.
    """
    if population is None and options.population_file is not None:
        return read_population(options.population_file)
    return population


def read_population(path: str | Path) -> pd.DataFrame:
    """Read a population table (CSV or Parquet with ``country, year, population``)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"population file {p} not found")
    frame = pd.read_parquet(p) if p.suffix.lower() in (".parquet", ".pq") else pd.read_csv(p)
    _require_population(frame, str(p))
    return frame


def _require_population(frame: pd.DataFrame, what: str) -> None:
    missing = [c for c in POPULATION_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"the population table ({what}) lacks column(s) {missing}; it needs "
            f"{list(POPULATION_COLUMNS)}"
        )


def _population_lookup(
    population: pd.DataFrame, countries: np.ndarray, years: np.ndarray
) -> np.ndarray:
    """``(years, countries)`` population, NaN where unknown."""
    _require_population(population, "population table")
    what = "population table"
    values = _values(population, "population", what)
    if (values <= 0).any():
        raise DataError("the population table has zero population(s); drop those rows")
    pop_years = _years(population, what)
    labels = population["country"].astype(str).to_numpy()
    keys = pd.DataFrame({"country": labels, "year": pop_years})
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].iloc[0]
        raise DataError(
            f"the population table has duplicate rows for (country, year) = "
            f"({dup['country']}, {dup['year']})"
        )
    out = np.full((len(years), len(countries)), np.nan)
    ci = pd.Index(countries).get_indexer(labels)
    yi = pd.Index(years).get_indexer(pop_years)
    ok = (ci >= 0) & (yi >= 0)
    out[yi[ok], ci[ok]] = values[ok]
    return out


_Removed = tuple[dict[str, int], tuple[str, ...]]
"""What a filter removed (rows by reason) and its notes."""


@dataclass
class _Cells:
    """Per-year dense sums and cell presence while the filters run (internal, mutable on purpose).

    A filter only narrows ``keep_c`` / ``keep_p`` (the countries and products kept in each year);
    row counts are the present cells inside the kept block.
    """

    years: np.ndarray
    countries: np.ndarray
    products: np.ndarray
    values: list[np.ndarray] = field(default_factory=list)
    present: list[np.ndarray] = field(default_factory=list)
    keep_c: list[np.ndarray] = field(default_factory=list)
    keep_p: list[np.ndarray] = field(default_factory=list)

    def year_rows(self, k: int) -> int:
        return int(self.present[k][np.ix_(self.keep_c[k], self.keep_p[k])].sum())

    def rows(self) -> int:
        return sum(self.year_rows(k) for k in range(len(self.years)))

    def drop(
        self, k: int, countries: np.ndarray | None = None, products: np.ndarray | None = None
    ) -> int:
        """Drop countries/products (boolean masks of what to drop) in year ``k``; cells removed."""
        before = self.year_rows(k)
        if countries is not None:
            self.keep_c[k] = self.keep_c[k] & ~countries
        if products is not None:
            self.keep_p[k] = self.keep_p[k] & ~products
        return before - self.year_rows(k)


def _aggregate(data: pd.DataFrame, what: str, bilateral: bool) -> tuple[_Cells, Step]:
    """Code the labels, drop domestic flows, and sum values into one dense matrix per year."""
    start = time.perf_counter()
    values = _values(data, "value", what)
    years_raw = _years(data, what)
    origin = "exporter" if bilateral else "country"
    c_codes, countries = _codes(data[origin], origin, what)
    p_codes, products = _codes(data["product"], "product", what)
    removed: dict[str, int] = {}
    if bilateral:
        domestic = c_codes == label_codes(data["importer"], countries)[0]
        if domestic.any():
            removed["domestic flows (exporter == importer)"] = int(domestic.sum())
            keep = ~domestic
            values, years_raw = values[keep], years_raw[keep]
            c_codes, p_codes = c_codes[keep], p_codes[keep]
    if len(years_raw) == 0:
        raise DataError(f"the {what} has no rows")
    # hash factorization (O(n)), then a radix sort of the small year codes
    y_codes, years = pd.factorize(years_raw, sort=True)
    y_codes = y_codes.astype(np.int16 if len(years) < 2**15 else np.int64)
    cells = _Cells(np.asarray(years, dtype=np.int64), countries, products)
    n_c, n_p = len(countries), len(products)
    order = np.argsort(y_codes, kind="stable")
    bounds = np.searchsorted(y_codes[order], np.arange(len(years) + 1))
    for k in range(len(years)):
        rows = order[bounds[k] : bounds[k + 1]]
        flat = c_codes[rows] * n_p + p_codes[rows]
        counts = np.bincount(flat, minlength=n_c * n_p).reshape(n_c, n_p)
        if not bilateral and (counts > 1).any():
            c, p = np.argwhere(counts > 1)[0]
            raise DataError(
                f"the export table has {int((counts > 1).sum())} duplicate (country, product, "
                f"year) key(s), e.g. ({countries[c]}, {products[p]}, {years[k]}); aggregate "
                f"them first or pass the bilateral panel (summed over importers)"
            )
        cells.values.append(
            np.bincount(flat, weights=values[rows], minlength=n_c * n_p).reshape(n_c, n_p)
        )
        cells.present.append(counts > 0)
        cells.keep_c.append(np.asarray(counts.sum(axis=1) > 0))
        cells.keep_p.append(np.asarray(counts.sum(axis=0) > 0))
    n_cells = cells.rows()
    if bilateral:
        removed["summed over importers"] = len(y_codes) - n_cells
    note = f"{what}: {n_c} countries, {n_p} products, {len(years)} years"
    step = Step(
        "exports by country, product and year",
        len(data),
        n_cells,
        removed,
        notes=(note,),
        seconds=time.perf_counter() - start,
    )
    return cells, step


def _filter(name: str, cells: _Cells, active: bool, apply: Callable[[], _Removed]) -> Step:
    """Run one filter (when active) and record its rows in, rows out and removals by reason."""
    start = time.perf_counter()
    rows_in = cells.rows()
    if not active:
        return Step(name, rows_in, rows_in, notes=("not requested",))
    removed, notes = apply()
    return Step(
        name, rows_in, cells.rows(), removed, notes=notes, seconds=time.perf_counter() - start
    )


def _select_years(cells: _Cells, years: list[int]) -> _Removed:
    absent = sorted(set(years) - {int(y) for y in cells.years})
    if absent:
        raise DataError(
            f"year(s) {absent} requested in 'years' are not in the data "
            f"(it has {int(cells.years[0])}-{int(cells.years[-1])})"
        )
    dropped = 0
    for k in np.flatnonzero(~np.isin(cells.years, years)).tolist():
        dropped += cells.drop(k, countries=np.ones(len(cells.countries), dtype=bool))
    return {"year not selected": dropped}, ()


def _exclude(cells: _Cells, excluded_labels: list[str]) -> _Removed:
    labels = [str(c) for c in excluded_labels]
    excluded = np.isin(cells.countries, labels)
    dropped = sum(cells.drop(k, countries=excluded) for k in range(len(cells.years)))
    unknown = sorted(set(labels) - set(cells.countries[excluded]))
    notes = (f"not in the data: {unknown}",) if unknown else ()
    return {"excluded country": dropped}, notes


def _min_population(cells: _Cells, pop: np.ndarray, minimum: float) -> _Removed:
    low, unknown = f"population below {minimum:g}", "population unknown"
    out = {low: 0, unknown: 0}
    for k in range(len(cells.years)):
        missing = np.isnan(pop[k])
        out[low] += cells.drop(k, countries=~missing & (pop[k] < minimum))
        out[unknown] += cells.drop(k, countries=missing)
    return out, ()


def _min_exports(cells: _Cells, minimum: float) -> _Removed:
    dropped = 0
    for k in range(len(cells.years)):
        total = cells.values[k][:, cells.keep_p[k]].sum(axis=1)
        dropped += cells.drop(k, countries=total < minimum)
    return {f"country exports below {minimum:g}": dropped}, ()


def _min_product_exports(cells: _Cells, minimum: float) -> _Removed:
    dropped = 0
    for k in range(len(cells.years)):
        total = cells.values[k][cells.keep_c[k], :].sum(axis=0)
        dropped += cells.drop(k, products=total < minimum)
    return {f"product world exports below {minimum:g}": dropped}, ()


def _zero_totals(cells: _Cells) -> _Removed:
    """Drop countries and products left with zero total exports; warn about them."""
    out = {"country with zero exports": 0, "product with zero exports": 0}
    notes: list[str] = []
    for k in range(len(cells.years)):
        if not cells.keep_c[k].any():
            continue  # year not selected
        block = cells.values[k] * cells.keep_c[k][:, None] * cells.keep_p[k][None, :]
        zc = cells.keep_c[k] & (block.sum(axis=1) <= 0)
        zp = cells.keep_p[k] & (block.sum(axis=0) <= 0)
        out["country with zero exports"] += cells.drop(k, countries=zc)
        out["product with zero exports"] += cells.drop(k, products=zp)
        if zc.any() or zp.any():
            more = "..." if zc.sum() > 5 else ""
            notes.append(
                f"{int(cells.years[k])}: dropped {int(zc.sum())} countries "
                f"{list(cells.countries[zc][:5])}{more} and {int(zp.sum())} products with zero "
                f"exports"
            )
    if notes:
        warnings.warn(
            "countries or products with zero total exports have no RCA and were dropped from "
            "their year (counted in the 'zero totals' step): "
            + "; ".join(notes[:3])
            + ("; ..." if len(notes) > 3 else ""),
            DataWarning,
            stacklevel=5,
        )
    return out, tuple(notes)


def _year_exports(
    cells: _Cells, options: RelatednessOptions, pop: np.ndarray | None
) -> list[YearExports]:
    out: list[YearExports] = []
    for k in range(len(cells.years)):
        kc, kp = cells.keep_c[k], cells.keep_p[k]
        if not kc.any():
            continue
        year_pop = None
        if pop is not None:
            year_pop = pop[k][kc]
            if options.presence == "rpop" and np.isnan(year_pop).any():
                missing = list(cells.countries[kc][np.isnan(year_pop)][:5])
                raise DataError(
                    f"presence 'rpop' needs the population of every country; year "
                    f"{int(cells.years[k])} lacks it for {missing} (exclude them or add "
                    f"population)"
                )
        matrix = np.ascontiguousarray(cells.values[k][np.ix_(kc, kp)])
        out.append(
            YearExports(
                int(cells.years[k]), cells.countries[kc], cells.products[kp], matrix, year_pop
            )
        )
    return out


def _known(pop: np.ndarray | None) -> np.ndarray:
    if pop is None:  # prepare_exports checks needs_population first; this is unreachable
        raise DataError("a population table is needed")
    return pop


def prepare_exports(
    data: pd.DataFrame,
    options: RelatednessOptions,
    population: pd.DataFrame | None = None,
) -> PreparedExports:
    """Aggregate, validate and filter a trade table into yearly country x product matrices.

    Parameters
    ----------
    data
        A bilateral panel (``exporter, importer, product, year, value``) or a country x product x
        year table (``country, product, year, value``).
    options
        The filters (``years``, ``exclude_countries``, ``min_population``, ``min_exports``,
        ``min_product_exports``) and whether population is needed.
    population
        ``country, year, population``; required for ``presence="rpop"`` and ``min_population``.

    Returns
    -------
    PreparedExports
        One :class:`YearExports` per year (sorted) and the :class:`Step` records, one per
        step in the order they ran (inactive filters say "not requested").

    Raises
    ------
    DataError
        Missing columns, missing / negative / non-finite values, duplicate keys in a country
        table, a requested year absent from the data, a needed population missing, or no data
        left after filtering.
    """
    bilateral = "exporter" in data.columns and "importer" in data.columns
    what = "bilateral panel" if bilateral else "export table"
    _require(data, PANEL_COLUMNS if bilateral else TABLE_COLUMNS, what)
    if population is None and options.needs_population:
        need = "presence 'rpop'" if options.presence == "rpop" else "'min_population'"
        raise DataError(
            f"{need} needs a population table (country, year, population); set "
            f"'population_file' or pass population="
        )
    cells, first = _aggregate(data, what, bilateral)
    pop = (
        None if population is None else _population_lookup(population, cells.countries, cells.years)
    )
    o = options
    steps = [
        first,
        _filter("years", cells, o.years is not None, lambda: _select_years(cells, o.years or [])),
        _filter(
            "exclude countries",
            cells,
            bool(o.exclude_countries),
            lambda: _exclude(cells, o.exclude_countries),
        ),
        _filter(
            "min population",
            cells,
            o.min_population is not None and pop is not None,
            lambda: _min_population(cells, _known(pop), o.min_population or 0.0),
        ),
        _filter(
            "min exports",
            cells,
            o.min_exports is not None,
            lambda: _min_exports(cells, o.min_exports or 0.0),
        ),
        _filter(
            "min product exports",
            cells,
            o.min_product_exports is not None,
            lambda: _min_product_exports(cells, o.min_product_exports or 0.0),
        ),
        _filter("zero totals", cells, True, lambda: _zero_totals(cells)),
    ]
    out = _year_exports(cells, options, pop)
    if not out:
        raise DataError(
            "no exports left after the filters; see the filter steps: "
            + "; ".join(f"{s.name}: {s.rows_out} rows" for s in steps)
        )
    return PreparedExports(tuple(out), tuple(steps), bilateral)
