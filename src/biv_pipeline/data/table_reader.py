"""Reading a declared table: its CSV files, found under ``data_dir`` (downloaded first when
missing and allowed), each checked as it is read, then concatenated and encoded.

A bad file stops the run with one line naming the file, the column and the line numbers: an
empty or header-only file, a file that looks separated by another character than
``separator``, a repeated column name, a column the declaration needs but the file lacks,
files of one table with different columns, a missing (empty) or non-numeric value in a
feature, a non-numeric label, a label that is the same in every row and a bad declared noise
value (``declared_noise.first_problem``); when the bad cells of a column are a few repeated
texts (``?``), the message suggests ``missing_values``; a label or feature whose
standardisation would overflow or whose label variance a few rows carry (see
``table_checks``). Rows with a missing label are dropped and counted in a warning, and a
feature that never changes is named in one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biv_pipeline.data.declared_noise import first_problem
from biv_pipeline.data.encoding import SHOWN_VALUES, encode_table
from biv_pipeline.data.table_checks import check_scales, missing_markers, warn_constant_features
from biv_pipeline.data.table_declaration import TableDeclaration
from biv_pipeline.data.table_layout import apply_layout, check_columns, feature_names
from biv_pipeline.errors import MissingDataError, ParameterError

logger = logging.getLogger(__name__)

SEPARATORS = (",", ";", "\t")  # what a CSV file read with the wrong separator is likely to use
SHOWN_HEADER_CHARS = 80  # of a header that did not split, in the wrong-separator message
HEADER_ROWS = 1  # the header comes before the first data row (line numbers are 1-based)
ROWS_PER_FILE = "rows_per_file"  # attrs: the data rows read from each declared file, in order


def _paths(table: TableDeclaration, data_dir: Path, download: bool) -> list[Path]:
    """The declared files under ``data_dir``, downloaded first when missing and allowed."""
    paths = [data_dir / name for name in table.files]
    missing = [path for path in paths if not path.is_file()]
    if missing and download and table.download is not None:
        # Imported here: only a missing file needs the network code, and this module is loaded
        # by everything that reaches the dataset registry (``import biv_pipeline.losses``).
        from biv_pipeline.data.download import download_archive  # noqa: PLC0415

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


def _listed(texts: Sequence[str]) -> str:
    """``'?'``, ``'?' and 'NA'``, ``'?', 'NA' and '-'``."""
    shown = [repr(text) for text in texts]
    return " and ".join([", ".join(shown[:-1]), shown[-1]] if len(shown) > 1 else shown)


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
        frame = pd.read_csv(path, sep=table.separator, na_values=list(table.missing_values))
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
        markers = missing_markers(frame[table.label][bad])
        hint = (
            f"; if {_listed(markers)} mark{'s' * (len(markers) == 1)} a missing label, declare "
            f"datasets.{table.name}.missing_values: {markers!r} (rows without a label are "
            "dropped)"
            if markers
            else ""
        )
        raise ParameterError(
            f"{where}: the label column {table.label!r} is not a finite number in "
            f"{_rows(len(bad))} ({_lines(path, bad, frame[table.label])}){hint}"
        )
    unlabelled = frame.index[frame[table.label].isna()]
    rows = frame.drop(index=unlabelled)
    for column in feature_names(table, frame):
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
            markers = missing_markers(rows[column][bad])
            advice = (
                f"{_listed(markers)} look{'s' * (len(markers) == 1)} like a marker of a missing "
                f"value: declare datasets.{table.name}.missing_values: {markers!r} to read "
                f"{'it as one' if len(markers) == 1 else 'them as such'} (a feature's missing "
                "values must then be filled in or the column dropped), or fix the file"
                if markers
                else "fix the file, or declare the column under categorical or ordinal, or drop it"
            )
            raise ParameterError(
                f"{where}: column {column!r} is not numeric: not a finite number in "
                f"{_rows(len(bad))} ({_lines(path, bad, rows[column])}); {advice}"
            )
    return unlabelled


def _where(paths: list[Path], counts: list[int], rows: pd.Index, values: pd.Series) -> str:
    """``PATH line 4 1e+308; PATH2 line 9 2e+300`` for ``rows`` numbered across the files."""
    parts, start = [], 0
    for path, count in zip(paths, counts, strict=True):
        inside = rows[(rows >= start) & (rows < start + count)]
        if len(inside):
            parts.append(
                f"{path} {_lines(path, inside - start, values.set_axis(values.index - start))}"
            )
        start += count
    return "; ".join(parts)


def _check_declared(
    table: TableDeclaration, path: Path, frame: pd.DataFrame, unlabelled: pd.Index
) -> None:
    """Raise naming the file, setting, column and lines of a bad declared noise value."""
    problem = first_problem(table, frame, unlabelled)
    if problem is not None:
        values = frame[problem.column] if problem.show_values else None
        raise ParameterError(
            f"datasets.{table.name}: {path}: column {problem.column!r} "
            f"(datasets.{table.name}.{problem.key}) {problem.what} in "
            f"{_rows(len(problem.rows))} ({_lines(path, problem.rows, values)})"
        )


def read_table(
    table: TableDeclaration,
    data_dir: Path,
    download: bool = True,
    encode: Callable[[TableDeclaration, pd.DataFrame, str], pd.DataFrame] = encode_table,
) -> pd.DataFrame:
    """The declared files, each checked (see the module docstring), concatenated in order and
    encoded (see ``encode_table``; an image index keeps its file names, ``image_index``).

    Each row's index is its position among the data rows of the files, in order, whatever
    rows are dropped; ``attrs[ROWS_PER_FILE]`` says where each file starts (``raw_line``).
    """
    paths = _paths(table, data_dir, download)
    frames = [_read_csv(table, path) for path in paths]
    layouts = [
        apply_layout(table, frame, str(path)) for path, frame in zip(paths, frames, strict=True)
    ]
    for path, layout in zip(paths, layouts, strict=True):
        check_columns(table, layout, str(path))
    _check_same_columns(table, paths, frames)
    unlabelled = [
        _check_values(table, path, layout) for path, layout in zip(paths, layouts, strict=True)
    ]
    for path, layout, rows in zip(paths, layouts, unlabelled, strict=True):
        _check_declared(table, path, layout, rows)
    frame = pd.concat(frames, ignore_index=True)
    encoded = encode(table, frame, " and ".join(map(str, paths)))
    encoded.attrs[ROWS_PER_FILE] = [len(part) for part in frames]
    counts = encoded.attrs[ROWS_PER_FILE]
    check_scales(table, encoded, lambda rows, values: _where(paths, counts, rows, values))
    warn_constant_features(table, layouts, encoded.index)
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


def raw_line(row: int, provenance: Mapping[str, Any], data_dir: Path) -> tuple[Path, int]:
    """The file under ``data_dir`` and the 1-based line that holds the ``row`` of a split of a
    declared table, from the split's provenance (its ``source.files`` and ``ROWS_PER_FILE``)."""
    position = row
    for name, count in zip(provenance["source"]["files"], provenance[ROWS_PER_FILE], strict=True):
        if 0 <= position < count:
            path = data_dir / name
            return path, _line_numbers(path, [position])[0]
        position -= count
    raise ParameterError(
        f"row {row} is not in the {sum(provenance[ROWS_PER_FILE])} data rows of "
        f"{', '.join(provenance['source']['files'])}"
    )
