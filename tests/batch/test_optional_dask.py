"""The dask backend's package is an optional extra: without it, one line naming the extra."""

from __future__ import annotations

import sys

import pytest

from gravity.batch import runner
from gravity.exceptions import ConfigError


def test_missing_distributed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(ConfigError, match=r"pip install 'gravity\[dask\]'"):
        runner.distributed_module()


def test_importing_the_runner_does_not_import_distributed() -> None:
    # a fresh interpreter: this test session may have imported distributed elsewhere
    import subprocess

    code = "import sys, gravity.batch.runner; print('distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
