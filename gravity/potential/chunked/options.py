"""Options of the chunked potential: the ``potential.chunks`` config section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gravity._base import StrictModel

# Unchunked potential builds the dense exporter x importer x product grid of the base year; above
# this many cells (about 1.5 GB of grid frames) ``potential`` switches to chunks on its own.
AUTO_CHUNK_CELLS = 20_000_000
# ``products: auto`` sizes chunks to about this many grid cells each (a few hundred MB at most
# in one worker, whatever the number of countries).
AUTO_CHUNK_TARGET_CELLS = 2_000_000


class ChunkOptions(StrictModel):
    """Estimate and score export potential in product chunks (``potential.chunks``).

    Given (even as ``chunks: {}``), the product-level model is fitted one product at a time
    and scored chunk by chunk, never building the dense exporter x importer x product grid;
    omitted, chunks are used only when that grid would exceed ``AUTO_CHUNK_CELLS`` cells.
    Estimates equal the unchunked ones up to the PPML convergence tolerance.
    """

    products: int | Literal["auto"] = "auto"
    """Products per chunk; ``auto`` aims at about 2 million grid cells per chunk."""
    backend: Literal["local", "joblib", "dask"] = "local"
    """``local``: chunks one after another in this process; ``joblib``: ``workers`` local
    processes; ``dask``: a Dask cluster (``scheduler``, or a local cluster of ``workers``
    processes). Dask workers read their chunk from the panel's Parquet file themselves."""
    workers: int = Field(2, ge=1, le=1024)
    """Worker processes of the ``joblib`` backend and of a local Dask cluster."""
    scheduler: str | None = None
    """Address of a running Dask scheduler (``tcp://host:8786``); ``dask`` only. Its workers
    must see the output folder and the panel file at the same paths as this machine."""
    resume: bool = True
    """Keep the chunks a killed run already wrote (same panel and options) and compute only
    the others; ``false`` starts over."""
    csv_max_rows: int = Field(5_000_000, ge=0)
    """Write ``opportunities.csv`` only up to this many rows (the Parquet file is always
    written); above it the manifest says the CSV was skipped."""
    progress: bool = True
    """Report progress with an estimated time left on stderr."""

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> ChunkOptions:
        if self.scheduler is not None and self.backend != "dask":
            raise ValueError(
                f"'scheduler' is set but backend is {self.backend!r}; set 'backend: dask' "
                "or remove 'scheduler'"
            )
        return self

    def chunk_size(self, n_exporters: int, n_importers: int) -> int:
        """Products per chunk for a world of ``n_exporters`` x ``n_importers`` countries."""
        if self.products != "auto":
            return int(self.products)
        per_product = max(n_exporters * n_importers, 1)
        return max(1, AUTO_CHUNK_TARGET_CELLS // per_product)
