"""The relatedness stage as the CLI runs it: panel in, ``OUTPUT/relatedness/*.parquet`` out.

Years are computed and written one at a time (Parquet row groups), so memory holds one year's
proximity matrix, whatever the number of years. Files (all long tables, labels as strings):

``country_product.parquet``
    ``year, country, product, export_value, rca, m, density, distance, cog, pci`` (+ ``rpop``
    with ``presence: rpop``).
``country.parquet``
    ``year, country, eci, diversity, coi``.
``proximity.parquet``
    ``year, product_a, product_b, proximity`` for ``product_a < product_b`` and proximity above
    ``proximity_output_min`` (the diagonal is the ``proximity_diagonal`` convention).
``product.parquet``
    ``year, product, pci, ubiquity, export_value``.
``country_similarity.parquet``
    ``year, country_a, country_b, similarity`` (``country_a < country_b``, the configured method).
``importer_product.parquet`` (bilateral panel only)
    ``year, importer, product, import_value, import_rca, importer_density``.
``steps.json``
    Row counts of every preparation and filter step (also on the returned mapping's ``steps``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity._base import Step
from gravity.exceptions import DataError
from gravity.layout import OutputLayout
from gravity.relatedness.inputs import population_for
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.results import YearRelatedness
from gravity.relatedness.similarity import country_similarity, market_relatedness

__all__ = ["RelatednessStageFiles", "stage_relatedness"]

log = logging.getLogger("gravity")

_F8, _STR, _I8 = pa.float64(), pa.string(), pa.int64()
SCHEMAS: dict[str, pa.Schema] = {
    "country_product": pa.schema(
        [
            ("year", _I8),
            ("country", _STR),
            ("product", _STR),
            ("export_value", _F8),
            ("rca", _F8),
            ("m", pa.int8()),
            ("density", _F8),
            ("distance", _F8),
            ("cog", _F8),
            ("pci", _F8),
        ]
    ),
    "country": pa.schema(
        [("year", _I8), ("country", _STR), ("eci", _F8), ("diversity", _I8), ("coi", _F8)]
    ),
    "proximity": pa.schema(
        [("year", _I8), ("product_a", _STR), ("product_b", _STR), ("proximity", _F8)]
    ),
    "product": pa.schema(
        [("year", _I8), ("product", _STR), ("pci", _F8), ("ubiquity", _I8), ("export_value", _F8)]
    ),
    "country_similarity": pa.schema(
        [("year", _I8), ("country_a", _STR), ("country_b", _STR), ("similarity", _F8)]
    ),
    "importer_product": pa.schema(
        [
            ("year", _I8),
            ("importer", _STR),
            ("product", _STR),
            ("import_value", _F8),
            ("import_rca", _F8),
            ("importer_density", _F8),
        ]
    ),
}


class RelatednessStageFiles(dict[str, Path]):
    """The files written, by name, plus :attr:`steps` (row counts for the run manifest)."""

    def __init__(self, paths: Mapping[str, Path], steps: tuple[Step, ...]) -> None:
        super().__init__(paths)
        self.steps = steps


def _options(section: RelatednessOptions | Mapping[str, Any] | None) -> RelatednessOptions:
    if section is None:
        return RelatednessOptions()
    if isinstance(section, RelatednessOptions):
        return section
    return RelatednessOptions.model_validate(dict(section))


def _similarity_frame(result: YearRelatedness, options: RelatednessOptions) -> pd.DataFrame:
    values = country_similarity(result, options.similarity).to_numpy()
    a, b = np.triu_indices(len(result.countries), k=1)
    return pd.DataFrame(
        {
            "year": np.full(a.size, result.year, dtype=np.int64),
            "country_a": result.countries[a].astype(str),
            "country_b": result.countries[b].astype(str),
            "similarity": values[a, b],
        }
    )


def _rows_by_year(panel: pd.DataFrame) -> dict[int, np.ndarray]:
    """Row positions of each year (one pass over the panel, not one per year)."""
    codes, years = pd.factorize(panel["year"], sort=True)
    order = np.argsort(codes.astype(np.int32), kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(years) + 1))
    return {int(y): order[bounds[k] : bounds[k + 1]] for k, y in enumerate(years)}


class _Writers:
    """One Parquet writer per output, opened on first use (internal)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.open: dict[str, pq.ParquetWriter] = {}

    def write(self, name: str, frame: pd.DataFrame) -> None:
        schema = SCHEMAS[name]
        if "rpop" in frame.columns and name == "country_product":
            schema = schema.append(pa.field("rpop", _F8))
        table = pa.Table.from_pandas(frame, preserve_index=False).cast(schema)
        if name not in self.open:
            self.open[name] = pq.ParquetWriter(self.folder / f"{name}.parquet", schema)
        self.open[name].write_table(table)

    def close(self) -> dict[str, Path]:
        for writer in self.open.values():
            writer.close()
        return {name: self.folder / f"{name}.parquet" for name in self.open}


def stage_relatedness(
    config_section: RelatednessOptions | Mapping[str, Any] | None,
    panel: pd.DataFrame,
    output: Path,
    *,
    population: pd.DataFrame | None = None,
) -> RelatednessStageFiles:
    """Compute relatedness and complexity from the panel; write ``output/relatedness/``.

    Parameters
    ----------
    config_section
        The ``relatedness:`` section (a :class:`RelatednessOptions`, a mapping validated into one,
        or None for the defaults).
    panel
        The canonical panel (``exporter, importer, product, year, value``) or a country x product
        x year table (``country, product, year, value``).
    output
        The run's output folder; files go to ``output / "relatedness"``.
    population
        ``country, year, population`` (else ``population_file`` from the options, if set).

    Returns
    -------
    RelatednessStageFiles
        ``{name: path}`` of every file written, with ``.steps`` holding the row counts of each
        filter step (also written to ``steps.json``).

    Raises
    ------
    DataError
        The panel has no ``product`` column (aggregate flows), or see
        :func:`gravity.relatedness.inputs.prepare_exports`.
    """
    start = time.perf_counter()
    options = _options(config_section)
    if "product" not in panel.columns:
        raise DataError(
            "relatedness needs product-level trade (a 'product' column); the panel has "
            f"{list(panel.columns)}. For the synthetic world set data.synthetic.level: product"
        )
    # years are streamed, so one proximity matrix at a time is kept whatever keep_proximity says
    model = Relatedness(
        panel,
        options.model_copy(update={"keep_proximity": True}),
        population_for(options, population),
    )
    folder = OutputLayout(output).relatedness_dir
    folder.mkdir(parents=True, exist_ok=True)
    writers = _Writers(folder)
    year_rows = _rows_by_year(panel) if model.bilateral else {}
    try:
        for result in model.iter_years():
            writers.write("country_product", result.country_product_frame())
            writers.write("country", result.country_frame())
            writers.write("product", result.product_frame())
            writers.write("proximity", result.proximity_frame(options.proximity_output_min))
            writers.write("country_similarity", _similarity_frame(result, options))
            if model.bilateral:
                rows = panel.iloc[year_rows[result.year]]
                market = market_relatedness(rows, result, options)
                writers.write("importer_product", market.importer_frame())
            log.info(
                "[relatedness] %d: %d countries x %d products, lambda2 = %.4f",
                result.year,
                *result.shape,
                result.eigenvalues[1],
            )
    finally:
        paths = writers.close()
    steps_path = folder / "steps.json"
    steps_path.write_text(json.dumps([s.to_dict() for s in model.steps], indent=2) + "\n")
    paths["steps"] = steps_path
    log.info(
        "[relatedness] %d years written to %s (%.1f s)",
        len(model.years),
        folder,
        time.perf_counter() - start,
    )
    return RelatednessStageFiles(paths, model.steps)
