"""Catalog datasets whose versioned saves are atomic, and tables that know their version.

Kedro finds a version by globbing ``<filepath>/*/<name>``: a file that is being written, or
that a killed run left half-written, would be loaded as the newest version. These datasets
write to a hidden partial file beside the target (``.<name>.<pid>.partial``, which the glob
never matches) and hard-link it into place only once it is complete. The link also refuses to
overwrite: two runs that got the same save version cannot replace each other's file.

``ParquetDataset`` also records the version it loaded in ``frame.attrs[VERSION_ATTR]``, so a
node can name (and check) the exact version of each table it read.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io.core import DatasetError
from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset as _MatplotlibDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset
from kedro_datasets.pandas import ParquetDataset as _ParquetDataset
from kedro_datasets.pickle import PickleDataset as _PickleDataset

VERSION_ATTR = "version"  # frame.attrs key: the catalog version this table was loaded from
PARTIAL_SUFFIX = ".partial"


def partial_path(final: PurePosixPath) -> PurePosixPath:
    """The hidden file a save writes before it is complete: ``.<name>.<pid>.partial``."""
    return final.with_name(f".{final.name}.{os.getpid()}{PARTIAL_SUFFIX}")


class AtomicVersionedSave:
    """Mixin for a Kedro file dataset: a versioned save becomes visible only when complete.

    Unversioned saves are unchanged. Put it before the dataset class in the bases.
    """

    _final_save_path: PurePosixPath | None = None

    def _get_save_path(self) -> PurePosixPath:
        final = super()._get_save_path()  # type: ignore[misc]
        if not self._version:  # type: ignore[attr-defined]
            return final
        self._final_save_path = final
        return partial_path(final)

    @classmethod
    def _save_wrapper(cls, save_func: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        # The parent's save is already wrapped by Kedro; wrap its plain body once, then let
        # Kedro add its versioning and error handling around the commit.
        body = inspect.unwrap(save_func)

        @wraps(body)
        def save_then_commit(self: AtomicVersionedSave, data: Any) -> None:
            self._final_save_path = None
            try:
                body(self, data)
                if self._final_save_path is not None:
                    _commit(Path(partial_path(self._final_save_path)), Path(self._final_save_path))
            finally:
                if self._final_save_path is not None:
                    Path(partial_path(self._final_save_path)).unlink(missing_ok=True)

        return super()._save_wrapper(save_then_commit)  # type: ignore[misc]


def _commit(partial: Path, final: Path) -> None:
    """Make the complete ``partial`` file visible as ``final``, never replacing one."""
    try:
        os.link(partial, final)
    except FileExistsError as error:
        raise DatasetError(
            f"{final} was written by another run with the same save version at the same "
            "time; run again (each run gets a new version)"
        ) from error


class ParquetDataset(AtomicVersionedSave, _ParquetDataset):
    """``pandas.ParquetDataset`` with atomic versioned saves; ``attrs`` record the version."""

    def load(self) -> pd.DataFrame:
        frame = inspect.unwrap(_ParquetDataset.load)(self)
        version = self.resolve_load_version()
        if version is not None:
            frame.attrs[VERSION_ATTR] = version
        return frame


class CSVDataset(AtomicVersionedSave, _CSVDataset):
    """``pandas.CSVDataset`` with atomic versioned saves."""


class JSONDataset(AtomicVersionedSave, _JSONDataset):
    """``json.JSONDataset`` with atomic versioned saves."""


class PickleDataset(AtomicVersionedSave, _PickleDataset):
    """``pickle.PickleDataset`` with atomic versioned saves."""


class MatplotlibDataset(AtomicVersionedSave, _MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` (one figure) with atomic versioned saves."""
