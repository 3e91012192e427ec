"""Pipeline stages as the CLI runs them: each reads the config, calls the library, writes files.

The library stages know nothing of files or YAML; this module is the edge that turns their
frozen results into the contract files (``panel.parquet``, ``coefficients.csv``, ``fit.json``,
``table.md``, ``table.tex``) and records every step in the manifest.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd

from gravity._base import Step
from gravity.cli.manifest import RunManifest
from gravity.config.schema import RunConfig
from gravity.estimation.results import FitResult
from gravity.estimation.spec import fit
from gravity.estimation.table import RegressionTable
from gravity.exceptions import ConfigError
from gravity.panel.build import build_panel

log = logging.getLogger("gravity")


def stage_panel(config: RunConfig, manifest: RunManifest) -> pd.DataFrame:
    """Build the panel and write ``OUTPUT/panel/panel.parquet`` (and ``panel.json``).

    Every step goes to the manifest with its rows in, out, removed and added, its trade value in
    the notes; the Parquet file carries the units, currency, sources and zero counts. With
    implicit zeros (product-level panels above ``data.zeros.max_rows``) the frame returned holds
    the observed rows and ``frame.attrs["gravity_zeros"]`` says so.
    """
    data = config.data
    panel = build_panel(data.trade, data.synthetic, config.sample, config.base_dir, data)
    for path, role in panel.inputs:
        manifest.add_input(path, role)
    manifest.add_steps(panel.steps, "panel: ")
    folder = config.output / "panel"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "panel.parquet"
    for written in panel.to_parquet(path):
        manifest.add_output(written, config.output)
    if panel.truth is not None:
        truth = folder / "synthetic_truth.json"
        truth.write_text(json.dumps(panel.truth, indent=2, sort_keys=True) + "\n")
        manifest.add_output(truth, config.output)
    log.info("[panel] %s rows written to %s", f"{len(panel.frame):,}", path)
    frame = panel.to_frame()
    frame.attrs["gravity_zeros"] = panel.metadata.get("zeros", {}).get("mode", "none")
    if frame.attrs["gravity_zeros"] == "implicit":
        zero_rows = panel.metadata["zeros"]["zero_rows"]
        log.warning(
            "[panel] zeros are implicit (%s rows): later stages get the observed rows; "
            "fill them with Panel.dense(products)",
            f"{zero_rows:,}",
        )
    return frame


def stage_fit(config: RunConfig, panel: pd.DataFrame, manifest: RunManifest) -> list[FitResult]:
    """Fit ``model`` (and ``compare`` models); write ``OUTPUT/fit/``."""
    if config.model is None:
        raise ConfigError("the config has no 'model:' section; add one with a 'formula:'")
    models = [config.model, *config.compare]
    results = []
    for i, model in enumerate(models):
        start = time.perf_counter()
        label = model.title(i + 1)
        log.info("[fit] %s: %s", label, model.formula)
        result = fit(model, panel)
        step = Step(
            f"fit: {label}",
            len(panel),
            result.nobs,
            dict(result.nobs_dropped),
            seconds=time.perf_counter() - start,
        )
        manifest.add_steps([step])
        log.info(
            "[fit] %s: %s obs, %d iterations, converged=%s (%.1f s)",
            label,
            f"{result.nobs:,}",
            result.iterations,
            result.converged,
            step.seconds,
        )
        results.append(result)
    write_fit_outputs(
        results, [m.name for m in models], config.output / "fit", manifest, config.output
    )
    return results


def write_fit_outputs(
    results: list[FitResult],
    names: list[str | None],
    folder: Path,
    manifest: RunManifest | None = None,
    root: Path | None = None,
) -> dict[str, Path]:
    """Write the fit contract files for ``results[0]`` and the table of all results."""
    folder.mkdir(parents=True, exist_ok=True)
    main = results[0]
    paths = {
        "coefficients": folder / "coefficients.csv",
        "fit": folder / "fit.json",
        "table_md": folder / "table.md",
        "table_tex": folder / "table.tex",
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
    print(table.to_text())
    if manifest is not None and root is not None:
        for path in paths.values():
            manifest.add_output(path, root)
    return paths
