"""Build the canonical gravity panel from the configured source and apply the sample filters.

Every step records rows in, rows out and what it removed or added, so the run manifest can show
that nothing was dropped silently.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.panel.readers import read_source
from gravity.panel.readers.sources import BaciSource, ComtradeSource, GenericSource
from gravity.panel.synthetic import SyntheticWorldOptions, load_or_generate_world

log = logging.getLogger("gravity")

TradeSource = BaciSource | ComtradeSource | GenericSource


@dataclass(frozen=True)
class PanelStep:
    """What one step did to the panel."""

    name: str
    rows_in: int
    rows_out: int
    removed: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Panel:
    """The canonical panel (``exporter, importer, [product,] year, value`` plus covariates)."""

    frame: pd.DataFrame
    steps: tuple[PanelStep, ...]
    inputs: tuple[tuple[Path, str], ...]
    truth: dict[str, Any] | None = None


class SampleFilters:
    """Applies the ``sample:`` section: years, domestic flows, exporter/importer/product lists."""

    def __init__(
        self,
        years: list[int] | None = None,
        exclude_domestic: bool = False,
        exporters: list[str] | None = None,
        importers: list[str] | None = None,
        products: list[str] | None = None,
    ) -> None:
        self.years = years
        self.exclude_domestic = exclude_domestic
        self.lists = {"exporter": exporters, "importer": importers, "product": products}

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, PanelStep]:
        """Filter ``frame``; the step counts rows removed by each filter."""
        start = time.perf_counter()
        rows_in = len(frame)
        removed: dict[str, int] = {}
        keep = np.ones(len(frame), dtype=bool)
        if self.years is not None:
            if "year" not in frame.columns:
                raise DataError("sample.years is set but the panel has no 'year' column; map one")
            mask = frame["year"].isin(self.years).to_numpy()
            removed["years"] = int((keep & ~mask).sum())
            keep &= mask
        if self.exclude_domestic:
            mask = (frame["exporter"].astype(str) != frame["importer"].astype(str)).to_numpy()
            removed["domestic"] = int((keep & ~mask).sum())
            keep &= mask
        for column, wanted in self.lists.items():
            if wanted is None:
                continue
            if column not in frame.columns:
                raise DataError(f"sample.{column}s is set but the panel has no {column!r} column")
            mask = frame[column].astype(str).isin([str(w) for w in wanted]).to_numpy()
            removed[f"{column}s"] = int((keep & ~mask).sum())
            keep &= mask
        out = frame.loc[keep].reset_index(drop=True)
        if len(out) == 0:
            raise DataError(
                f"the sample filters removed every row ({removed}); check sample.years and lists"
            )
        step = PanelStep("sample", rows_in, len(out), removed, seconds=time.perf_counter() - start)
        return out, step


def build_panel(
    trade: TradeSource | None,
    synthetic: Any | None,
    filters: SampleFilters,
    base_dir: Path,
) -> Panel:
    """Read the trade source (or the synthetic world), then apply the sample filters.

    Parameters
    ----------
    trade : BaciSource, ComtradeSource or GenericSource, optional
        A trade file source (paths relative to ``base_dir``).
    synthetic : SyntheticData, optional
        The demo-world section of the config (``folder``, ``level`` and the world options).
    filters : SampleFilters
        The sample section.
    base_dir : Path
        Folder of the config file.

    Returns
    -------
    Panel
    """
    steps: list[PanelStep] = []
    inputs: list[tuple[Path, str]] = []
    truth = None
    start = time.perf_counter()
    if trade is not None:
        result = read_source(trade, base_dir)
        frame = result.frame
        inputs.extend((Path(f), "trade") for f in result.files)
        removed = {k: int(v) for k, v in result.log.items() if k not in ("rows_read", "files_read")}
        steps.append(
            PanelStep(
                f"read {trade.kind}",
                int(result.log.get("rows_read", len(frame))),
                len(frame),
                removed={k: v for k, v in removed.items() if not k.startswith("added")},
                added={k: v for k, v in removed.items() if k.startswith("added")},
                seconds=time.perf_counter() - start,
            )
        )
    elif synthetic is not None:
        frame, step, truth = _synthetic_panel(synthetic)
        steps.append(step)
    else:  # pragma: no cover - the config schema guarantees one source
        raise DataError("no trade data configured: add data.trade or data.synthetic")
    log.info("[panel] %s: %s rows (%.1f s)", steps[-1].name, f"{len(frame):,}", steps[-1].seconds)
    frame, step = filters.apply(frame)
    steps.append(step)
    if any(step.removed.values()):
        log.info("[panel] sample filters removed %s", {k: v for k, v in step.removed.items() if v})
    return Panel(frame, tuple(steps), tuple(inputs), truth)


def _synthetic_panel(section: Any) -> tuple[pd.DataFrame, PanelStep, dict[str, Any]]:
    start = time.perf_counter()
    options = SyntheticWorldOptions(
        **section.model_dump(exclude={"folder", "level"})
    )
    world = load_or_generate_world(Path(section.folder), options)
    covariates = world.pairs
    if section.level == "aggregate":
        frame = world.aggregate_trade().merge(covariates, on=["exporter", "importer", "year"])
        added = {"zero_flows_filled": int((frame["value"] == 0).sum())}
    else:
        frame = world.dense_trade().merge(covariates, on=["exporter", "importer", "year"])
        added = {"zero_flows_filled": int(len(frame) - len(world.trade))}
    for col in ("exporter", "importer", "product"):
        if col in frame.columns:
            frame[col] = frame[col].astype(str)
    step = PanelStep(
        f"synthetic world ({section.level})",
        rows_in=len(world.trade),
        rows_out=len(frame),
        added=added,
        seconds=time.perf_counter() - start,
        notes=("synthetic data: generated by gravity.panel.synthetic, not real trade",),
    )
    return frame, step, world.truth
