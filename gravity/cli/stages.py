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

from gravity.cli.manifest import RunManifest
from gravity.config.schema import ModelConfig, RunConfig
from gravity.estimation.formula import parse_formula
from gravity.estimation.ols import Ols
from gravity.estimation.ppml import Ppml, PpmlOptions
from gravity.estimation.results import FitResult
from gravity.estimation.table import RegressionTable
from gravity.exceptions import ConfigError, EstimationError
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
    for step in panel.steps:
        record = manifest.step(f"panel: {step.name}")
        record.rows_in, record.rows_out = step.rows_in, step.rows_out
        record.removed, record.added = dict(step.removed), dict(step.added)
        value = step.value_note()
        record.seconds = round(step.seconds, 3)
        record.notes = [*step.notes, *([value] if value else [])]
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


AGGREGATE_KEYS = ("exporter", "importer", "year")


def aggregate_over_products(model: ModelConfig, panel: pd.DataFrame) -> pd.DataFrame:
    """Sum ``value`` over products within exporter, importer and year.

    The other columns the model reads (regressors, fixed effects, clusters, weights, offset)
    are carried along and must be constant within those groups: a column that varies across
    products cannot enter an aggregate model, and that is an error, not a silent choice.
    """
    keys = [k for k in AGGREGATE_KEYS if k in panel.columns]
    formula = parse_formula(model.formula)
    needed = set(formula.columns()) | {c for b in model.vcov.by for c in b.split("^")}
    needed |= {c for c in (model.weights, model.offset) if c}
    carried = sorted(
        c for c in needed if c in panel.columns and c not in {*keys, "value", "product"}
    )
    if "product" in needed:
        raise ConfigError(
            "model.aggregate_products sums over products, but the model uses 'product'; "
            "drop it from the formula or set aggregate_products: false"
        )
    grouped = panel.groupby(keys, observed=True, sort=True)
    out = grouped["value"].sum().reset_index()
    if carried:
        low = grouped[carried].min()
        high = grouped[carried].max()
        varying = [c for c in carried if not (low[c].fillna(0) == high[c].fillna(0)).all()]
        if varying:
            raise ConfigError(
                f"model.aggregate_products: column(s) {varying} vary across products within "
                "exporter, importer and year, so they cannot enter the aggregate model"
            )
        out = out.merge(low.reset_index(), on=keys, how="left")
    return out


def fit_model(model: ModelConfig, panel: pd.DataFrame) -> FitResult:
    """Estimate one configured model on the panel (summed over products if asked).

    A model whose every regressor is absorbed (collinear with the fixed effects or with the
    others) estimates nothing: as in fixest, that is an error, not an empty coefficient table.
    """
    result = _fit_model(model, panel)
    regressors = parse_formula(model.formula).regressors
    if regressors and len(result.coef) == 0:
        raise EstimationError(
            f"every regressor of {model.formula!r} is collinear with the fixed effects or the "
            "other regressors, so the model estimates nothing; check the sample (enough "
            "countries and years?) and the fixed effects"
        )
    return result


def _fit_model(model: ModelConfig, panel: pd.DataFrame) -> FitResult:
    if model.aggregate_products and "product" in panel.columns:
        panel = aggregate_over_products(model, panel)
    if model.estimator == "ols":
        return Ols(
            model.formula, panel, weights=model.weights, vcov=model.vcov, options=model.solver
        ).fit()
    options = PpmlOptions(irls=model.solver, separation=model.separation)
    return Ppml(
        model.formula,
        panel,
        weights=model.weights,
        offset=model.offset,
        vcov=model.vcov,
        options=options,
    ).fit()


def stage_fit(config: RunConfig, panel: pd.DataFrame, manifest: RunManifest) -> list[FitResult]:
    """Fit ``model`` (and ``compare`` models); write ``OUTPUT/fit/``."""
    if config.model is None:
        raise ConfigError("the config has no 'model:' section; add one with a 'formula:'")
    models = [config.model, *config.compare]
    results = []
    for i, model in enumerate(models):
        start = time.perf_counter()
        label = model.name or f"({i + 1}) {model.estimator.upper()}"
        log.info("[fit] %s: %s", label, model.formula)
        data = panel
        if model.aggregate_products and "product" in panel.columns:
            data = aggregate_over_products(model, panel)
            merged = manifest.step(f"fit: {label}: aggregate_products")
            merged.balance(len(panel), len(data), "rows merged (summed over products)")
        result = fit_model(model, data)
        record = manifest.step(f"fit: {label}")
        record.rows_in, record.rows_out = len(data), result.nobs
        record.removed = {k: v for k, v in result.nobs_dropped.items()}
        record.seconds = round(time.perf_counter() - start, 3)
        log.info(
            "[fit] %s: %s obs, %d iterations, converged=%s (%.1f s)",
            label,
            f"{result.nobs:,}",
            result.iterations,
            result.converged,
            record.seconds,
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
