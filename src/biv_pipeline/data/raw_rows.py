"""The raw columns a table's model takes, turned into its features as the ingest turned them.

A declared table is encoded at ingest (:mod:`biv_pipeline.data.encoding`): ``categorical``
columns become one 0/1 column ``<col>_<value>`` per value seen, ``cyclic`` ones ``<col>_sin``
and ``<col>_cos``, ``ordinal`` text becomes its code, other columns stay numbers. A served
model takes the raw columns (the declared features, after ``rename`` and ``day_of_year``) and
encodes them the same way with :class:`RawRows`, which refuses, naming the column, what the
model never saw: a missing or an extra column, a category or an ordinal text not seen in
training, a value that is not a number, NaN or infinity. Integer columns are numbers too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from biv_pipeline.errors import RawRowError

Kind = Literal["number", "ordinal", "categorical", "cyclic"]
CYCLIC_SUFFIXES = ("_sin", "_cos")
SHOWN = 5  # values or columns named in a message


@dataclass(frozen=True)
class RawColumn:
    """One raw column: how it becomes features (``features``, in the model's order)."""

    name: str
    kind: Kind
    features: tuple[str, ...]
    categories: tuple[str, ...] = ()  # categorical: the value behind each feature
    codes: Mapping[str, float] = field(default_factory=dict)  # ordinal: text -> number
    period: float | None = None  # cyclic


def _category(value: Any) -> str:
    """A raw value as ``pd.get_dummies`` names it (``3`` and ``3.0`` both read ``3``)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _listed(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


@dataclass(frozen=True)
class RawRows:
    """The raw columns of a table's model, in order, and how each becomes its features."""

    columns: tuple[RawColumn, ...]

    @property
    def names(self) -> list[str]:
        """The raw column names, in order."""
        return [column.name for column in self.columns]

    @property
    def features(self) -> list[str]:
        """The encoded feature names the model's predictor takes, in order."""
        return [name for column in self.columns for name in column.features]

    @classmethod
    def of_table(cls, source: Mapping[str, Any] | None, features: Sequence[str]) -> RawRows:
        """The raw columns behind the encoded ``features`` (in training order) of a table
        declared as ``source`` (its ``describe()``; None: a built-in table of numbers)."""
        source = source or {}
        categorical = list(source.get("categorical") or [])
        cyclic = dict(source.get("cyclic") or {})
        ordinal = dict(source.get("ordinal") or {})
        declared = set(source.get("features") or ())  # never a category's column
        columns: list[RawColumn] = []
        rest = list(features)
        while rest:
            name = rest[0]
            base = next((c for c in cyclic if name == f"{c}{CYCLIC_SUFFIXES[0]}"), None)
            if base is not None and rest[1:2] == [f"{base}{CYCLIC_SUFFIXES[1]}"]:
                columns.append(RawColumn(base, "cyclic", tuple(rest[:2]), period=cyclic[base]))
                rest = rest[2:]
                continue
            prefixed = name not in declared
            base = next((c for c in categorical if prefixed and name.startswith(f"{c}_")), None)
            if base is not None:
                end = next(
                    (
                        i
                        for i, n in enumerate(rest)
                        if not n.startswith(f"{base}_") or n in declared
                    ),
                    None,
                )
                block = rest[:end]
                values = tuple(n[len(base) + 1 :] for n in block)
                columns.append(RawColumn(base, "categorical", tuple(block), categories=values))
                rest = rest[len(block) :]
                continue
            kind: Kind = "ordinal" if name in ordinal else "number"
            columns.append(RawColumn(name, kind, (name,), codes=dict(ordinal.get(name) or {})))
            rest = rest[1:]
        return cls(tuple(columns))

    def check_columns(self, rows: pd.DataFrame) -> None:
        """Refuse rows whose columns are not exactly the model's (in any order)."""
        names = self.names
        missing = [name for name in names if name not in rows.columns]
        extra = [str(name) for name in rows.columns if name not in names]
        if missing or extra:
            problems = [f"missing {_listed(missing)}"] if missing else []
            problems += [f"unknown {_listed(extra)}"] if extra else []
            raise RawRowError(
                f"the rows' columns do not match the model's: {'; '.join(problems)} (it takes "
                f"{', '.join(names)})"
            )

    def encode(self, rows: pd.DataFrame) -> np.ndarray:
        """The features (B, F) of raw ``rows``, float64, in the model's order."""
        self.check_columns(rows)
        parts = [_encode(column, rows[column.name]) for column in self.columns]
        if not parts:
            return np.zeros((len(rows), 0))
        return np.column_stack(parts).astype(np.float64)

    def decode(self, features: pd.DataFrame) -> pd.DataFrame:
        """Raw rows (categories, hours, codes) from features in raw units: the inverse of
        :meth:`encode`, for example rows."""
        raw: dict[str, Any] = {}
        for column in self.columns:
            block = features[list(column.features)].to_numpy(dtype=float)
            if column.kind == "categorical":
                values = [column.categories[i] for i in block.argmax(axis=1)]
                numeric = all(v.lstrip("-").isdigit() for v in column.categories)
                raw[column.name] = [int(v) for v in values] if numeric else values
            elif column.kind == "cyclic":
                angle = np.arctan2(block[:, 0], block[:, 1]) % (2 * math.pi)
                raw[column.name] = np.round(angle / (2 * math.pi) * float(column.period), 9)
            else:
                raw[column.name] = block[:, 0]
        return pd.DataFrame(raw, index=features.index)


def _encode(column: RawColumn, values: pd.Series) -> np.ndarray:
    """The features of one raw column, (B, len(column.features))."""
    if column.kind == "categorical":
        seen = values.map(_category)
        unknown = [v for v in values[~seen.isin(column.categories)].unique()]
        if unknown:
            raise RawRowError(
                f"column {column.name!r} holds {_listed(unknown)}, not seen in training "
                f"(known: {_listed(list(column.categories))})"
            )
        return (seen.to_numpy()[:, None] == np.asarray(column.categories)[None, :]).astype(float)
    if column.kind == "ordinal":
        return _ordinal(column, values)[:, None]
    numbers = _numbers(column.name, values)
    if column.kind == "cyclic":
        angle = 2 * math.pi * numbers / float(column.period)
        return np.column_stack([np.sin(angle), np.cos(angle)])
    return numbers[:, None]


def _ordinal(column: RawColumn, values: pd.Series) -> np.ndarray:
    """An ordinal column's codes: its texts mapped, or the codes themselves (as at ingest)."""
    codes = {str(text): float(code) for text, code in column.codes.items()}
    known = set(codes.values())

    def code(value: Any) -> float | None:
        if isinstance(value, str) and value in codes:
            return codes[value]
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        return float(number) if pd.notna(number) and float(number) in known else None

    mapped = values.map(code)
    unknown = list(values[mapped.isna() & values.notna()].unique())
    if unknown:
        raise RawRowError(
            f"column {column.name!r} holds {_listed(unknown)}, not seen in training (known: "
            f"{_listed(list(codes))} or their codes {_listed(sorted(known))})"
        )
    return _numbers(column.name, mapped)


def _numbers(name: str, values: pd.Series) -> np.ndarray:
    """The column as float64; refuse text, NaN (a missing value) and infinity."""
    numbers = pd.to_numeric(values, errors="coerce")
    text = values[numbers.isna() & values.notna()]
    if len(text):
        raise RawRowError(f"column {name!r} holds {_listed(list(text.unique()))}, not a number")
    array = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(array)
    if bad.any():
        nan = np.isnan(array[bad])
        what = "missing values (NaN)" if nan.all() else "infinite values"
        what = "NaN and infinite values" if nan.any() and not nan.all() else what
        rows = np.flatnonzero(bad)
        raise RawRowError(f"column {name!r} holds {what}, at rows {_listed(list(rows))}")
    return array
