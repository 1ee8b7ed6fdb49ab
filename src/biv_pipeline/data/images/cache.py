"""The image cache: a folder of faces decoded once into a uint8 ``.npy`` (N x 3 x S x S).

A cache is named by its key, ``images_<S>px_<fingerprint>``: the image size and a hash of the
folder's file names, sizes and times, so it is reused while the folder is unchanged. In its
cache folder it is three files: ``<key>.npy`` the images (memory-mapped when read, the cache
can be GBs), ``<key>_channel_sums.npy`` their channel sums
(:func:`~biv_pipeline.data.images.statistics.channel_sums`), and ``<key>.json`` its table, one
row per image (file, y, gender, race, and ``image_index``, its row in the array). Each is
written to a partial file that replaces the final one once complete, the table last: a cache
whose table exists is complete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biv_pipeline.data.image_limits import check_image_size, check_max_bad_fraction
from biv_pipeline.data.images.decoding import (
    DecodeReport,
    check_decoded,
    decode_folder,
    judge_sizes,
)
from biv_pipeline.data.images.statistics import channel_sums
from biv_pipeline.data.images.utkface import image_files, parse_utkface_names
from biv_pipeline.data.stale_partials import partial_path, remove_stale_partials
from biv_pipeline.errors import MissingDataError

IMAGE_KEY = "image_index"  # column of an image table: the image's row in the cache
CACHE_ATTR = "image_cache"  # frame.attrs key: the key of the cache its image_index rows index


@dataclass(frozen=True)
class ImageCache:
    """Where a decoded folder lives: the uint8 array, its table (one row per image) and the
    exact per-image channel sums, from which the statistics of any subset of images are a sum
    of rows (:func:`~biv_pipeline.data.images.statistics.subset_channel_statistics`)."""

    images: Path
    table: Path
    sums: Path

    @classmethod
    def at(cls, cache_dir: Path, key: str) -> ImageCache:
        """The files of the cache ``key`` in ``cache_dir``."""
        images = cache_dir / f"{key}.npy"
        return cls(images, images.with_suffix(".json"), channel_sums_path(images))

    @property
    def complete(self) -> bool:
        """Whether the images and their table are there (the table is written last)."""
        return self.images.is_file() and self.table.is_file()

    def check(self) -> None:
        """Raise MissingDataError (run the ingest again) unless the cache is complete."""
        if not self.complete:
            raise _missing(self.images)


@dataclass(frozen=True)
class ImageSource:
    """A folder of faces to cache at one size, and how to decode it: what the image cache is
    made from. ``key`` names its cache (:func:`cache_key`)."""

    folder: Path
    names: tuple[str, ...]  # the folder's *.jpg files, sorted
    image_size: int
    workers: int
    max_bad_fraction: float
    key: str
    named_by_utkface: bool = True  # False: the files of an index that holds their labels

    @classmethod
    def scan(
        cls, folder: Path, image_size: int, workers: int, max_bad_fraction: float
    ) -> ImageSource:
        """The ``*.jpg`` files of ``folder`` to cache at ``image_size``, checked and keyed."""
        check_image_size(image_size)
        check_max_bad_fraction(max_bad_fraction)
        names = image_files(folder)
        key = cache_key(image_size, folder_fingerprint(folder, names, image_size))
        return cls(folder, tuple(names), image_size, workers, max_bad_fraction, key)

    @classmethod
    def of_files(
        cls, folder: Path, files: list[str], image_size: int, workers: int, max_bad_fraction: float
    ) -> ImageSource:
        """The ``files`` of ``folder`` (named by an index, not by UTKFace's rule), keyed."""
        check_image_size(image_size)
        check_max_bad_fraction(max_bad_fraction)
        names = sorted(files)
        key = cache_key(image_size, folder_fingerprint(folder, names, image_size, False))
        return cls(folder, tuple(names), image_size, workers, max_bad_fraction, key, False)


@dataclass(frozen=True)
class CachedImages:
    """A complete cache as read: the images (memory-mapped, read-only), the table, and the
    channel sums (None for a cache made before they were stored)."""

    key: str
    images: np.ndarray
    table: pd.DataFrame
    channel_sums: np.ndarray | None


def folder_fingerprint(
    folder: Path, names: list[str], image_size: int, named_by_utkface: bool = True
) -> str:
    """Hash of the file names, their sizes and mtimes, and the image size: equal means reusable.

    The files of an index get another hash than the same files read by UTKFace's names: their
    caches hold different tables.
    """
    digest = hashlib.sha256(str(image_size).encode())
    if not named_by_utkface:
        digest.update(b"index\n")
    for name in sorted(names):
        stat = (folder / name).stat()
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cache_key(image_size: int, fingerprint: str) -> str:
    """The name of the cache of a folder with ``fingerprint`` at ``image_size``."""
    return f"images_{image_size}px_{fingerprint}"


def channel_sums_path(images: str | Path) -> Path:
    """The per-image channel sums stored beside the image cache ``images``."""
    images = Path(images)
    return images.with_name(f"{images.stem}_channel_sums.npy")


def build_image_cache(
    folder: Path, image_size: int, cache_dir: Path, workers: int, max_bad_fraction: float
) -> tuple[pd.DataFrame, ImageCache, DecodeReport | None]:
    """Decode ``folder`` once into ``cache_dir``; reuse the cache while the folder is unchanged.

    Returns the image table (file, y, gender, race, image_index), the cache location, and the
    decode report (None when the cache was reused).
    """
    return write_image_cache(
        ImageSource.scan(folder, image_size, workers, max_bad_fraction), cache_dir
    )


def write_image_cache(
    source: ImageSource, cache_dir: Path
) -> tuple[pd.DataFrame, ImageCache, DecodeReport | None]:
    """Decode ``source`` into ``cache_dir`` unless its cache is complete there already.

    Returns as :func:`build_image_cache`. Too many skipped files raise MissingDataError and
    leave no file behind.
    """
    remove_stale_partials(cache_dir, "images_*px_*.partial.npy")  # of runs killed while decoding
    cache = ImageCache.at(cache_dir, source.key)
    if cache.complete:
        if not cache.sums.is_file():  # a cache made before the sums were stored beside it
            _save_channel_sums(open_image_cache(cache.images), cache.sums)
        return pd.DataFrame(json.loads(cache.table.read_text())), cache, None
    table, bad_names = (
        parse_utkface_names(list(source.names))
        if source.named_by_utkface
        else (pd.DataFrame({"file": list(source.names)}), [])
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = partial_path(cache.images)
    sizes = decode_folder(
        source.folder, list(table["file"]), source.image_size, source.workers, partial
    )
    good, report = judge_sizes(table, sizes, len(source.names), bad_names)
    try:
        check_decoded(source.folder, report, int(good.sum()), source.max_bad_fraction)
    except MissingDataError:
        partial.unlink()
        raise
    if not good.all():
        np.save(partial, np.load(partial, mmap_mode="r")[good])
    partial.replace(cache.images)
    # before the table, which marks the cache complete
    _save_channel_sums(open_image_cache(cache.images), cache.sums)
    table = table[good].reset_index(drop=True)
    table[IMAGE_KEY] = np.arange(len(table))
    partial_table = cache.table.with_suffix(".partial.json")
    partial_table.write_text(json.dumps(table.to_dict(orient="list")))
    partial_table.replace(cache.table)
    return table, cache, report


def read_image_cache(cache_dir: Path, key: str) -> CachedImages:
    """The complete cache ``key`` of ``cache_dir``, its images memory-mapped."""
    cache = ImageCache.at(cache_dir, key)
    cache.check()
    sums = np.load(cache.sums) if cache.sums.is_file() else None
    table = pd.DataFrame(json.loads(cache.table.read_text()))
    return CachedImages(key, open_image_cache(cache.images), table, sums)


def _missing(path: Path) -> MissingDataError:
    return MissingDataError(
        f"image cache {path} is missing: run the ingest pipeline again "
        "(`kedro run --pipelines=ingest --params dataset=utkf,...`)"
    )


def open_image_cache(path: str | Path) -> np.ndarray:
    """The cached uint8 images, memory-mapped read-only."""
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    return np.load(path, mmap_mode="r")


def _save_channel_sums(images: np.ndarray, path: Path) -> None:
    """Compute and write the channel sums of ``images`` to ``path``, atomically."""
    partial = partial_path(path)
    np.save(partial, channel_sums(images))
    partial.replace(path)
