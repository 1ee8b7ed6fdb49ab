"""How a declaration meets a file's columns: the declared layout (renames, dates turned into
days of the year) applied to a frame, the feature columns it names, and the check that every
column the declaration names is there."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from biv_pipeline.data.declared_noise import with_repeats_label
from biv_pipeline.data.table_declaration import TableDeclaration
from biv_pipeline.errors import ParameterError


def _require(
    table: TableDeclaration,
    key: str,
    columns: Sequence[str],
    frame: pd.DataFrame,
    source: str = "the files",
) -> None:
    """Raise naming ``source`` and its columns when ``frame`` lacks one of ``columns``."""
    absent = [column for column in columns if column not in frame]
    if absent:
        raise ParameterError(
            f"datasets.{table.name}.{key} names columns {absent} that {source} does not have; "
            f"its columns: {', '.join(map(str, frame.columns))}"
        )


def apply_layout(table: TableDeclaration, frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """``frame`` with the declared renames applied, dates turned into days of the year and, for
    a ``repeats`` table, the label made from the measurements."""
    frame = frame.rename(columns={k: v for k, v in table.rename.items() if k in frame})
    for date, target in table.day_of_year.items():
        if date in frame:
            try:
                frame[target] = pd.to_datetime(frame[date]).dt.day_of_year
            except ValueError as error:
                raise ParameterError(
                    f"datasets.{table.name}.day_of_year: column {date!r} of {source} holds a "
                    f"value that is not a date ({' '.join(str(error).split())})"
                ) from error
            frame = frame.drop(columns=date)
    return with_repeats_label(table, frame)


def feature_names(table: TableDeclaration, frame: pd.DataFrame) -> list[str]:
    """The declared features, or every column but the label, the dropped ones and those that
    declare the label noise."""
    if table.features:
        return list(table.features)
    never = {table.label, *table.drop, *table.noise_columns()}
    return [c for c in frame if c not in never]


def check_columns(table: TableDeclaration, frame: pd.DataFrame, source: str = "the files") -> None:
    """Raise when ``frame`` (after ``apply_layout``) lacks a column the declaration names."""
    for key in ("std", "variance", "repeats", "clean_label"):
        columns = getattr(table, key)
        if columns is not None:
            _require(table, key, [columns] if isinstance(columns, str) else columns, frame, source)
    _require(table, "label", [table.label], frame, source)
    _require(table, "drop", table.drop, frame, source)
    features = feature_names(table, frame)
    _require(table, "features", features, frame, source)
    for key in ("categorical", "cyclic", "ordinal"):
        _require(table, key, list(getattr(table, key)), frame[features], source)
