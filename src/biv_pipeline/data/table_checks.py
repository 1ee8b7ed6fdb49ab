"""Checks of a read table's values that need the whole column: cells that look like a marker
of a missing value, and feature columns that never change.

The rules, chosen here and named in the messages (``table_reader`` adds the file lines):

- markers: the cells of a numeric column that are not numbers are at most
  ``MARKER_TOKENS`` distinct texts, none of them a number, and some text is repeated
  (``?``, ``NA``, ``-``); one stray ``abc`` is a typo, not a marker.
"""

from __future__ import annotations

import pandas as pd

MARKER_TOKENS = 3  # at most this many distinct texts in a column read as markers


def missing_markers(bad: pd.Series) -> list[str]:
    """The distinct texts of the non-numeric cells ``bad`` of a numeric column when they look
    like markers of a missing value (see the module docstring), else an empty list."""
    texts = bad.astype(str).str.strip()
    distinct = list(dict.fromkeys(texts))
    numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce")
    if len(distinct) <= MARKER_TOKENS and len(texts) > len(distinct) and numbers.isna().all():
        return distinct
    return []


def constant_columns(frame: pd.DataFrame) -> dict[str, object]:
    """The columns of ``frame`` that hold one value in every row, with that value."""
    return {
        str(column): frame[column].iloc[0]
        for column in frame
        if len(frame) > 1 and frame[column].nunique(dropna=False) == 1
    }
