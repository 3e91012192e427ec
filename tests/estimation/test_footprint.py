"""What a fit holds and loads: fixed-effect codes stored once, and no module a fit does not run.

Peak memory is measured in ``benchmarks/run.py`` against R fixest; these tests keep the pieces
of it that the code controls from coming back (an int64 copy of the codes beside the kernels'
int32 one, eager imports of scipy.sparse, scikit-learn or joblib on the way to a fit).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.demean import demean
from gravity.estimation.fixed_effects import FixedEffects

ROOT = Path(__file__).resolve().parents[2]


def _frame(seed: int = 4, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "exporter": rng.choice(["CHN", "DEU", "FRA", "USA", "BRA"], n),
            "year": rng.integers(2000, 2006, n),
            "importer": rng.integers(0, 40, n),
            "x": rng.normal(size=n),
        }
    )


def test_codes_are_the_kernels_int32_array_and_equal_pandas_factorize() -> None:
    frame = _frame()
    fe = FixedEffects.from_frame(frame, [["exporter", "year"], ["importer"]])
    assert fe.kernel_codes.dtype == np.int32 and fe.kernel_codes.flags.c_contiguous
    for q, code in enumerate(fe.codes):
        # each dimension's codes are a row of the kernels' array, not a second copy
        assert np.shares_memory(code, fe.kernel_codes)
        np.testing.assert_array_equal(code, fe.kernel_codes[q])
    # reference: pandas' own sorted factorisation of the (interacted) columns
    pair = frame["exporter"] + "^" + frame["year"].astype(str)
    np.testing.assert_array_equal(fe.codes[0], pd.factorize(pair, sort=True)[0])
    np.testing.assert_array_equal(fe.codes[1], pd.factorize(frame["importer"], sort=True)[0])
    assert list(fe.levels[0]) == sorted(pair.unique())


def test_a_subset_is_recoded_densely_into_one_array() -> None:
    frame = _frame()
    fe = FixedEffects.from_frame(frame, [["exporter", "year"], ["importer"]])
    keep = (frame["importer"] % 3 != 0).to_numpy() & (frame["exporter"] != "BRA").to_numpy()
    sub = fe.subset(keep)
    assert all(np.shares_memory(c, sub.kernel_codes) for c in sub.codes)
    pair = frame["exporter"] + "^" + frame["year"].astype(str)
    for q, column in enumerate([pair, frame["importer"]]):
        # reference: factorising the kept rows afresh gives the same codes and labels
        want, labels = pd.factorize(column[keep], sort=True)
        np.testing.assert_array_equal(sub.codes[q], want)
        assert list(sub.levels[q]) == [str(v) for v in labels]


def test_demeaning_reads_the_same_codes_as_an_int64_encoding() -> None:
    frame = _frame(n=4000)
    fe = FixedEffects.from_frame(frame, [["exporter", "year"], ["importer"]])
    wide = FixedEffects(fe.names, tuple(c.astype(np.int64) for c in fe.codes), fe.levels)
    x = frame["x"].to_numpy()
    w = np.linspace(0.5, 2.0, x.size)
    # the same arithmetic on the same values: identical to the bit, not just close
    np.testing.assert_array_equal(demean(x, fe, w).residuals, demean(x, wide, w).residuals)


def _loaded(statement: str, modules: list[str]) -> list[str]:
    found = f"[m for m in {json.dumps(modules)} if m in sys.modules]"
    code = f"import json, sys; {statement}; print(json.dumps({found}))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return list(json.loads(out.stdout))


def test_the_estimator_and_the_api_load_no_module_a_fit_does_not_run() -> None:
    # scipy.sparse: only the ReLU check, the Schur preconditioner and fixed-effect recovery
    assert _loaded("import gravity.estimation.ppml", ["scipy.sparse", "sklearn", "joblib"]) == []
    # gv.ppml loads gravity.api: the forecast (scikit-learn) and potential (joblib) stages wait
    assert _loaded("import gravity.api", ["sklearn", "joblib"]) == []


def test_irls_runs_on_one_blas_thread_unless_there_are_many_regressors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from gravity.estimation import ppml as ppml_module

    seen: list[int] = []
    original = ppml_module.fit_poisson

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))
        return original(*args, **kwargs)

    monkeypatch.setattr(ppml_module, "fit_poisson", spy)
    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame({f"x{j}": rng.normal(size=n) for j in range(16)})
    frame["g"] = rng.integers(0, 20, n)
    frame["y"] = rng.poisson(np.exp(0.1 * frame["x0"]))
    opts = {"separation": {"regressor": False}}
    with threadpool_limits(limits=2, user_api="blas"):
        ppml_module.Ppml("y ~ x0 + x1 | g", frame, options=opts).fit()
        wide = " + ".join(f"x{j}" for j in range(ppml_module.BLAS_THREADS_MIN_REGRESSORS))
        ppml_module.Ppml(f"y ~ {wide} | g", frame, options=opts).fit()
    assert seen == [1, 2]
