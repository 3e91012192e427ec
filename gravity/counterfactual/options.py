"""Options of a general-equilibrium counterfactual: the ``counterfactual:`` config section.

The same classes validate a YAML section and a Python call (:func:`gravity.counterfactual.run`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gravity._base import StrictModel

# The book's stopping rule (Yotov et al. 2016, Chapter 2 do-files): iterate until the change in
# factory-gate price steps between two iterations is below 0.01
BOOK_TOLERANCE = 0.01
# The direct fixed point contracts by about 1/(sigma - 1) per step; 1e-10 costs a dozen steps
FIXED_POINT_TOLERANCE = 1e-10


class Scenario(StrictModel):
    """One counterfactual change of trade costs.

    ``set`` gives cost regressors a new value, ``scale`` multiplies them and ``cost_change_pct``
    changes iceberg trade costs directly, on the directed pairs in ``pairs``, on every pair of
    distinct members of each group in ``groups``, or on every international pair when neither is
    given (a change common to all pairs, domestic ones included, has no effect in general
    equilibrium).
    """

    name: str = Field(min_length=1)
    """Label of the scenario in the outputs."""
    set: dict[str, float] = Field(default_factory=dict)
    """Cost regressor -> new value, e.g. ``{rta: 0}`` or ``{intl_border: 0}``."""
    scale: dict[str, float] = Field(default_factory=dict)
    """Cost regressor -> factor, e.g. ``{dist: 0.5}`` halves distance."""
    cost_change_pct: float | None = Field(default=None, gt=-100)
    """Change of iceberg trade costs in percent, e.g. ``-10`` for costs 10% lower (the change
    in ``log t`` is ``(1 - sigma) * log(1 + pct / 100)``); combines with ``set``/``scale``."""
    pairs: list[tuple[str, str]] | None = None
    """Directed ``[exporter, importer]`` pairs that change."""
    groups: list[list[str]] | None = None
    """Country groups: every directed pair of two distinct members changes."""

    @model_validator(mode="after")
    def _something_changes(self) -> Scenario:
        if not self.set and not self.scale and self.cost_change_pct is None:
            raise ValueError(
                f"scenario {self.name!r} changes nothing: give 'set', 'scale' or 'cost_change_pct'"
            )
        both = sorted(set(self.set) & set(self.scale))
        if both:
            raise ValueError(f"scenario {self.name!r} both sets and scales {both}; choose one")
        if self.pairs is not None and self.groups is not None:
            raise ValueError(f"scenario {self.name!r}: give 'pairs' or 'groups', not both")
        return self


class CostOptions(StrictModel):
    """How bilateral trade costs are estimated.

    ``regressors``: PPML in the baseline year with exporter and importer effects; the costs are
    the fitted regressor terms (the book's Application 1). ``pair_effects``: PPML on a panel with
    exporter-year, importer-year and pair effects; the costs are the pair effects (domestic pairs
    normalised to zero) plus the policy terms, and pairs without any trade get costs predicted
    by a second PPML of the pair effects on ``fill_covariates`` (Anderson & Yotov 2016; the
    book's Application 2).
    """

    method: Literal["regressors", "pair_effects"] = "regressors"
    """Costs from regressor terms only, or from pair fixed effects plus policy terms."""
    regressors: list[str] = Field(min_length=1)
    """Formula terms of the cost function, e.g. ``[log(dist), cntg, intl_border]`` or ``[rta]``."""
    years: list[int] | None = None
    """``pair_effects``: panel years of the first stage (all years when omitted)."""
    pair_effects: Literal["symmetric", "directional"] = "symmetric"
    """``pair_effects``: one effect per unordered pair (as the book) or per directed pair."""
    fill_covariates: list[str] = Field(
        default_factory=lambda: ["log(dist)", "cntg", "lang", "clny"]
    )
    """``pair_effects``: terms of the second stage that fills costs of pairs without trade."""


class CounterfactualOptions(StrictModel):
    """A general-equilibrium counterfactual (Yotov, Piermartini, Monteiro & Larch 2016, ch. 2).

    Examples
    --------
    >>> CounterfactualOptions(
    ...     baseline_year=1994, sigma=7, reference="DEU",
    ...     costs={"method": "pair_effects", "regressors": ["rta"]},
    ...     scenarios=[{"name": "no_nafta", "set": {"rta": 0},
    ...                 "groups": [["CAN", "MEX", "USA"]]}],
    ... )  # doctest: +SKIP
    """

    baseline_year: int
    """Year whose flows, output and expenditure form the baseline equilibrium."""
    sigma: float = Field(gt=1)
    """Elasticity of substitution between varieties (must exceed 1)."""
    reference: str = Field(min_length=1)
    """Country whose inward multilateral resistance is the numeraire (normalised to one)."""
    scenarios: list[Scenario] = Field(min_length=1)
    """The counterfactual changes, each solved against the same baseline."""
    costs: CostOptions = CostOptions(regressors=["log(dist)", "cntg", "intl_border"])
    """How trade costs are estimated."""
    outcome: str = "value"
    """Column with the value of flows (domestic flows included); ``value`` in a gravity panel."""
    exporter: str = "exporter"
    """Column with the exporter code."""
    importer: str = "importer"
    """Column with the importer code."""
    year: str = "year"
    """Column with the year."""
    method: Literal["fixed_point", "iterative"] = "fixed_point"
    """Full-endowment solver. ``fixed_point`` iterates factory-gate prices to the equilibrium
    (with trade imbalances, expenditure keeps its baseline ratio to output, rescaled so world
    spending equals world output). ``iterative`` is the book's procedure (re-estimate the
    constrained PPML on flows scaled by the last change in prices and resistances) with its
    stopping rule: it reproduces the published tables but stops near, not at, an equilibrium;
    run to tighter tolerances it converges slowly, to a slightly different point when trade is
    unbalanced (0.3% apart in prices in the book's Application 1), or not at all (Application
    2)."""
    tolerance: float | None = Field(default=None, gt=0)
    """``fixed_point``: largest change of any price between iterations (default 1e-10).
    ``iterative``: the book's bound on the standard deviation and maximum of the change in price
    steps (default 0.01, as the do-files)."""
    max_iterations: int = Field(default=1000, ge=1)
    """Iterations of the full-endowment solver before a ConvergenceWarning."""

    @property
    def solver_tolerance(self) -> float:
        """The tolerance in force: ``tolerance`` or the method's default."""
        if self.tolerance is not None:
            return self.tolerance
        return BOOK_TOLERANCE if self.method == "iterative" else FIXED_POINT_TOLERANCE

    @model_validator(mode="after")
    def _unique_names(self) -> CounterfactualOptions:
        names = [s.name for s in self.scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scenario names must be unique; repeated: {dupes}")
        return self
