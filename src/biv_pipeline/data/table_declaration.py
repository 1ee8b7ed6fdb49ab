"""Regression tables declared in YAML: a ``TableDeclaration`` and the checks of its values.

A declaration (one entry of the ``datasets`` parameter, ``kind: csv``) names the files under
``data_dir``, the label column and how to turn the other columns into numeric features:

- ``missing_values``: cell texts (or numbers) read as a missing value, besides empty cells;
- ``rename`` / ``day_of_year``: other layouts of the same table (a column called differently,
  a date instead of a day of the year); applied only when the file has the column;
- ``features`` (default: every column but the label and ``drop``), ``drop``;
- ``ordinal``: text -> number (a column that already holds exactly those numbers is kept);
- ``categorical``: one-hot, one 0/1 column ``<col>_<value>`` per value present;
- ``cyclic``: ``<col>_sin = sin(2 pi x / period)``, ``<col>_cos = cos(2 pi x / period)``;
- ``std``, ``variance`` or ``repeats`` (at most one), ``clean_label``: the label's declared
  noise (see ``declared_noise``); never features.

The values are checked here, when the declaration is read; the columns they name are checked
against each file when it is read (``table_layout``, ``table_reader``), and the columns are
encoded by ``encoding``. No code per table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from biv_pipeline.errors import ParameterError, closest_name

KIND = "csv"
NOISE_KEYS = ("std", "variance", "repeats")  # a table declares its label noise by one of these
REPEATS_LABEL = "mean of repeats"  # the label of a table that declares ``repeats``
MIN_REPEATS = 2  # a sample variance needs two measurements
DEFAULT_LR = 1e-2
DEFAULT_MODEL = "vanilla_ann"
SPLIT_PARTS = 2


def _names(key: str, value: Any) -> tuple[str, ...]:
    """A list of column names (a single name is accepted)."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise ParameterError(f"{key} must be a list of column names; got {value!r}")
    return tuple(value)


def _tokens(key: str, value: Any) -> tuple[str | int | float, ...]:
    """Cell values that mean "missing" (``?``, ``NA``, -999); a single one is accepted."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return (value,)
    if not isinstance(value, Sequence) or not all(
        isinstance(item, str | int | float) and not isinstance(item, bool) for item in value
    ):
        raise ParameterError(
            f"{key} must be a list of cell values such as ['?', 'NA']; got {value!r}"
        )
    return tuple(value)


def _mapping(key: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ParameterError(f"{key} must be a mapping; got {value!r}")
    return dict(value)


@dataclass(frozen=True)
class TableDeclaration:
    """One ``datasets.<name>`` block of ``kind: csv``, validated (see the module docstring)."""

    name: str
    files: tuple[str, ...]
    label: str
    separator: str = ","
    missing_values: tuple[str | int | float, ...] = ()
    features: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    cyclic: dict[str, float] = field(default_factory=dict)
    ordinal: dict[str, dict[str, float]] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    day_of_year: dict[str, str] = field(default_factory=dict)
    split: tuple[float, float] = (0.8, 0.2)
    lr: float = DEFAULT_LR
    model: str = DEFAULT_MODEL
    download: dict[str, Any] | None = None
    std: str | None = None
    variance: str | None = None
    repeats: tuple[str, ...] | None = None
    clean_label: str | None = None

    @property
    def declares_noise(self) -> bool:
        """Whether the table declares its labels' variances (``std``, ``variance``, ``repeats``)."""
        return any(getattr(self, key) is not None for key in NOISE_KEYS)

    def noise_columns(self) -> tuple[str, ...]:
        """The columns that declare the label noise: never features."""
        named = (self.std, self.variance, *(self.repeats or ()), self.clean_label)
        return tuple(column for column in named if column is not None)

    @classmethod
    def from_mapping(cls, name: str, block: Mapping[str, Any]) -> TableDeclaration:
        """Validate a YAML block; errors name the field (``datasets.<name>.<field>``)."""
        prefix = f"datasets.{name}"
        if not isinstance(block, Mapping):
            raise ParameterError(f"{prefix} must be a mapping of settings; got {block!r}")
        check_known_settings(
            prefix, block, {"kind", *(f for f in cls.__dataclass_fields__ if f != "name")}
        )
        if block.get("kind") != KIND:
            raise ParameterError(
                f"{prefix}.kind must be {KIND} (a table) or images (an index of image files); "
                f"got {block.get('kind')!r}"
            )
        values = {key: value for key, value in block.items() if key != "kind"}
        if values.get("repeats") is not None:
            _check_repeats(prefix, values)
            values["label"] = REPEATS_LABEL
        for required in ("files", "label"):
            if not values.get(required):
                raise ParameterError(f"{prefix}.{required} is required")
        declaration = cls(name=name, **_typed_values(prefix, values))
        declaration.check(prefix)
        return declaration

    def check(self, prefix: str) -> None:
        """Raise on values no table can satisfy (columns are checked when the file is read)."""
        if not isinstance(self.label, str):
            raise ParameterError(f"{prefix}.label must be a column name; got {self.label!r}")
        self._check_noise(prefix)
        for column, period in self.cyclic.items():
            if not (isinstance(period, int | float) and period > 0):
                raise ParameterError(
                    f"{prefix}.cyclic.{column} must be a period > 0; got {period!r}"
                )
        for column, codes in self.ordinal.items():
            if not isinstance(codes, Mapping) or not all(
                isinstance(v, int | float) for v in codes.values()
            ):
                raise ParameterError(
                    f"{prefix}.ordinal.{column} must map each text value to a number; got {codes!r}"
                )
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise ParameterError(f"{prefix}.lr must be a number > 0; got {self.lr!r}")
        self._check_split(prefix)
        if self.download is not None and set(self.download) != {"url", "sha256"}:
            raise ParameterError(
                f"{prefix}.download must have url and sha256 (file name -> hash); "
                f"got {self.download!r}"
            )

    def _check_noise(self, prefix: str) -> None:
        """At most one of std, variance and repeats; column names; never a feature."""
        declared = [key for key in NOISE_KEYS if getattr(self, key) is not None]
        if len(declared) > 1:
            raise ParameterError(
                f"{prefix} declares {' and '.join(declared)}; a table declares its label "
                "noise by one of std, variance and repeats"
            )
        for key in ("std", "variance", "clean_label"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, str) and value):
                raise ParameterError(f"{prefix}.{key} must be a column name; got {value!r}")
        if self.clean_label is not None and not declared:
            raise ParameterError(
                f"{prefix}.clean_label needs the label's noise declared (std, variance or "
                "repeats): without it the label column is taken as clean"
            )
        named = {
            column: key
            for key in (*NOISE_KEYS, "clean_label")
            for column in _as_tuple(getattr(self, key))
        }
        for column in (self.label, *(self.features or ())):
            if column in named:
                raise ParameterError(
                    f"{prefix}: column {column!r} is declared as {named[column]}, so it is "
                    f"never the label or a feature; take it out of "
                    f"{prefix}.{'label' if column == self.label else 'features'}"
                )

    def _check_split(self, prefix: str) -> None:
        counts = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in self.split)
        shares = all(isinstance(v, float) and 0 < v < 1 for v in self.split)
        if len(self.split) != SPLIT_PARTS or not (counts or (shares and sum(self.split) <= 1)):
            raise ParameterError(
                f"{prefix}.split must be [train, test] as row counts (integers >= 1) or as "
                f"shares (0 < train + test <= 1); got {list(self.split)!r}"
            )

    def default_split(self, n_rows: int) -> tuple[int, int]:
        """Train and test rows for a table of ``n_rows``: the counts, or the shares of it."""
        train, test = self.split
        if isinstance(train, int):
            return int(train), int(test)
        n_train = round(train * n_rows)
        return n_train, min(round(test * n_rows), n_rows - n_train)

    def describe(self) -> dict[str, Any]:
        """The declaration as plain JSON-ready values (saved with the data as provenance)."""
        described = asdict(self)
        described.pop("download")
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in described.items()
            # a table without declared noise is described as before these settings existed
            if not (key in (*NOISE_KEYS, "clean_label") and value is None)
        }


def _as_tuple(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _check_repeats(prefix: str, values: dict[str, Any]) -> None:
    """``repeats`` is a list of at least two column names and replaces ``label``."""
    if "label" in values:
        raise ParameterError(
            f"{prefix} declares both label and repeats; with repeats the label is the mean "
            "of the repeated measurements: leave label out"
        )
    repeats = _names(f"{prefix}.repeats", values["repeats"])
    if len(repeats) < MIN_REPEATS:
        raise ParameterError(
            f"{prefix}.repeats must name at least {MIN_REPEATS} columns (one measurement "
            f"each); got {list(repeats)!r}"
        )


def _typed_values(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    """A declaration's values with its lists of names, tokens and mappings checked."""
    values = dict(values)
    for key in ("files", "drop", "categorical", "repeats", "features"):
        if values.get(key) is not None:
            values[key] = _names(f"{prefix}.{key}", values[key])
    if "missing_values" in values:
        values["missing_values"] = _tokens(f"{prefix}.missing_values", values["missing_values"])
    for key in ("cyclic", "ordinal", "rename", "day_of_year"):
        if key in values:
            values[key] = _mapping(f"{prefix}.{key}", values[key])
    if "split" in values:
        values["split"] = tuple(values["split"] or ())
    return values


def check_known_settings(prefix: str, block: Mapping[str, Any], allowed: set[str]) -> None:
    """Raise naming the settings of a declaration that are not ``allowed`` ("did you mean")."""
    unknown = sorted(set(block) - allowed)
    if unknown:
        close = closest_name(unknown[0], sorted(allowed))
        hint = f" (did you mean {prefix}.{close}?)" if close else ""
        raise ParameterError(
            f"{prefix} has unknown settings {unknown}{hint}; allowed: {', '.join(sorted(allowed))}"
        )
