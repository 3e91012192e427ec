"""``backtest/summary.md`` prints counts as integers (hardening issue, section 7)."""

from __future__ import annotations

import pandas as pd

from gravity.potential.backtest import _markdown


def test_counts_are_whole_numbers_and_rates_keep_four_decimals() -> None:
    table = pd.DataFrame(
        {"n": [1234.0, 5_322_228.5], "roc_auc": [0.81234, 0.5]}, index=["gravity", "persistence"]
    )
    text = _markdown(table)
    assert "| gravity | 1,234 | 0.8123 |" in text
    assert "| persistence | 5,322,228 | 0.5000 |" in text  # mean over splits rounded (half-even)
    assert "1234.0000" not in text
