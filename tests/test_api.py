"""The public API (``import gravity as gv``): its doctests run, the README example runs, and the
functions return the same numbers as the library paths they wrap.

References: the estimators' own tests (statsmodels dummies, R fixest) check the numbers; here the
API must reproduce :func:`gravity.estimation.spec.fit` exactly (same code path, so rtol 0).
"""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gravity as gv
import gravity.api
from gravity.estimation.spec import ModelSpec, fit
from gravity.exceptions import ConfigError, OptionsError
from gravity.panel.synthetic import SyntheticWorldOptions, generate_world

README = Path(__file__).resolve().parents[1] / "README.md"


def test_doctests_of_the_api_pass() -> None:
    result = doctest.testmod(gravity.api, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
    # every public function has a runnable example (a silent doctest run would prove nothing)
    assert result.attempted >= 30
    for name in gravity.api.__all__:
        doc = getattr(gravity.api, name).__doc__ or ""
        assert "Examples\n    --------\n    >>> " in doc, f"gv.{name} has no example"


def test_lazy_package_lists_the_same_functions_as_the_api() -> None:
    # gravity/__init__.py repeats the API's names (to load it lazily); keep the copies in step
    assert gravity._API == set(gravity.api.__all__)
    assert set(gravity.api.__all__) <= set(gravity.__all__)


def test_readme_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "import gravity as gv" in b)
    namespace: dict[str, object] = {}
    exec(compile(example, str(README), "exec"), namespace)
    assert list(namespace["checked"].columns[:2]) == ["target", "model"]  # type: ignore[attr-defined]


def test_api_is_the_spec_path() -> None:
    world = generate_world(SyntheticWorldOptions(n_countries=10, n_products=2, n_years=4))
    flows = world.aggregate_trade().merge(world.pairs, on=["exporter", "importer", "year"])
    formula = "value ~ log(dist) + rta | exporter^year + importer^year"
    got = gv.ppml(formula, flows, vcov="iid", solver={"tol": 1e-10})
    spec = ModelSpec(formula=formula, vcov="iid", solver={"tol": 1e-10})  # type: ignore[arg-type]
    want = fit(spec, flows)
    np.testing.assert_array_equal(got.coef, want.coef)
    np.testing.assert_array_equal(got.se, want.se)


def test_api_errors_are_gravity_errors_naming_the_key() -> None:
    with pytest.raises(OptionsError, match=r"ppml\.solvr: Extra inputs are not permitted"):
        gv.ppml("value ~ x", None, solvr={})  # type: ignore[arg-type]
    with pytest.raises(OptionsError, match=r"options\.horizon: Input should be less than"):
        gv.potential(None, {"horizon": 31})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="exactly one of 'trade'"):
        gv.build_panel()
    assert issubclass(OptionsError, gv.GravityError)


def test_importing_gravity_does_not_load_the_stages() -> None:
    # batch workers and `gravity --help` import gravity.exceptions; the API loads on first use
    code = (
        "import sys, gravity, gravity.exceptions; "
        "assert 'gravity.api' not in sys.modules and 'numba' not in sys.modules; "
        "gravity.ppml; assert 'gravity.api' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=README.parent)
