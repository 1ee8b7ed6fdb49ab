"""Regression tables declared in YAML: a ``TableDeclaration`` and the checks of its values.

A declaration (one entry of the ``datasets`` parameter, ``kind: csv``) names the files under
``data_dir``, the label column and how to turn the other columns into numeric features:

- ``missing_values``: cell texts (or numbers) read as a missing value, besides empty cells;
- ``rename`` / ``day_of_year``: other layouts of the same table (a column called differently,
  a date instead of a day of the year); applied only when the file has the column;
- ``features`` (default: every column but the label and ``drop``), ``drop``;
- ``ordinal``: text -> number (a column that already holds exactly those numbers is kept);
- ``categorical``: one-hot, one 0/1 column ``<col>_<value>`` per value present;
- ``cyclic``: ``<col>_sin = sin(2 pi x / period)``, ``<col>_cos = cos(2 pi x / period)``.

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

    @classmethod
    def from_mapping(cls, name: str, block: Mapping[str, Any]) -> TableDeclaration:
        """Validate a YAML block; errors name the field (``datasets.<name>.<field>``)."""
        prefix = f"datasets.{name}"
        if not isinstance(block, Mapping):
            raise ParameterError(f"{prefix} must be a mapping of settings; got {block!r}")
        allowed = {"kind", *(f for f in cls.__dataclass_fields__ if f != "name")}
        unknown = sorted(set(block) - allowed)
        if unknown:
            close = closest_name(unknown[0], sorted(allowed))
            hint = f" (did you mean {prefix}.{close}?)" if close else ""
            raise ParameterError(
                f"{prefix} has unknown settings {unknown}{hint}; allowed: "
                f"{', '.join(sorted(allowed))}"
            )
        if block.get("kind") != KIND:
            raise ParameterError(f"{prefix}.kind must be {KIND}; got {block.get('kind')!r}")
        for required in ("files", "label"):
            if not block.get(required):
                raise ParameterError(f"{prefix}.{required} is required")
        values = {key: value for key, value in block.items() if key != "kind"}
        for key in ("files", "drop", "categorical"):
            if key in values:
                values[key] = _names(f"{prefix}.{key}", values[key])
        if "missing_values" in values:
            values["missing_values"] = _tokens(f"{prefix}.missing_values", values["missing_values"])
        if values.get("features") is not None:
            values["features"] = _names(f"{prefix}.features", values["features"])
        for key in ("cyclic", "ordinal", "rename", "day_of_year"):
            if key in values:
                values[key] = _mapping(f"{prefix}.{key}", values[key])
        if "split" in values:
            values["split"] = tuple(values["split"] or ())
        declaration = cls(name=name, **values)
        declaration.check(prefix)
        return declaration

    def check(self, prefix: str) -> None:
        """Raise on values no table can satisfy (columns are checked when the file is read)."""
        if not isinstance(self.label, str):
            raise ParameterError(f"{prefix}.label must be a column name; got {self.label!r}")
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
        }
