"""The ``counterfactual`` stage: solve the config's scenarios and write ``OUTPUT/counterfactual/``.

Files (each scenario's rows stacked, keyed by ``scenario``):

- ``countries.csv``: per country, exports (conditional and full GE), output, factory-gate price,
  inward and outward multilateral resistance and real GDP: baseline level, scenario level and
  ``*_change_pct`` = 100 * (scenario / baseline - 1);
- ``pairs.parquet``: per directed pair, log trade costs and flows before and after;
- ``summary.json``: the cost estimates and each scenario's solver iterations.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd

from gravity.cli.manifest import RunManifest
from gravity.counterfactual import CounterfactualOptions, solve_counterfactual

log = logging.getLogger("gravity")


def stage_counterfactual(
    options: CounterfactualOptions, panel: pd.DataFrame, output: Path, manifest: RunManifest
) -> dict[str, Path]:
    """Estimate trade costs, solve every scenario and write the contract files.

    Parameters
    ----------
    options : CounterfactualOptions
        The config's ``counterfactual:`` section.
    panel : pandas.DataFrame
        The built panel (domestic flows included).
    output : pathlib.Path
        The run's output folder.
    manifest : RunManifest
        Records the steps and outputs.

    Returns
    -------
    dict of str to pathlib.Path
        ``countries``, ``pairs`` and ``summary``.
    """
    start = time.perf_counter()
    result = solve_counterfactual(panel, options)
    costs = result.costs
    record = manifest.step("counterfactual: trade costs")
    record.rows_in, record.rows_out = len(panel), costs.estimate.nobs
    record.removed = dict(costs.estimate.nobs_dropped)
    record.notes = [
        f"{options.costs.method}: "
        + ", ".join(f"{k} = {v:.6g}" for k, v in costs.coefficients.items()),
        f"{costs.filled_pairs} pair(s) without trade got predicted costs",
    ]
    for scenario in result.scenarios:
        step = manifest.step(f"counterfactual: {scenario.name}")
        sol = scenario.solution
        step.notes = [
            f"{options.method}: {sol.iterations} iteration(s), converged={sol.converged}, "
            f"last price step {sol.max_price_step:.3g}"
        ]
    folder = output / "counterfactual"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "countries": folder / "countries.csv",
        "pairs": folder / "pairs.parquet",
        "summary": folder / "summary.json",
    }
    countries = result.countries_frame()
    countries.to_csv(paths["countries"], index=False, float_format="%.17g")
    result.pairs_frame().to_parquet(paths["pairs"], index=False)
    paths["summary"].write_text(json.dumps(result.summary_dict(), indent=2) + "\n")
    for path in paths.values():
        manifest.add_output(path, output)
    seconds = time.perf_counter() - start
    record.seconds = round(seconds, 3)
    for name, rows in countries.groupby("scenario", sort=False):
        order = rows["real_gdp_change_pct"].abs().sort_values(ascending=False).index[:3]
        top = rows.loc[order]
        moves = ", ".join(
            f"{c} {v:+.3f}%"
            for c, v in zip(top["country"], top["real_gdp_change_pct"], strict=True)
        )
        log.info("[counterfactual] %s: real GDP %s", name, moves)
    log.info("[counterfactual] %d scenario(s) in %.1f s", len(result.scenarios), seconds)
    return paths
