"""Regression tables declared in YAML: read CSV files, encode their columns, no code per table.

A declaration (one entry of the ``datasets`` parameter, ``kind: csv``) names the files under
``data_dir``, the label column and how to turn the other columns into numeric features:

- ``rename`` / ``day_of_year``: other layouts of the same table (a column called differently,
  a date instead of a day of the year); applied only when the file has the column;
- ``features`` (default: every column but the label and ``drop``), ``drop``;
- ``ordinal``: text -> number (a column that already holds exactly those numbers is kept);
- ``categorical``: one-hot, one 0/1 column ``<col>_<value>`` per value present;
- ``cyclic``: ``<col>_sin = sin(2 pi x / period)``, ``<col>_cos = cos(2 pi x / period)``.

Each file is checked as it is read, and a bad one stops the run with one line naming the
file, the column and the line numbers: an empty or header-only file, a file that looks
separated by another character than ``separator``, a repeated column name, a column the
declaration needs but the file lacks, files of one table with different columns, a missing
(empty) or non-numeric value in a feature, a non-numeric label and a label that is the same
in every row. Rows with a missing label are dropped and counted in a warning.
"""

from __future__ import annotations

import difflib
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
SEPARATORS = (",", ";", "\t")  # what a CSV file read with the wrong separator is likely to use
SHOWN_HEADER_CHARS = 80  # of a header that did not split, in the wrong-separator message
HEADER_ROWS = 1  # the header comes before the first data row (line numbers are 1-based)


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
            close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
            hint = f" (did you mean {prefix}.{close[0]}?)" if close else ""
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


def _layout(table: TableDeclaration, frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """``frame`` with the declared renames applied and dates turned into days of the year."""
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
    return frame


def _feature_names(table: TableDeclaration, frame: pd.DataFrame) -> list[str]:
    """The declared features, or every column but the label and the dropped ones."""
    if table.features:
        return list(table.features)
    return [c for c in frame if c != table.label and c not in table.drop]


def _check_columns(table: TableDeclaration, frame: pd.DataFrame, source: str = "the files") -> None:
    """Raise when ``frame`` (after ``_layout``) lacks a column the declaration names."""
    _require(table, "label", [table.label], frame, source)
    _require(table, "drop", table.drop, frame, source)
    features = _feature_names(table, frame)
    _require(table, "features", features, frame, source)
    for key in ("categorical", "cyclic", "ordinal"):
        _require(table, key, list(getattr(table, key)), frame[features], source)


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
    """Numeric features and the label (column ``table.label``) from the raw columns.

    Rows with a missing label are dropped; ``attrs`` counts them (``rows_missing_label``).
    A label that is the same in every row stops (nothing to learn, no spread to standardise
    by). ``source`` names where ``frame`` came from, in the messages.
    """
    frame = _layout(table, frame, source)
    _check_columns(table, frame, source)
    features = _feature_names(table, frame)
    label = pd.to_numeric(frame[table.label], errors="coerce")
    bad = frame[table.label][label.isna() & frame[table.label].notna()].unique()
    if len(bad):
        raise ParameterError(
            f"datasets.{table.name}.label column {table.label!r} holds non-numbers "
            f"{list(bad[:SHOWN_VALUES])}"
        )
    keep = label.notna().to_numpy()
    rows, label = frame.loc[keep, list(features)].reset_index(drop=True), label[keep]
    _check_label_varies(table, label, source)
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


def _check_label_varies(table: TableDeclaration, label: pd.Series, source: str) -> None:
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


def _line_numbers(path: Path, rows: Sequence[int]) -> list[int]:
    """1-based line numbers in ``path`` of the 0-based data ``rows`` that pandas read.

    Blank lines are skipped as pandas skips them; a quoted field spanning lines (never in a
    numeric table) would shift the numbers after it.
    """
    with path.open(encoding="utf-8", errors="replace") as handle:
        filled = [number for number, text in enumerate(handle, 1) if text.strip()]
    return [
        filled[row + HEADER_ROWS] if row + HEADER_ROWS < len(filled) else row + 1 + HEADER_ROWS
        for row in rows
    ]


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _lines(path: Path, rows: pd.Index, values: pd.Series | None = None) -> str:
    """``lines 4, 9 and 3 more``, or with values ``line 4 'abc', line 9 'x'`` (a few rows)."""
    shown = list(rows[:SHOWN_VALUES])
    numbers = _line_numbers(path, shown)
    if values is None:
        text = f"line{'s' if len(rows) > 1 else ''} {', '.join(map(str, numbers))}"
    else:
        text = ", ".join(
            f"line {n} {_shown(values[row])}" for n, row in zip(numbers, shown, strict=True)
        )
    return text + (f" and {len(rows) - len(shown)} more" if len(rows) > len(shown) else "")


def _not_numbers(values: pd.Series) -> pd.Series:
    """Where ``values`` hold something that is not a finite number (text, inf)."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    return values.notna() & ~np.isfinite(numbers)


def _read_csv(table: TableDeclaration, path: Path) -> pd.DataFrame:
    """One declared file, read with the declared separator; raises naming the file when it is
    unreadable, empty or header-only, looks separated by another character, or repeats a
    column name."""
    where = f"datasets.{table.name}: {path}"
    try:
        frame = pd.read_csv(path, sep=table.separator)
    except pd.errors.EmptyDataError as error:
        raise MissingDataError(f"{where} has no data rows (the file is empty)") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ParameterError(
            f"{where} cannot be read as CSV with separator {table.separator!r}: "
            f"{' '.join(str(error).split())}"
        ) from error
    header = str(frame.columns[0])
    others = [sep for sep in SEPARATORS if sep != table.separator and sep in header]
    if len(frame.columns) == 1 and others:
        likely = max(others, key=header.count)
        raise ParameterError(
            f"{where} looks {likely!r}-separated but the declaration says separator "
            f"{table.separator!r} (datasets.{table.name}.separator); its header reads "
            f"{header[:SHOWN_HEADER_CHARS]!r}"
        )
    names = pd.read_csv(path, sep=table.separator, header=None, nrows=1, dtype=str).iloc[0]
    repeated = list(dict.fromkeys(names[names.duplicated()]))
    if repeated:
        raise ParameterError(
            f"{where} has the column names {repeated} more than once in its header; "
            "rename or remove the repeats"
        )
    if frame.empty:
        raise MissingDataError(f"{where} has no data rows (only a header)")
    return frame


def _check_same_columns(
    table: TableDeclaration, paths: list[Path], frames: list[pd.DataFrame]
) -> None:
    """Raise naming the file and the columns when a file's columns differ from the first's."""
    first = list(frames[0].columns)
    for path, frame in zip(paths[1:], frames[1:], strict=True):
        extra = [c for c in frame.columns if c not in first]
        absent = [c for c in first if c not in frame.columns]
        differences = [f"has columns {extra} that {paths[0]} does not have"] if extra else []
        differences += [f"lacks columns {absent} that {paths[0]} has"] if absent else []
        if differences:
            raise ParameterError(
                f"datasets.{table.name}: {path} {' and '.join(differences)}; the files of one "
                "table must have the same columns"
            )


def _check_values(table: TableDeclaration, path: Path, frame: pd.DataFrame) -> pd.Index:
    """Raise naming the file, column and lines of a non-numeric label, or a missing or
    non-numeric feature in a row with a label; returns the rows whose label is missing."""
    where = f"datasets.{table.name}: {path}"
    bad = frame.index[_not_numbers(frame[table.label])]
    if len(bad):
        raise ParameterError(
            f"{where}: the label column {table.label!r} is not a finite number in "
            f"{_rows(len(bad))} ({_lines(path, bad, frame[table.label])})"
        )
    unlabelled = frame.index[frame[table.label].isna()]
    rows = frame.drop(index=unlabelled)
    for column in _feature_names(table, frame):
        empty = rows.index[rows[column].isna()]
        if len(empty):
            raise ParameterError(
                f"{where}: column {column!r} has missing values in {_rows(len(empty))} "
                f"({_lines(path, empty)}); fill them in the file or drop the column"
            )
        if column in table.categorical or column in table.ordinal:
            continue
        bad = rows.index[_not_numbers(rows[column])]
        if len(bad):
            raise ParameterError(
                f"{where}: column {column!r} is not numeric: not a finite number in "
                f"{_rows(len(bad))} ({_lines(path, bad, rows[column])}); fix the file, or "
                "declare the column under categorical or ordinal, or drop it"
            )
    return unlabelled


def read_table(table: TableDeclaration, data_dir: Path, download: bool = True) -> pd.DataFrame:
    """The declared files, each checked (see the module docstring), concatenated in order and
    encoded (see ``encode_table``)."""
    paths = _paths(table, data_dir, download)
    frames = [_read_csv(table, path) for path in paths]
    layouts = [_layout(table, frame, str(path)) for path, frame in zip(paths, frames, strict=True)]
    for path, layout in zip(paths, layouts, strict=True):
        _check_columns(table, layout, str(path))
    _check_same_columns(table, paths, frames)
    unlabelled = [
        _check_values(table, path, layout) for path, layout in zip(paths, layouts, strict=True)
    ]
    frame = pd.concat(frames, ignore_index=True)
    encoded = encode_table(table, frame, " and ".join(map(str, paths)))
    missing = encoded.attrs["rows_missing_label"]
    if missing:
        where = "; ".join(
            f"{path} {_lines(path, rows)}"
            for path, rows in zip(paths, unlabelled, strict=True)
            if len(rows)
        )
        logger.warning(
            "%s: dropped %d of %d rows with a missing label %r (%s)",
            table.name,
            missing,
            len(frame),
            table.label,
            where,
        )
    return encoded
