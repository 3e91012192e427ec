"""Where a run's files go: one :class:`OutputLayout` for the writers and for the report's reader.

Every contract file of an output folder is named here and nowhere else, so the CLI stages that
write them and :func:`gravity.report.data.load_inputs` that reads them back cannot drift apart.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["TEMP_PREFIX", "OutputLayout", "temp_name"]

TEMP_PREFIX: Final = ".tmp-"
"""Prefix of the temporary names files and folders are written under before their rename."""


def temp_name(final: Path) -> Path:
    """A unique temporary name beside ``final``, to write to and then ``os.replace`` into place.

    A process killed while writing leaves only a ``TEMP_PREFIX`` name, which the writer's next
    run removes; the final name appears whole or not at all.
    """
    return final.with_name(f"{TEMP_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@dataclass(frozen=True)
class OutputLayout:
    """The files of one output folder (``OUTPUT``), by role.

    Parameters
    ----------
    root : pathlib.Path
        The output folder (``output:`` in the config).
    """

    root: Path

    # -- folders ------------------------------------------------------------------------------
    @property
    def panel_dir(self) -> Path:
        """``OUTPUT/panel``."""
        return self.root / "panel"

    @property
    def fit_dir(self) -> Path:
        """``OUTPUT/fit``."""
        return self.root / "fit"

    @property
    def relatedness_dir(self) -> Path:
        """``OUTPUT/relatedness``."""
        return self.root / "relatedness"

    @property
    def potential_dir(self) -> Path:
        """``OUTPUT/potential``."""
        return self.root / "potential"

    @property
    def backtest_dir(self) -> Path:
        """``OUTPUT/backtest``."""
        return self.root / "backtest"

    @property
    def counterfactual_dir(self) -> Path:
        """``OUTPUT/counterfactual``."""
        return self.root / "counterfactual"

    @property
    def batch_dir(self) -> Path:
        """``OUTPUT/batch`` (its own files are named in :mod:`gravity.batch.layout`)."""
        return self.root / "batch"

    @property
    def report_dir(self) -> Path:
        """``OUTPUT/report``."""
        return self.root / "report"

    # -- files ------------------------------------------------------------------------------
    @property
    def panel(self) -> Path:
        """The panel (Parquet, metadata inside; ``panel.json`` beside it)."""
        return self.panel_dir / "panel.parquet"

    @property
    def truth(self) -> Path:
        """The synthetic world's true parameters (synthetic data only)."""
        return self.panel_dir / "synthetic_truth.json"

    @property
    def coefficients(self) -> Path:
        """Coefficient table of the main model."""
        return self.fit_dir / "coefficients.csv"

    @property
    def fit(self) -> Path:
        """Fit summary of the main model (and ``compare`` models)."""
        return self.fit_dir / "fit.json"

    def table(self, suffix: str) -> Path:
        """Regression table of every model: ``md``, ``tex`` or ``csv`` (the cells, as data)."""
        return self.fit_dir / f"table.{suffix}"

    def relatedness(self, name: str) -> Path:
        """A relatedness table (``country_product``, ``country``, ``product``, ...)."""
        return self.relatedness_dir / f"{name}.parquet"

    @property
    def opportunities(self) -> Path:
        """Ranked opportunities (Parquet; ``opportunities.csv`` beside it)."""
        return self.potential_dir / "opportunities.parquet"

    @property
    def potential_chunks(self) -> Path:
        """The chunk folder of a chunked potential run (plan, per-chunk results; resumable)."""
        return self.potential_dir / "chunks"

    @property
    def potential_summary(self) -> Path:
        """Base year, counts and ease coefficients of the potential model."""
        return self.potential_dir / "summary.json"

    @property
    def metrics(self) -> Path:
        """Backtest metrics (``target, model, metric, value, split``).

        The forecast backtest adds ``task, horizon, origin, n, positives``.
        """
        return self.backtest_dir / "metrics.csv"

    @property
    def predictions(self) -> Path:
        """Forecast backtest: one row per evaluated cell and model."""
        return self.backtest_dir / "predictions.parquet"

    @property
    def forecast_cache(self) -> Path:
        """Fitted forecast models, reused by later runs on the same data and options."""
        return self.backtest_dir / "cache"

    @property
    def backtest_summary(self) -> Path:
        """Backtest summary (Markdown)."""
        return self.backtest_dir / "summary.md"

    @property
    def counterfactual_countries(self) -> Path:
        """Per scenario and country: levels and percent changes of the GE counterfactual."""
        return self.counterfactual_dir / "countries.csv"

    @property
    def counterfactual_pairs(self) -> Path:
        """Per scenario and directed pair: trade costs and flows before and after."""
        return self.counterfactual_dir / "pairs.parquet"

    @property
    def counterfactual_summary(self) -> Path:
        """Cost estimates and solver facts of every scenario."""
        return self.counterfactual_dir / "summary.json"

    @property
    def manifest(self) -> Path:
        """The run manifest."""
        return self.root / "manifest.json"

    def report_inputs(self) -> dict[str, Path]:
        """Every file the report reads, by name (all optional)."""
        return {
            "panel": self.panel,
            "truth": self.truth,
            "coefficients": self.coefficients,
            "fit": self.fit,
            "models": self.table("csv"),
            "country_product": self.relatedness("country_product"),
            "country": self.relatedness("country"),
            "opportunities": self.opportunities,
            "metrics": self.metrics,
            "manifest": self.manifest,
            "counterfactual": self.counterfactual_countries,
        }
