"""Regression tables declared in YAML: read CSV files, encode their columns, no code per table.

A declaration (one entry of the ``datasets`` parameter, ``kind: csv``) names the files under
``data_dir``, the label column and how to turn the other columns into numeric features:

- ``rename`` / ``day_of_year``: other layouts of the same table (a column called differently,
  a date instead of a day of the year); applied only when the file has the column;
- ``features`` (default: every column but the label and ``drop``), ``drop``;
- ``ordinal``: text -> number (a column that already holds exactly those numbers is kept);
- ``categorical``: one-hot, one 0/1 column ``<col>_<value>`` per value present;
- ``cyclic``: ``<col>_sin = sin(2 pi x / period)``, ``<col>_cos = cos(2 pi x / period)``.

Rows with a missing label are dropped and counted; any other missing or non-numeric value
stops with the column's name.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biv_pipeline.errors import MissingDataError, ParameterError

logger = logging.getLogger(__name__)

KIND = "csv"
DOWNLOAD_TIMEOUT_S = 60
DEFAULT_LR = 1e-2
DEFAULT_MODEL = "vanilla_ann"
SHOWN_VALUES = 5
SPLIT_PARTS = 2


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_archive(target: Path, url: str, sha256: Mapping[str, str]) -> None:
    """Fetch a zip archive, check each named member's SHA-256, and place them in ``target``."""
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            archive = zipfile.ZipFile(io.BytesIO(response.read()))
    except (urllib.error.URLError, OSError, zipfile.BadZipFile) as error:
        names = " and ".join(sha256)
        raise MissingDataError(
            f"files are missing from {target} and the download from {url} failed ({error}). "
            f"Download the zip by hand and put {names} into {target}, or pass --params "
            "data_dir=PATH pointing at a folder that holds them."
        ) from error
    members = {Path(name).name: name for name in archive.namelist()}
    target.mkdir(parents=True, exist_ok=True)
    for file_name, expected in sha256.items():
        if file_name not in members:
            raise ValueError(f"the archive from {url} has no {file_name}")
        data = archive.read(members[file_name])
        if _sha256(data) != expected:
            raise ValueError(
                f"{file_name} from {url} has SHA-256 {_sha256(data)}, expected {expected}; "
                "not using it"
            )
        (target / file_name).write_bytes(data)


def _names(key: str, value: Any) -> tuple[str, ...]:
    """A list of column names (a single name is accepted)."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise ParameterError(f"{key} must be a list of column names; got {value!r}")
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
            raise ParameterError(
                f"{prefix} has unknown settings {unknown}; allowed: {', '.join(sorted(allowed))}"
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


def _paths(table: TableDeclaration, data_dir: Path, download: bool) -> list[Path]:
    """The declared files under ``data_dir``, downloaded first when missing and allowed."""
    paths = [data_dir / name for name in table.files]
    missing = [path for path in paths if not path.is_file()]
    if missing and download and table.download is not None:
        download_archive(missing[0].parent, table.download["url"], table.download["sha256"])
        missing = [path for path in paths if not path.is_file()]
    if missing:
        shown = ", ".join(str(path.relative_to(data_dir)) for path in missing)
        how = (
            " (and ingest.download is false)" if table.download is not None and not download else ""
        )
        raise MissingDataError(
            f"data_dir {data_dir} has no {shown}{how}, which datasets.{table.name}.files "
            "names. Put the files there or pass --params data_dir=PATH."
        )
    return paths


def _require(table: TableDeclaration, key: str, columns: Sequence[str], frame: pd.DataFrame):
    absent = [column for column in columns if column not in frame]
    if absent:
        raise ParameterError(
            f"datasets.{table.name}.{key} names columns {absent} that the files do not have; "
            f"their columns: {', '.join(map(str, frame.columns))}"
        )


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


def encode_table(table: TableDeclaration, frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric features and the label (column ``table.label``) from the raw columns.

    Rows with a missing label are dropped; ``attrs`` counts them (``rows_missing_label``).
    """
    frame = frame.rename(columns={k: v for k, v in table.rename.items() if k in frame})
    for source, target in table.day_of_year.items():
        if source in frame:
            frame[target] = pd.to_datetime(frame[source]).dt.day_of_year
            frame = frame.drop(columns=source)
    _require(table, "label", [table.label], frame)
    _require(table, "drop", table.drop, frame)
    features = table.features or [c for c in frame if c != table.label and c not in table.drop]
    _require(table, "features", features, frame)
    for key in ("categorical", "cyclic", "ordinal"):
        _require(table, key, list(getattr(table, key)), frame[list(features)])
    label = pd.to_numeric(frame[table.label], errors="coerce")
    bad = frame[table.label][label.isna() & frame[table.label].notna()].unique()
    if len(bad):
        raise ParameterError(
            f"datasets.{table.name}.label column {table.label!r} holds non-numbers "
            f"{list(bad[:SHOWN_VALUES])}"
        )
    keep = label.notna().to_numpy()
    rows, label = frame.loc[keep, list(features)].reset_index(drop=True), label[keep]
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
    encoded.attrs = {"rows_read": len(frame), "rows_missing_label": int((~keep).sum())}
    return encoded


def read_table(table: TableDeclaration, data_dir: Path, download: bool = True) -> pd.DataFrame:
    """The declared files, concatenated in order and encoded (see ``encode_table``)."""
    paths = _paths(table, data_dir, download)
    frame = pd.concat([pd.read_csv(path, sep=table.separator) for path in paths], ignore_index=True)
    encoded = encode_table(table, frame)
    missing = encoded.attrs["rows_missing_label"]
    if missing:
        logger.warning(
            "%s: dropped %d of %d rows with a missing label %r",
            table.name,
            missing,
            len(frame),
            table.label,
        )
    return encoded
