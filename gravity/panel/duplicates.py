"""Rows that share a key: summed on request (``duplicates: sum``), with every merge counted.

Readers raise on duplicate keys by default (:func:`gravity.panel.readers._common.check_duplicates`).
Some tables legitimately split one flow over several rows (one per customs procedure, per
shipment, per sub-product that was recoded); with ``duplicates: sum`` their values are added up.
Other columns must agree within each group, else summing would silently pick one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gravity.exceptions import DataError

__all__ = ["sum_duplicates"]

FILE = "_file"
LINE = "_line"


def _place(frame: pd.DataFrame, position: int) -> str:
    if FILE in frame.columns and LINE in frame.columns:
        file = str(frame[FILE].iloc[position])
        unit = "line" if file.lower().endswith((".csv", ".txt", ".tsv", ".tab")) else "row"
        return f"{file}: {unit} {int(frame[LINE].iloc[position])}"
    return f"row {position + 1}"


def sum_duplicates(
    frame: pd.DataFrame,
    keys: Sequence[str],
    value_columns: Sequence[str] = ("value",),
) -> tuple[pd.DataFrame, int]:
    """Sum the ``value_columns`` of rows sharing the same ``keys``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; optional ``_file``/``_line`` columns locate rows in messages (the first row of
        each group keeps its own).
    keys : sequence of str
        Key columns (those absent from ``frame`` are ignored).
    value_columns : sequence of str
        Columns summed (NaN only when every value of the group is NaN).

    Returns
    -------
    frame : pandas.DataFrame
        One row per key, in the order of first appearance, index reset.
    merged : int
        Rows merged into another one (``len(frame) - len(result)``).

    Raises
    ------
    DataError
        If another column differs within a group: summing would have to pick one value.
    """
    present = [k for k in keys if k in frame.columns]
    if not present or len(frame) < 2 or not frame.duplicated(present).any():
        return frame.reset_index(drop=True), 0
    values = [v for v in value_columns if v in frame.columns]
    others = [c for c in frame.columns if c not in (*present, *values, FILE, LINE)]
    groups = frame.groupby(present, sort=False, dropna=False, observed=True)
    for column in others:
        varies = (groups[column].transform("nunique", dropna=False) > 1).to_numpy()
        if varies.any():
            pos = int(np.flatnonzero(varies)[0])
            raise DataError(
                f"{_place(frame, pos)}: rows with the same key ({', '.join(present)}) differ in "
                f"column {column!r}, so they cannot be summed (duplicates: sum); make the column "
                "agree, drop it from the file, or map it as a key"
            )
    first = groups.head(1).reset_index(drop=True)
    sums = groups[values].sum(min_count=1).reset_index(drop=True)
    for column in values:
        first[column] = sums[column].to_numpy()
    return first, len(frame) - len(first)
