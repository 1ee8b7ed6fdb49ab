"""A read table's raw columns turned into numeric features and a numeric label, as declared:
``ordinal`` (text -> number), ``categorical`` (one-hot, one 0/1 column ``<col>_<value>`` per
value present), ``cyclic`` (``<col>_sin``, ``<col>_cos`` of ``2 pi x / period``), other
columns as numbers. Rows with a missing label are dropped; a non-numeric label, a label that
is the same in every row, and a non-numeric or missing feature stop with the column's name."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from biv_pipeline.data.declared_noise import declared_columns
from biv_pipeline.data.table_declaration import TableDeclaration
from biv_pipeline.data.table_layout import apply_layout, check_columns, feature_names
from biv_pipeline.errors import MissingDataError, ParameterError

SHOWN_VALUES = 5


def _ordinal(table: TableDeclaration, column: str, values: pd.Series) -> pd.Series:
    """Text -> number with the declared codes; a column holding only the codes is kept."""
    codes = table.ordinal[column]
    if pd.api.types.is_numeric_dtype(values) and values.isin(list(codes.values())).all():
        return values.astype(float)
    mapped = values.astype(str).map(codes)
    unknown = values[mapped.isna()].unique()[:SHOWN_VALUES]
    if len(unknown):
        raise ParameterError(
            f"datasets.{table.name}.ordinal.{column} has no code for {list(unknown)}; "
            f"known: {', '.join(map(str, codes))}"
        )
    return mapped.astype(float)


def encode_table(
    table: TableDeclaration, frame: pd.DataFrame, source: str = "the files"
) -> pd.DataFrame:
    """Numeric features and the label (column ``table.label``) from the raw columns, and the
    label's declared noise (``declared_noise``).

    Rows with a missing label are dropped; ``attrs`` counts them (``rows_missing_label``), and
    the other rows keep their index in ``frame`` (their position in the files read).
    A label that is the same in every row stops (nothing to learn, no spread to standardise
    by). ``source`` names where ``frame`` came from, in the messages.
    """
    frame = apply_layout(table, frame, source)
    check_columns(table, frame, source)
    features = feature_names(table, frame)
    label = pd.to_numeric(frame[table.label], errors="coerce")
    bad = frame[table.label][label.isna() & frame[table.label].notna()].unique()
    if len(bad):
        raise ParameterError(
            f"datasets.{table.name}.label column {table.label!r} holds non-numbers "
            f"{list(bad[:SHOWN_VALUES])}"
        )
    keep = label.notna().to_numpy()
    # the index stays the row's position in the files: lineage survives the drop
    rows, label = frame.loc[keep, list(features)], label[keep]
    check_label_varies(table, label, source)
    columns: dict[str, pd.Series] = {}
    for column in features:
        values = rows[column]
        if column in table.ordinal:
            values = _ordinal(table, column, values)
        if column in table.categorical:
            dummies = pd.get_dummies(values, prefix=column, prefix_sep="_", dtype=float)
            columns.update({str(name): dummies[name] for name in dummies})
            continue
        if not pd.api.types.is_numeric_dtype(values):
            raise ParameterError(
                f"datasets.{table.name}: column {column!r} is not numeric (e.g. "
                f"{values.iloc[0]!r}); declare it under categorical or ordinal, or drop it"
            )
        if values.isna().any():
            raise ParameterError(
                f"datasets.{table.name}: column {column!r} has {int(values.isna().sum())} "
                "missing values; fill them in the file or drop the column"
            )
        if column in table.cyclic:
            angle = 2 * math.pi * values.astype(float) / table.cyclic[column]
            columns[f"{column}_sin"], columns[f"{column}_cos"] = np.sin(angle), np.cos(angle)
        else:
            columns[column] = values.astype(float)
    encoded = pd.DataFrame(columns)
    encoded[table.label] = label.to_numpy(dtype=float)
    for name, values in declared_columns(table, frame.loc[keep]).items():
        if name in encoded:
            raise ParameterError(
                f"datasets.{table.name}: columns {[name]} have names this project reserves; "
                f"rename them (datasets.{table.name}.rename) or drop them"
            )
        encoded[name] = values  # the label's declared noise (raw units), never a feature
    encoded.attrs = {"rows_read": len(frame), "rows_missing_label": int((~keep).sum())}
    return encoded


def check_label_varies(table: TableDeclaration, label: pd.Series, source: str) -> None:
    """Raise when no row has a label, or every row has the same one."""
    if label.empty:
        raise MissingDataError(
            f"datasets.{table.name}: every row of {source} has a missing label {table.label!r}"
        )
    if label.nunique() == 1:
        raise ParameterError(
            f"datasets.{table.name}: the label column {table.label!r} holds {label.iloc[0]:g} "
            f"in all {len(label)} rows of {source}; a constant label leaves nothing to learn "
            "(and no spread to standardise by)"
        )
