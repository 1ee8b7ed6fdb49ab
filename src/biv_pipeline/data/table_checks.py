"""Checks of a read table's values that need the whole column: cells that look like a marker
of a missing value, feature columns that never change, and values whose scale would wreck
the standardisation (which divides by the training split's standard deviation).

The rules, chosen here and named in the messages (``table_reader`` adds the file lines):

- markers: the cells of a numeric column that are not numbers are at most
  ``MARKER_TOKENS`` distinct texts, none of them a number, and some text is repeated
  (``?``, ``NA``, ``-``); one stray ``abc`` is a typo, not a marker;
- overflow: the mean or the standard deviation of a label or feature column is not finite
  in float64 (a value near 1e308, or a few above 1e154);
- a spread dominated by a few rows: the most extreme ``FEW_ROWS_SHARE`` of the labels (at
  least one row), by squared distance from the mean, carry more than ``DOMINANT_SHARE`` of
  the label's variance (the message names the fewest of them that do). Wine's and Bike's
  most extreme 1% carry 9% and 11% (a log-normal label with sigma 1, 40-50%); one label of
  1e6 among Wine's carries 99.98%.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biv_pipeline.data.table_declaration import TableDeclaration
from biv_pipeline.data.table_layout import feature_names
from biv_pipeline.errors import ParameterError

logger = logging.getLogger(__name__)

MARKER_TOKENS = 3  # at most this many distinct texts in a column read as markers
FEW_ROWS_SHARE = 0.01  # "a few rows": the most extreme 1% of the rows (at least one)
DOMINANT_SHARE = 0.9  # refused when they carry more than this share of the label's variance


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


def warn_constant_features(
    table: TableDeclaration, layouts: list[pd.DataFrame], labelled: pd.Index
) -> None:
    """Warn about the feature columns of the files read (``layouts``, in order) that hold one
    value in every row with a label (``labelled``: positions in the files, in order)."""
    frame = pd.concat(layouts, ignore_index=True).loc[labelled]
    for column, value in constant_columns(frame[feature_names(table, layouts[0])]).items():
        logger.warning(
            "%s: feature column %r holds %s in all %d rows; it gives the model nothing to learn "
            "from (leave it out: datasets.%s.drop)",
            table.name,
            column,
            f"{value:g}" if isinstance(value, float) else repr(value),
            len(frame),
            table.name,
        )


@dataclass(frozen=True)
class ScaleProblem:
    """Why a column cannot be standardised, the rows that cause it (most extreme first), and
    what to do."""

    reason: str
    rows: pd.Index
    advice: str = "fix those values in the file"


def _extreme_rows(values: np.ndarray, index: pd.Index, count: int) -> pd.Index:
    """The ``count`` rows farthest from the median (finite whatever the values)."""
    distance = np.abs(values - np.median(values))
    return index[np.argsort(-distance, kind="stable")[:count]]


def scale_problem(values: pd.Series, label: bool) -> ScaleProblem | None:
    """Why standardising ``values`` (a numeric column) would fail, or None when it is usable:
    an overflow in its mean or standard deviation, or for a ``label`` a variance carried by a
    few rows (see the module docstring)."""
    x = values.to_numpy(dtype=np.float64)
    if len(x) < 2:  # a spread needs two values
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = x.mean(), x.std()
        squares = (x - mean) ** 2
    if not (np.isfinite(mean) and np.isfinite(std)):
        # the values whose square alone could overflow the sum of the squares
        limit = math.sqrt(np.finfo(np.float64).max / len(x))
        huge = int((np.abs(x - np.median(x)) > limit).sum())
        return ScaleProblem(
            "its standardisation overflows float64: its mean or standard deviation is not finite",
            _extreme_rows(x, values.index, max(huge, 1)),
        )
    few = max(1, math.ceil(FEW_ROWS_SHARE * len(x)))
    top = np.argsort(-squares, kind="stable")[:few]
    total = squares.sum()
    shares = np.cumsum(squares[top]) / total if total > 0 else np.zeros(len(top))
    if label and shares[-1] > DOMINANT_SHARE:
        needed = int(np.argmax(shares > DOMINANT_SHARE)) + 1  # the rows that make it so
        rows = f"{needed} rows carry" if needed > 1 else "1 row carries"
        return ScaleProblem(
            f"its spread is dominated by a few rows: {rows} "
            f"{shares[needed - 1]:.2%} of its variance (the rule: its most extreme "
            f"{FEW_ROWS_SHARE:.0%}, {few} row{'s' * (few > 1)} here, may carry at most "
            f"{DOMINANT_SHARE:.0%}), so standardising would squeeze every other label together",
            values.index[top[:needed]],
            "fix those values, or transform the label in the file (its logarithm, say)",
        )
    return None


def check_scales(
    table: TableDeclaration, encoded: pd.DataFrame, where: Callable[[pd.Index, pd.Series], str]
) -> None:
    """Raise naming the column, the rule and the rows (``where(rows, values)`` names their
    files and lines) when the label or a feature of ``encoded`` cannot be standardised."""
    numeric = [c for c in encoded if c != table.label and pd.api.types.is_numeric_dtype(encoded[c])]
    for column in [table.label, *numeric]:  # an image index's file names are no feature
        problem = scale_problem(encoded[column], label=column == table.label)
        if problem is None:
            continue
        what = f"the label column {column!r}" if column == table.label else f"column {column!r}"
        raise ParameterError(
            f"datasets.{table.name}: {what}: {problem.reason} "
            f"({where(problem.rows, encoded[column])}); {problem.advice}"
        )
