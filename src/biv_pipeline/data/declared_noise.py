"""A table's declared label noise: each label's variance, from one of

- ``std: COLUMN``: the label's standard deviation (raw label units), variance = std^2;
- ``variance: COLUMN``: the label's variance (raw label units^2);
- ``repeats: [COLUMN, ...]``: k measurements of the label per row; the label is their mean
  and its variance that of the mean, s^2 / k, with s^2 their sample variance (ddof 1); a row
  with fewer than two measurements has no label (it is dropped and counted);

and an optional ``clean_label: COLUMN`` known for evaluation only. The columns become the
splits' ``DECLARED`` columns (``biv_pipeline.data.schema``); none is ever a feature. The noise
pipeline passes them through as the training labels (``noise.source``: ``resolve_source``,
``declared_labels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from biv_pipeline.data.schema import DECLARED
from biv_pipeline.data.table_declaration import MIN_REPEATS, TableDeclaration
from biv_pipeline.errors import ParameterError
from biv_pipeline.noise import (
    NoiseConfig,
    NoisyLabels,
    add_unrecorded_noise,
    corrupt_labels,
    disturb,
)

DECLARED_SOURCES = ("declared", "declared_plus_synthetic")


@dataclass(frozen=True)
class DeclaredProblem:
    """A bad declared value: the setting and column, the rows, what is wrong with them, and
    whether to show their values (not for missing ones)."""

    key: str
    column: str
    rows: pd.Index
    what: str
    show_values: bool = True


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float)


def with_repeats_label(table: TableDeclaration, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the label of a ``repeats`` table: the mean of a row's measurements, or
    missing with fewer than two (a table without repeats, or lacking a column, is unchanged:
    the columns are checked afterwards)."""
    if table.repeats is None or not set(table.repeats) <= set(frame.columns):
        return frame
    numbers = frame[list(table.repeats)].apply(_numbers)
    count = numbers.notna().sum(axis=1)
    return frame.assign(**{table.label: numbers.mean(axis=1).where(count >= MIN_REPEATS)})


def first_problem(
    table: TableDeclaration, frame: pd.DataFrame, unlabelled: pd.Index
) -> DeclaredProblem | None:
    """The first bad declared value of ``frame`` (rows ``unlabelled`` are dropped, so only a
    repeats value is checked there): a repeats value that is not a finite number; a std or
    variance that is missing, not a finite number or negative; a missing or non-finite clean
    label."""
    for column in table.repeats or ():
        values = frame[column]
        bad = frame.index[values.notna() & ~np.isfinite(_numbers(values))]
        if len(bad):
            return DeclaredProblem("repeats", column, bad, "is not a finite number")
    rows = frame.drop(index=unlabelled)
    checks = [(key, getattr(table, key)) for key in ("std", "variance", "clean_label")]
    for key, column in checks:
        if column is None:
            continue
        values = rows[column]
        numbers = _numbers(values)
        missing = rows.index[values.isna()]
        if len(missing):
            return DeclaredProblem(key, column, missing, "is missing", show_values=False)
        bad = rows.index[~np.isfinite(numbers)]
        if len(bad):
            return DeclaredProblem(key, column, bad, "is not a finite number")
        negative = rows.index[numbers < 0]
        if key != "clean_label" and len(negative):
            return DeclaredProblem(key, column, negative, "is negative")
    return None


def declared_columns(table: TableDeclaration, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ``DECLARED`` columns of the labelled ``rows`` (checked by ``first_problem``), in
    raw label units: the label's variance, and the clean label when declared."""
    columns: dict[str, np.ndarray] = {}
    if table.std is not None:
        columns[DECLARED.variance] = _numbers(rows[table.std]).to_numpy() ** 2
    elif table.variance is not None:
        columns[DECLARED.variance] = _numbers(rows[table.variance]).to_numpy()
    elif table.repeats is not None:
        numbers = rows[list(table.repeats)].apply(_numbers)
        sample_variance = numbers.var(axis=1, ddof=1)
        columns[DECLARED.variance] = (sample_variance / numbers.notna().sum(axis=1)).to_numpy()
    if table.clean_label is not None:
        columns[DECLARED.clean] = _numbers(rows[table.clean_label]).to_numpy()
    return columns


def resolve_source(config: NoiseConfig, declares: bool, dataset: str) -> str:
    """Where the training labels' noise comes from: ``noise.source``, with ``auto`` read as
    ``declared`` for a dataset that declares its labels' variances, ``synthetic`` otherwise.

    Raises ParameterError for a declared source on a dataset that declares none.
    """
    if config.source == "auto":
        return "declared" if declares else "synthetic"
    if config.source in DECLARED_SOURCES and not declares:
        raise ParameterError(
            f"noise.source: {config.source} needs a dataset that declares its label variances "
            f"(std, variance or repeats under datasets.{dataset}); dataset {dataset} declares "
            "none (use noise.source: synthetic, or auto)"
        )
    return config.source


def declared_labels(
    y: np.ndarray,
    declared_variance: np.ndarray,
    config: NoiseConfig,
    variance_scale: float,
    rng: np.random.Generator,
    source: str,
) -> NoisyLabels:
    """Labels whose variances a table declares, in the learner's units.

    ``declared``: the labels as they are (plus ``noise.tau2``'s unrecorded noise), the
    declared variances (seen through ``noise.disturbance``); ``declared_plus_synthetic``:
    sampled noise added on top as ``corrupt_labels`` samples it, the variances (and the seen
    variances) adding.
    """
    if source == "declared":
        variance = declared_variance.astype(float)
        seen = disturb(variance, config.disturbance, rng)
        y_noisy = add_unrecorded_noise(y.astype(float), config.tau2, variance_scale, rng)
        return NoisyLabels(y_noisy.copy(), variance, seen, None)
    synthetic = corrupt_labels(y, config, variance_scale, rng)
    return NoisyLabels(
        synthetic.y_noisy,
        declared_variance + synthetic.variance,
        declared_variance + synthetic.variance_seen,
        synthetic.component,
    )
