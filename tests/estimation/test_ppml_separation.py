"""PPML fits on ppmlhdfe's 18 separation cases: exactly the separated rows are dropped, and the
fit converges (the detector itself is tested in test_separation.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.ppml import Ppml
from gravity.exceptions import ConvergenceWarning
from tests.conftest import shared_file

CASES = [f"{i:02d}" for i in range(1, 19)]


@pytest.mark.parametrize("case", CASES)
def test_ppml_drops_exactly_the_separated_rows_and_converges(case: str) -> None:
    data = pd.read_csv(shared_file(f"ppmlhdfe_separation/{case}.csv"))
    xs = [c for c in data.columns if c.startswith("x")]
    ids = [c for c in data.columns if c.startswith("id")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", ConvergenceWarning)
        result = Ppml.from_arrays(
            data["y"].to_numpy(dtype=float),
            data[xs] if xs else None,
            data[ids] if ids else None,
        ).fit()
    kept = np.zeros(len(data), dtype=bool)
    kept[result.sample] = True
    np.testing.assert_array_equal(~kept, data["separated"].to_numpy() == 1)
    assert result.converged
    assert np.all(np.isfinite(result.coef.to_numpy()))
    assert np.all(np.abs(result.coef.to_numpy()) < 50)  # no coefficient running off to infinity
