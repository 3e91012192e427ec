"""Pipeline stages as the CLI runs them: each reads the config, calls the library, writes files.

The library stages know nothing of files or YAML; this module is the edge that turns their
frozen results into the contract files (``panel.parquet``, ``coefficients.csv``, ``fit.json``,
``table.md``, ``table.tex``, ``table.csv``), at the places :class:`~gravity.layout.OutputLayout`
names. Every stage after the panel has one shape, ``stage(config, panel) -> StageOutput``
(:data:`STAGES`), and the run manifest is built from the outputs' steps.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity._base import Step
from gravity.cli.manifest import StageOutput
from gravity.cli.panel_reuse import ReuseCheck, check_panel, forget_panel, stamp_panel
from gravity.config.schema import RunConfig
from gravity.estimation.formula import parse_formula
from gravity.estimation.results import FitResult
from gravity.estimation.spec import aggregate_over_products, fit
from gravity.estimation.table import RegressionTable
from gravity.exceptions import ConfigError, EstimationError, GravityError
from gravity.layout import OutputLayout
from gravity.panel.build import build_panel
from gravity.panel.dataset import Panel
from gravity.panel.io import load_panel, zeros_of
from gravity.panel.stream import build_panel_streaming, use_streaming

log = logging.getLogger("gravity")

Stage = Callable[[RunConfig, Panel], StageOutput]
"""The shape of every stage after the panel: the config and the panel in, files and steps out."""


def stage_panel(config: RunConfig, load: bool = True) -> tuple[Panel, StageOutput]:
    """Build the panel and write ``OUTPUT/panel/panel.parquet`` (and ``panel.json``).

    Every step goes to the manifest with its rows in, out, removed and added, its trade value in
    the notes; the Parquet file carries the units, currency, sources and zero counts. With
    implicit zeros (product-level panels above ``data.zeros.max_rows``) ``panel.zeros.mode`` is
    ``"implicit"`` and later stages get the observed rows (``Panel.dense`` fills them).

    With ``data.reuse_panel: auto`` a panel an earlier run built from the same inputs and keys
    (:mod:`gravity.cli.panel_reuse`) is loaded instead; its steps are the build's, and the
    manifest's ``panel`` entry says ``reused`` or ``built`` and why.
    """
    layout = OutputLayout(config.output)
    check = (check_panel(config, layout) if config.data.reuse_panel == "auto"
             else ReuseCheck.rebuild("data.reuse_panel: never (or --rebuild-panel)"))
    if check.reusable:
        try:
            return _reuse_panel(config, layout, check, load)
        except (GravityError, OSError, pa.ArrowException) as exc:
            # the files matched their hashes, so this is unexpected; building again is safe
            check = ReuseCheck.rebuild(f"the panel could not be read back ({exc})")
    log.info("[panel] building: %s", check.reason)
    forget_panel(layout)
    start = time.perf_counter()
    panel, output = _build_panel(config, layout, load)
    digests = stamp_panel(config, layout, output.inputs, output.files,
                          time.perf_counter() - start)
    section = {"status": "built", "reason": check.reason,
               "sha256": digests[layout.panel.resolve()]}
    return panel, replace(output, digests=digests, sections={"panel": section})


def _reuse_panel(
    config: RunConfig, layout: OutputLayout, check: ReuseCheck, load: bool
) -> tuple[Panel, StageOutput]:
    """The panel on disk, with the steps and inputs of the build that wrote it."""
    panel = load_panel(layout.panel, rows=load)
    files = {rel: config.output / rel for rel in check.stamp["files"]}
    section = {"status": "reused", "reason": check.reason,
               "sha256": check.digests[layout.panel.resolve()],
               "built_utc": check.stamp.get("built_utc"),
               "build_seconds": check.stamp.get("build_seconds")}
    log.info("[panel] reused %s (%s rows; inputs and keys unchanged since %s)", layout.panel,
             f"{pq.read_metadata(layout.panel).num_rows:,}", section["built_utc"])
    return panel, StageOutput(files, panel.steps, panel.inputs, digests=check.digests,
                              sections={"panel": section})


def _build_panel(config: RunConfig, layout: OutputLayout, load: bool
                 ) -> tuple[Panel, StageOutput]:
    data = config.data
    if use_streaming(data.trade, data.synthetic, config.sample, config.base_dir, data):
        return _stream_panel(config, layout, load)
    panel = build_panel(data.trade, data.synthetic, config.sample, config.base_dir, data)
    written = panel.to_parquet(layout.panel)
    if panel.truth is not None:
        layout.truth.write_text(json.dumps(panel.truth, indent=2, sort_keys=True) + "\n")
        written.append(layout.truth)
    files = {str(path.relative_to(config.output)): path for path in written}
    log.info("[panel] %s rows written to %s", f"{len(panel.frame):,}", layout.panel)
    if panel.zeros is not None and panel.zeros.mode == "implicit":
        log.warning(
            "[panel] zeros are implicit (%s rows): later stages get the observed rows; "
            "fill them with Panel.dense(products)",
            f"{panel.zeros.zero_rows:,}",
        )
    return panel, StageOutput(files, panel.steps, panel.inputs)


def _stream_panel(
    config: RunConfig, layout: OutputLayout, load: bool
) -> tuple[Panel, StageOutput]:
    data = config.data
    if data.trade is None:  # pragma: no cover - use_streaming is false without one
        raise ConfigError("data.streaming needs data.trade (a file source)")
    streamed = build_panel_streaming(data.trade, config.sample, config.base_dir, data,
                                     layout.panel)
    files = {str(path.relative_to(config.output)): path for path in streamed.written}
    log.info("[panel] %s rows written to %s (streamed)", f"{streamed.metadata['rows']:,}",
             layout.panel)
    panel = streamed.panel
    if panel is None:
        # the rows stay on disk unless a later stage needs them in memory
        panel = load_panel(layout.panel) if load else Panel(
            pq.read_schema(layout.panel).empty_table().to_pandas(), streamed.steps,
            streamed.inputs, None, streamed.metadata, *zeros_of(streamed.metadata),
        )
    return panel, StageOutput(files, streamed.steps, streamed.inputs)


def stage_fit(config: RunConfig, panel: Panel) -> StageOutput:
    """Fit ``model`` (and ``compare`` models); write ``OUTPUT/fit/``."""
    if config.model is None:
        raise ConfigError("the config has no 'model:' section; add one with a 'formula:'")
    frame = panel.to_frame()
    models = [config.model, *config.compare]
    results = []
    steps = []
    aggregates: dict[tuple[str, ...], pd.DataFrame] = {}  # shared by models reading the same
    for i, model in enumerate(models):
        start = time.perf_counter()
        label = model.title(i + 1)
        log.info("[fit] %s: %s", label, model.formula)
        data = frame
        if model.aggregate_products and "product" in frame.columns:
            # its own step: the rows merged by summing over products are accounted for
            data = aggregate_over_products(model, frame, aggregates)
            steps.append(
                Step.summarising(
                    f"fit: {label}: aggregate_products",
                    len(frame),
                    len(data),
                    "rows merged (summed over products)",
                )
            )
        result = fit(model, data)
        if parse_formula(model.formula).regressors and len(result.coef) == 0:
            # as in fixest: a model whose every regressor is absorbed estimates nothing
            raise EstimationError(
                f"every regressor of {model.formula!r} is collinear with the fixed effects or "
                "the other regressors, so the model estimates nothing; check the sample "
                "(enough countries and years?) and the fixed effects"
            )
        step = Step(
            f"fit: {label}",
            len(data),
            result.nobs,
            dict(result.nobs_dropped),
            seconds=time.perf_counter() - start,
        )
        steps.append(step)
        log.info(
            "[fit] %s: %s obs, %d iterations, converged=%s (%.1f s)",
            label,
            f"{result.nobs:,}",
            result.iterations,
            result.converged,
            step.seconds,
        )
        results.append(result)
    titles = [m.title(i + 1) for i, m in enumerate(models)]
    files = write_fit_outputs(results, titles, OutputLayout(config.output))
    table = RegressionTable.from_results(results, titles)
    return StageOutput(files, tuple(steps), console=table.to_text())


def write_fit_outputs(
    results: Sequence[FitResult], names: Sequence[str | None], layout: OutputLayout
) -> dict[str, Path]:
    """Write the fit contract files for ``results[0]`` and the table of all results."""
    layout.fit_dir.mkdir(parents=True, exist_ok=True)
    main = results[0]
    paths = {
        "coefficients": layout.coefficients,
        "fit": layout.fit,
        "table_md": layout.table("md"),
        "table_tex": layout.table("tex"),
        "table_csv": layout.table("csv"),
    }
    main.to_frame().to_csv(paths["coefficients"], index=False, float_format="%.17g")
    summary = main.summary_dict()
    if len(results) > 1:
        summary["compare"] = [r.summary_dict() for r in results[1:]]
    paths["fit"].write_text(json.dumps(summary, indent=2) + "\n")
    titles = [
        n or f"({i + 1}) {r.estimator.upper()}"
        for i, (n, r) in enumerate(zip(names, results, strict=True))
    ]
    table = RegressionTable.from_results(results, titles)
    paths["table_md"].write_text(table.to_markdown())
    paths["table_tex"].write_text(table.to_latex())
    paths["table_csv"].write_text(table.to_csv())
    return paths
