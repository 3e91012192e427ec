"""The run configuration: one typed, frozen object per YAML section.

The same option classes that the library uses (:class:`~gravity.estimation.spec.ModelSpec`,
:class:`~gravity.potential.options.PotentialOptions`, ...) are embedded here, so a config file and a
Python call accept exactly the same keys. Unknown keys are rejected (see
:mod:`gravity.config.loader` for the messages).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
)

from gravity._base import StrictModel
from gravity.batch.options import BatchOptions
from gravity.counterfactual.options import CounterfactualOptions
from gravity.estimation.spec import ModelSpec
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers.sources import BaciSource, ComtradeSource, GenericSource
from gravity.panel.synthetic import SyntheticSource
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.relatedness.options import RelatednessOptions
from gravity.report.options import ReportOptions


def _resolve(path: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is not None and not path.is_absolute():
        return (Path(base) / path).resolve()
    return path


ConfigPath = Annotated[Path, AfterValidator(_resolve)]
"""A path in a config file: relative paths are resolved against the config file's folder."""


def _default_kind(value: object) -> object:
    # data.trade without 'kind' is a generic table, as in the simplest configs
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "generic", **value}
    return value


TradeSourceConfig = Annotated[
    BaciSource | ComtradeSource | GenericSource,
    Field(discriminator="kind"),
    BeforeValidator(_default_kind),
]
"""``data.trade``: a BACI, Comtrade or generic (CSV/Parquet/Stata/Excel) trade source."""


class SyntheticData(SyntheticSource):
    """The embedded synthetic demo world (generated with a seed, cached in ``folder``)."""

    folder: ConfigPath = Path("data/demo")
    level: Literal["aggregate", "product"] = "aggregate"
    """Flows summed over products (``aggregate``) or product-level flows, zeros filled; product
    level keeps only ``sample.years`` (all 22 years of 200 products are 15.6 million rows)."""


class DataConfig(PanelOptions):
    """Input data: a trade table (or the synthetic demo world), and how the panel is built.

    Besides ``trade``/``synthetic``: ``domestic`` (intra-national flows), ``covariates`` (GeoDist,
    WDI or generic tables merged on pairs or countries, country variables as ``<v>_o``/``<v>_d``),
    ``derived`` (log, ratio, product, sum), ``zeros`` (``auto|fill|none``) and ``metadata``
    (currency and unit of the value); see :mod:`gravity.panel.options`.
    """

    trade: TradeSourceConfig | None = None
    synthetic: SyntheticData | None = None
    reuse_panel: Literal["auto", "never"] = "auto"
    """``auto``: every command loads ``OUTPUT/panel/panel.parquet`` instead of building it again
    when it was built from the same input files (sha256 of each), the same ``data:`` and
    ``sample:`` keys (``streaming`` aside: it changes how, not what) and the same gravity panel
    code; the manifest then says ``panel: reused``. ``never``: always build (the command-line
    flag ``--rebuild-panel`` does the same for one run)."""

    def model_post_init(self, __context: Any) -> None:
        """Exactly one trade source."""
        if (self.trade is None) == (self.synthetic is None):
            raise ValueError("give exactly one of 'trade' (a file) or 'synthetic' (the demo world)")


class SampleConfig(SampleOptions):
    """Row filters applied to the panel before estimation; each one is counted.

    ``years``, ``exporters``, ``importers``, ``products``, ``countries``, ``exclude_domestic``,
    and the Atlas thresholds ``min_population`` / ``min_exports`` (see
    :class:`gravity.panel.options.SampleOptions`).
    """


ModelConfig = ModelSpec
"""The ``model:`` and ``compare:`` sections and batch specs (:mod:`gravity.estimation.spec`)."""


class RelatednessConfig(RelatednessOptions):
    """The ``relatedness:`` section (paths relative to the config file)."""

    population_file: ConfigPath | None = None
    """``country, year, population`` CSV (for ``presence: rpop`` and ``min_population``)."""


class RunConfig(StrictModel):
    """A whole run: where outputs go, the data, the sample and the models."""

    output: ConfigPath
    """Output folder (created); every file a run writes goes under it."""
    data: DataConfig
    """Input data."""
    sample: SampleConfig = SampleConfig()
    """Row filters, each counted in the manifest."""
    model: ModelConfig | None = None
    """The gravity model of ``gravity fit``."""
    compare: list[ModelConfig] = Field(default_factory=list)
    """More models shown beside ``model`` in the regression table (e.g. the OLS baseline)."""
    seed: int = Field(20261125, ge=0, lt=2**63)
    """Seed of every random step of the run (recorded in the manifest)."""
    relatedness: RelatednessConfig | None = None
    """Product relatedness and complexity (``gravity relatedness``; needs a product panel)."""
    potential: PotentialOptions | None = None
    """Export potential and ranked opportunities (``gravity potential``)."""
    backtest: BacktestOptions | None = None
    """Out-of-time evaluation of the potential model (``gravity backtest``)."""
    counterfactual: CounterfactualOptions | None = None
    """General-equilibrium scenarios (``gravity counterfactual``): baseline year, sigma,
    reference country, how trade costs are estimated, and the cost changes."""
    report: ReportOptions | None = None
    """The policy report (``gravity report``); defaults apply when omitted."""
    batch: BatchOptions | None = None
    """Batch re-estimation over a grid (``gravity batch``)."""
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    def model_post_init(self, context: Any) -> None:
        """Remember the config file's folder: data paths are relative to it."""
        if isinstance(context, dict) and context.get("base_dir") is not None:
            self._base_dir = Path(context["base_dir"])

    @property
    def base_dir(self) -> Path:
        """Folder against which relative paths in the config are resolved."""
        return self._base_dir
