"""What each sub-command does: load the config, run the stages, write outputs and the manifest."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from gravity._base import Step
from gravity.cli.background import BackgroundStage, can_fork
from gravity.cli.manifest import RunManifest, StageOutput
from gravity.cli.output import prepare_output
from gravity.cli.stage_potential import stage_backtest, stage_potential
from gravity.cli.stages import Stage, stage_fit, stage_panel
from gravity.config.loader import load_config, validate_config
from gravity.config.schema import RunConfig
from gravity.exceptions import ConfigError, DataError
from gravity.layout import OutputLayout
from gravity.panel.dataset import Panel
from gravity.potential.pipeline import RelatednessFn
from gravity.report.data import ReportNames
from gravity.report.options import ReportOptions

log = logging.getLogger("gravity")

STAGES = ("panel", "fit", "relatedness", "potential", "backtest", "counterfactual", "report")

DEMO_CONFIG = {
    "output": "out/demo",
    "data": {"synthetic": {"folder": "data/demo", "level": "product"}},
    "sample": {"exclude_domestic": True, "years": list(range(2014, 2022))},
    "model": {
        "formula": "value ~ log(dist) + contig + comlang + rta | exporter^year + importer^year",
        "vcov": {"type": "cluster", "by": ["exporter^importer"]},
        "aggregate_products": True,
    },
    "relatedness": {},
    "potential": {"horizon": 3, "window": 4},
    "backtest": {"horizon": 2, "max_splits": 2},
    "report": {},
}


def _features(config: RunConfig, panel: Panel) -> RelatednessFn | None:
    if "product" not in panel.frame.columns:
        return None
    from gravity.potential.features import relatedness_features

    return relatedness_features(config.relatedness)


def _stage_relatedness(config: RunConfig, panel: Panel) -> StageOutput:
    from gravity.cli.stage_relatedness import stage_relatedness

    frame = panel.to_frame()
    if "product" not in frame.columns:
        raise DataError(
            "relatedness needs a product dimension: the panel has no 'product' column "
            "(map one in data.trade.columns, or use data.synthetic.level: product)"
        )
    start = time.perf_counter()
    files = stage_relatedness(config.relatedness, frame, config.output)
    log.info("[relatedness] %d files in %.1f s", len(files), time.perf_counter() - start)
    return StageOutput(dict(files), files.steps)


def _stage_counterfactual(config: RunConfig, panel: Panel) -> StageOutput:
    from gravity.cli.stage_counterfactual import stage_counterfactual

    return stage_counterfactual(config, panel)


def _stage_potential(config: RunConfig, panel: Panel) -> StageOutput:
    return stage_potential(config, panel, _features(config, panel))


def _stage_backtest(config: RunConfig, panel: Panel) -> StageOutput:
    return stage_backtest(config, panel, _features(config, panel))


STAGE_RUNNERS: dict[str, tuple[Stage, str]] = {
    "fit": (stage_fit, ""),
    "relatedness": (_stage_relatedness, "relatedness: "),
    "potential": (_stage_potential, ""),
    "backtest": (_stage_backtest, ""),
    "counterfactual": (_stage_counterfactual, ""),
}
"""Every stage after the panel, in pipeline order, with the prefix of its manifest steps."""


def _report_names(config: RunConfig) -> ReportNames | None:
    synthetic = config.data.synthetic
    if synthetic is None:
        return None
    countries, products = synthetic.folder / "countries.csv", synthetic.folder / "products.csv"
    return ReportNames.read(
        countries if countries.is_file() else None, products if products.is_file() else None
    )


def _stage_report(config: RunConfig) -> dict[str, Path]:
    from gravity.cli.stage_report import stage_report
    from gravity.report.country_facts import read_country_facts

    start = time.perf_counter()
    facts = read_country_facts(config.data.covariates, config.base_dir)
    paths = stage_report(
        config.report or ReportOptions(), config.output, _report_names(config), facts
    )
    log.info("[report] %s (%.1f s)", paths.get("html", ""), time.perf_counter() - start)
    return paths


ANNUAL_STAGES = ("fit", "relatedness", "potential", "backtest", "counterfactual", "batch")
"""Stages whose models work on years: a monthly panel does not reach them."""


def refuse_monthly(config: RunConfig, stages: list[str]) -> None:
    """One clear line when a monthly panel would reach a stage that needs annual data."""
    trade = config.data.trade
    if getattr(trade, "frequency", "annual") != "monthly":
        return
    annual = [s for s in stages if s in ANNUAL_STAGES]
    if annual:
        raise ConfigError(
            "data.trade.frequency: 'monthly' builds a monthly panel for the report, but these "
            f"stages need annual data: {', '.join(annual)}; remove them from the config, or set "
            "frequency: annual"
        )


def _start_aside(config: RunConfig, panel: Panel, stages: list[str]) -> BackgroundStage | None:
    """The backtest started in a forked process, when asked for and other stages run meanwhile."""
    others = {"fit", "relatedness", "potential", "counterfactual"} & set(stages)
    options = config.backtest
    if "backtest" not in stages or options is None or not options.background or not others:
        return None
    if not can_fork():
        return None
    return BackgroundStage.start("backtest", lambda: _stage_backtest(config, panel))


def run_stages(
    config: RunConfig,
    command: str,
    config_path: str | None,
    stages: list[str],
    *,
    force: bool = False,
) -> int:
    """Run ``stages`` in pipeline order; always write ``OUTPUT/manifest.json``."""
    refuse_monthly(config, stages)
    prepare_output(config.output, force=force)
    manifest = RunManifest(
        command=command,
        config=config.model_dump(mode="json"),
        config_path=config_path,
        seed=config.seed,
    )
    if config_path:
        manifest.add_input(Path(config_path), "config")
    out = config.output
    log.info("gravity %s: stages %s", command, ", ".join(stages))
    aside: BackgroundStage | None = None
    try:
        start = time.perf_counter()
        panel, built = stage_panel(config, load=stages != ["panel"])
        manifest.stage_seconds["panel"] = time.perf_counter() - start
        manifest.record(built, out, "panel: ")
        aside = _start_aside(config, panel, stages)
        for name, (stage, prefix) in STAGE_RUNNERS.items():
            if name in stages:
                start = time.perf_counter()
                if aside is not None and name == aside.name:
                    # started beside the stages before it: its own seconds, not the wait
                    output, manifest.stage_seconds[name] = aside.result()
                    aside = None
                else:
                    output = stage(config, panel)
                    manifest.stage_seconds[name] = time.perf_counter() - start
                manifest.record(output, out, prefix)
                if output.console:
                    print(output.console)
        manifest.status = "ok"
    except BaseException as exc:
        manifest.status = "failed"
        manifest.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if aside is not None:
            aside.stop()
        path = manifest.write(out)
        log.info("manifest: %s", path)
    if "report" in stages:
        # the report reads manifest.json, so it runs after it is written; its files are then added
        start = time.perf_counter()
        for written in _stage_report(config).values():
            manifest.add_output(written, out)
        manifest.stage_seconds["report"] = time.perf_counter() - start
        manifest.write(out)
    log.info("outputs in %s", out)
    return 0


def _run_stages_of(config: RunConfig) -> list[str]:
    stages = ["panel"]
    if config.model is not None:
        stages.append("fit")
    for name in ("relatedness", "potential", "backtest", "counterfactual", "report"):
        if getattr(config, name) is not None:
            stages.append(name)
    return stages


def cmd_run(args: argparse.Namespace) -> int:
    """Every stage the config describes, in pipeline order."""
    config = _load(args)
    return run_stages(config, "run", args.config, _run_stages_of(config), force=_force(args))


def _load(args: argparse.Namespace) -> RunConfig:
    """The config of ``args.config``, with ``--rebuild-panel`` as ``data.reuse_panel: never``."""
    return _rebuild_flag(load_config(args.config), args)


def _rebuild_flag(config: RunConfig, args: argparse.Namespace) -> RunConfig:
    if not getattr(args, "rebuild_panel", False):
        return config
    data = config.data.model_copy(update={"reuse_panel": "never"})
    return config.model_copy(update={"data": data})


def _force(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "force", False))


def cmd_panel(args: argparse.Namespace) -> int:
    """Only the panel."""
    return run_stages(_load(args), "panel", args.config, ["panel"], force=_force(args))


def cmd_fit(args: argparse.Namespace) -> int:
    """Panel, then the models."""
    config = _load(args)
    if config.model is None:
        raise ConfigError("the config has no 'model:' section; add one with a 'formula:'")
    return run_stages(config, "fit", args.config, ["panel", "fit"], force=_force(args))


def cmd_relatedness(args: argparse.Namespace) -> int:
    """Panel, then relatedness and complexity."""
    return run_stages(
        _load(args),
        "relatedness",
        args.config,
        ["panel", "relatedness"],
        force=_force(args),
    )


def cmd_potential(args: argparse.Namespace) -> int:
    """Panel, then export potential (relatedness features computed on the way)."""
    config = _load(args)
    return run_stages(config, "potential", args.config, ["panel", "potential"], force=_force(args))


def cmd_backtest(args: argparse.Namespace) -> int:
    """Panel, then the out-of-time backtest."""
    config = _load(args)
    return run_stages(config, "backtest", args.config, ["panel", "backtest"], force=_force(args))


def cmd_counterfactual(args: argparse.Namespace) -> int:
    """Panel, then the general-equilibrium scenarios of the 'counterfactual:' section."""
    config = _load(args)
    if config.counterfactual is None:
        raise ConfigError(
            "the config has no 'counterfactual:' section; add one with baseline_year, sigma, "
            "reference, costs and scenarios"
        )
    return run_stages(config, "counterfactual", args.config, ["panel", "counterfactual"])


def cmd_report(args: argparse.Namespace) -> int:
    """The report from what earlier stages wrote in OUTPUT (the run's manifest is kept)."""
    config = _load(args)
    prepare_output(config.output, force=_force(args))
    paths = _stage_report(config)
    print(paths.get("html", next(iter(paths.values()), "")))
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Panel, then every job of the 'batch:' grid; exit 1 if any job failed."""
    from gravity.batch.store import batch_lock
    from gravity.cli.stage_batch import stage_batch

    config = _load(args)
    if config.batch is None:
        raise ConfigError("the config has no 'batch:' section; add one with 'grid: {specs: [...]}'")
    refuse_monthly(config, ["batch"])
    batch = config.batch
    if args.quiet:
        batch = batch.model_copy(update={"progress": False})
    manifest = RunManifest(
        command="batch",
        config=config.model_dump(mode="json"),
        config_path=args.config,
        seed=config.seed,
    )
    manifest.add_input(Path(args.config), "config")
    prepare_output(config.output, force=_force(args))
    try:
        # the panel is rebuilt inside the lock: a second process must not rewrite it under us
        with batch_lock(config.output):
            _, built = stage_panel(config, load=False)
            manifest.record(built, config.output, "panel: ")
            summary = stage_batch(
                batch,
                OutputLayout(config.output).panel,
                config.output,
                resume=args.resume,
            )
        step = Step(
            "batch",
            summary.n_jobs,
            summary.n_done,
            {"failed_jobs": summary.n_failed},
            seconds=summary.seconds,
            notes=tuple(f"{f.key} {f.label}: {f.error}" for f in summary.failures),
        )
        manifest.add_steps([step])
        manifest.add_output(summary.results_path, config.output)
        manifest.status = "ok" if summary.ok else "failed"
    except BaseException as exc:
        manifest.status, manifest.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        manifest.write(config.output)
    print(summary.to_text())
    return 0 if summary.ok else 1


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate and summarise without running."""
    from gravity.cli.validate import validate_data

    config = _load(args)
    sections = [k for k, v in config.model_dump().items() if v not in (None, [], {})]
    checked = validate_data(config, force=_force(args))
    if not args.quiet:
        for line in checked:
            print(f"  checked {line}")
    print(f"{args.config}: valid ({', '.join(sections)}); outputs would go to {config.output}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The full pipeline on the synthetic demo world."""
    if args.config:
        return cmd_run(args)
    default = Path("configs/demo.yaml")
    if default.is_file():
        args.config = str(default)
        return cmd_run(args)
    config = validate_config(DEMO_CONFIG, base_dir=Path.cwd(), source="built-in demo config")
    config = _rebuild_flag(config, args)
    return run_stages(config, "demo", None, _run_stages_of(config), force=_force(args))


def _synthetic_data(args: argparse.Namespace) -> int:
    """``gravity data synthetic baci``: write the synthetic BACI world."""
    from gravity.panel.synthetic_baci import BaciWorldOptions, write_baci_world

    options = BaciWorldOptions(
        countries=args.countries,
        products=args.products,
        years=args.years,
        first_year=args.first_year,
        density=args.density,
        seed=args.seed,
        block=args.block,
    )
    world = write_baci_world(args.dest, options)
    share = sum(world.truth["positive_share"].values()) / len(world.truth["positive_share"])
    print(
        f"{world.folder}: {world.rows:,} positive flows ({share:.2%} of cells) in "
        f"{len(world.trade_files)} BACI files, {options.countries} countries x "
        f"{options.products} products ({world.seconds:.1f} s); truth.json, panel.yaml"
    )
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """``gravity data download DATASET``: fetch public files into a cache folder."""
    if args.action == "synthetic":
        return _synthetic_data(args)
    from gravity.panel.download import default_cache, download, remote_files

    files = remote_files(
        args.dataset,
        revision=args.revision,
        release=args.release,
        indicators=args.indicator or ["NY.GDP.MKTP.CD"],
        base_url=args.base_url,
        sha256=args.sha256,
    )
    dest = args.dest or default_cache() / args.dataset
    results = download(
        files, dest, progress=not (args.no_progress or args.quiet), refresh=args.refresh
    )
    for result in results:
        state = "downloaded" if result.downloaded else "cached"
        print(f"{result.path} ({state}, {result.size:,} bytes, sha256 {result.sha256})")
        for path in result.files:
            if path != result.path:
                print(f"  {path}")
    return 0
