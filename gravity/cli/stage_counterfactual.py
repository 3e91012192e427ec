"""The ``counterfactual`` stage: solve the config's scenarios and write ``OUTPUT/counterfactual/``.

Files (each scenario's rows stacked, keyed by ``scenario``), at the places
:class:`~gravity.layout.OutputLayout` names:

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

from gravity._base import Step
from gravity.cli.manifest import StageOutput
from gravity.config.schema import RunConfig
from gravity.counterfactual import solve_counterfactual
from gravity.exceptions import ConfigError
from gravity.layout import OutputLayout
from gravity.panel.dataset import Panel

log = logging.getLogger("gravity")


def stage_counterfactual(config: RunConfig, panel: Panel) -> StageOutput:
    """Estimate trade costs, solve every scenario and write ``OUTPUT/counterfactual/``."""
    options = config.counterfactual
    if options is None:
        raise ConfigError(
            "the config has no 'counterfactual:' section; add one with baseline_year, sigma, "
            "reference, costs and scenarios"
        )
    start = time.perf_counter()
    frame = panel.to_frame()
    result = solve_counterfactual(frame, options)
    costs = result.costs
    steps = [
        Step(
            "counterfactual: trade costs",
            len(frame),
            costs.estimate.nobs,
            dict(costs.estimate.nobs_dropped),
            seconds=time.perf_counter() - start,
            notes=(
                f"{options.costs.method}: "
                + ", ".join(f"{k} = {v:.6g}" for k, v in costs.coefficients.items()),
                f"{costs.filled_pairs} pair(s) without trade got predicted costs",
            ),
        )
    ]
    for scenario in result.scenarios:
        sol = scenario.solution
        steps.append(
            Step(
                f"counterfactual: {scenario.name}",
                notes=(
                    f"{options.method}: {sol.iterations} iteration(s), "
                    f"converged={sol.converged}, last price step {sol.max_price_step:.3g}",
                ),
            )
        )
    layout = OutputLayout(config.output)
    layout.counterfactual_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "countries": layout.counterfactual_countries,
        "pairs": layout.counterfactual_pairs,
        "summary": layout.counterfactual_summary,
    }
    countries = result.countries_frame()
    countries.to_csv(paths["countries"], index=False, float_format="%.17g")
    result.pairs_frame().to_parquet(paths["pairs"], index=False)
    paths["summary"].write_text(json.dumps(result.summary_dict(), indent=2) + "\n")
    lines = []
    for name, rows in countries.groupby("scenario", sort=False):
        order = rows["real_gdp_change_pct"].abs().sort_values(ascending=False).index[:5]
        moves = ", ".join(
            f"{c} {v:+.3f}%"
            for c, v in zip(
                rows.loc[order, "country"], rows.loc[order, "real_gdp_change_pct"], strict=True
            )
        )
        lines.append(f"{name}: real GDP {moves}")
    log.info(
        "[counterfactual] %d scenario(s) in %.1f s",
        len(result.scenarios),
        time.perf_counter() - start,
    )
    files = {str(path.relative_to(config.output)): path for path in paths.values()}
    return StageOutput(files, tuple(steps), console="\n".join(lines))
