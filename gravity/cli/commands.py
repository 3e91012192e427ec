"""What each sub-command does: load the config, run the stages, write outputs and the manifest."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from gravity.cli.manifest import RunManifest
from gravity.cli.stages import STAGES_AVAILABLE, stage_fit, stage_panel
from gravity.config.loader import load_config, validate_config
from gravity.config.schema import RunConfig
from gravity.exceptions import ConfigError, StageNotAvailableError

log = logging.getLogger("gravity")

# Where a stage that is not built yet is tracked (shown to users who ask for it).
PLANNED = {
    "relatedness": "product relatedness and complexity",
    "potential": "export-potential scoring",
    "backtest": "out-of-time backtests",
    "report": "policy reports",
    "batch": "batch re-estimation",
}

DEMO_CONFIG = {
    "output": "out/demo",
    "data": {"synthetic": {"folder": "data/demo", "level": "aggregate"}},
    "sample": {"exclude_domestic": True},
    "model": {
        "formula": "value ~ log(dist) + contig + comlang + rta | exporter^year + importer^year",
        "vcov": {"type": "cluster", "by": ["exporter^importer"]},
    },
}


def _run(config: RunConfig, command: str, config_path: str | None, stages: list[str]) -> int:
    manifest = RunManifest(
        command=command,
        config=config.model_dump(mode="json"),
        config_path=config_path,
        seed=config.seed,
    )
    if config_path:
        manifest.add_input(Path(config_path), "config")
    out = config.output
    try:
        panel = stage_panel(config, manifest)
        if "fit" in stages:
            if config.model is None:
                raise ConfigError("the config has no 'model:' section; add one with a 'formula:'")
            stage_fit(config, panel, manifest)
        manifest.status = "ok"
    except BaseException as exc:
        manifest.status = "failed"
        manifest.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        path = manifest.write(out)
        log.info("manifest: %s", path)
    log.info("outputs in %s", out)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Every available stage the config describes."""
    config = load_config(args.config)
    stages = [s for s in STAGES_AVAILABLE if s != "fit" or config.model is not None]
    log.info("gravity run: stages %s (%s not available yet)", stages, ", ".join(PLANNED))
    return _run(config, "run", args.config, stages)


def cmd_panel(args: argparse.Namespace) -> int:
    """Only the panel."""
    return _run(load_config(args.config), "panel", args.config, ["panel"])


def cmd_fit(args: argparse.Namespace) -> int:
    """Panel, then the models."""
    return _run(load_config(args.config), "fit", args.config, ["panel", "fit"])


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate and summarise without running."""
    config = load_config(args.config)
    sections = [k for k, v in config.model_dump().items() if v not in (None, [], {})]
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
    return _run(config, "demo", None, list(STAGES_AVAILABLE))


def _not_available(stage: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        load_config(args.config)  # still validate, so typos surface now
        raise StageNotAvailableError(
            f"the {stage} stage ({PLANNED[stage]}) is not available in this version of gravity "
            f"yet; 'gravity run' runs the stages that exist ({', '.join(STAGES_AVAILABLE)})"
        )

    return handler


cmd_relatedness = _not_available("relatedness")
cmd_potential = _not_available("potential")
cmd_backtest = _not_available("backtest")
cmd_report = _not_available("report")
cmd_batch = _not_available("batch")


def cmd_data(args: argparse.Namespace) -> int:
    """``gravity data download DATASET``: fetch public files into a cache folder."""
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
    results = download(files, dest, progress=not (args.no_progress or args.quiet),
                       refresh=args.refresh)
    for result in results:
        state = "downloaded" if result.downloaded else "cached"
        print(f"{result.path} ({state}, {result.size:,} bytes, sha256 {result.sha256})")
        for path in result.files:
            if path != result.path:
                print(f"  {path}")
    return 0
