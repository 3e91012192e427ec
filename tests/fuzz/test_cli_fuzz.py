"""Fuzz the real CLI in-process with generated trade files and configs (see ``cases.py``).

CI runs a fixed, derandomized sample (about a minute); ``make fuzz`` runs a larger random one and
prints the count of each outcome.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from tests.fuzz.cases import BAD, Case, cases, run_case

CI_EXAMPLES = int(os.environ.get("GRAVITY_FUZZ_EXAMPLES", "150"))


@settings(
    max_examples=CI_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every CI run: a failure is a finding, never a flake
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_every_generated_case_is_ok_or_one_clean_error(case: Case) -> None:
    outcome, detail = run_case(case)
    assert outcome not in BAD, f"{outcome}: {detail}\n{case}"
