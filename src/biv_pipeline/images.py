"""Face images decoded once into a uint8 cache (N x 3 x S x S ``.npy``).

The cache is reused (memory-mapped) while the folder is unchanged. UTKFace names its files
``AGE_GENDER_RACE_DATETIME.jpg.chip.jpg``; the age is the label. Decoding runs in parallel
threads (libjpeg releases the GIL).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from biv_pipeline.errors import MissingDataError, ParameterError

UTKFACE_NAME = re.compile(r"^(\d+)_([01])_([0-4])_(\d{17})\.jpg\.chip\.jpg$")
IMAGE_KEY = "image_index"
CHUNK = 64
SHOWN_BAD_FILES = 5
MIN_IMAGE_SIZE = 16


SUMS = 0  # row of a channel-sums entry: the sum of the uint8 values of each channel
SQUARES = 1  # row: the sum of their squares
UINT8_MAX = 255.0  # statistics are on the 0..1 scale


@dataclass(frozen=True)
class ImageCache:
    """Where a decoded folder lives: the uint8 array, its table (one row per image) and the
    exact per-image channel sums (:func:`channel_sums`), from which the statistics of any
    subset of images are a sum of rows (:func:`subset_channel_statistics`)."""

    images: Path
    table: Path
    sums: Path


@dataclass(frozen=True)
class DecodeReport:
    """What decoding skipped, so the caller can warn or fail."""

    total: int
    bad_names: list[str]
    bad_images: list[str]

    @property
    def bad_fraction(self) -> float:
        """Share of files that were skipped."""
        return (len(self.bad_names) + len(self.bad_images)) / max(self.total, 1)

    def describe(self) -> str:
        """One line naming a few skipped files."""
        shown = (self.bad_names + self.bad_images)[:SHOWN_BAD_FILES]
        return (
            f"skipped {len(self.bad_names)} files with unparsable names and "
            f"{len(self.bad_images)} undecodable or non-RGB/size-inconsistent images of "
            f"{self.total} (e.g. {', '.join(shown)})"
        )


def parse_utkface_names(names: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Age, gender and race from each file name; names that do not parse are returned apart."""
    rows, bad = [], []
    for name in names:
        match = UTKFACE_NAME.match(name)
        if match is None:
            bad.append(name)
            continue
        age, gender, race, _ = match.groups()
        rows.append({"file": name, "y": float(age), "gender": int(gender), "race": int(race)})
    return pd.DataFrame(rows, columns=["file", "y", "gender", "race"]), bad


def folder_fingerprint(folder: Path, names: list[str], image_size: int) -> str:
    """Hash of the file names, their sizes and mtimes, and the image size: equal means reusable."""
    digest = hashlib.sha256(str(image_size).encode())
    for name in sorted(names):
        stat = (folder / name).stat()
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _decode_one(path: Path, image_size: int, expected_hw: tuple[int, int]) -> np.ndarray | None:
    # torchvision is imported where images are decoded: every `kedro` command imports
    # this module (through the dataset registry), few decode images
    from torchvision.io import ImageReadMode, decode_jpeg, read_file  # noqa: PLC0415
    from torchvision.transforms.v2.functional import resize  # noqa: PLC0415

    try:
        image = decode_jpeg(read_file(str(path)), mode=ImageReadMode.UNCHANGED)
    except RuntimeError:
        return None
    if image.shape[0] != 3 or tuple(image.shape[1:]) != expected_hw:
        return None
    if image.shape[-1] != image_size:
        image = resize(image, [image_size, image_size], antialias=True)
    return image.numpy()


def _decode_into(
    fd: int, offset: int, paths: list[Path], size: int, expected_hw: tuple[int, int]
) -> np.ndarray:
    """Decode ``paths`` and write them one after another from ``offset`` of the open file ``fd``.

    ``os.pwrite`` copies into the page cache: no page faults on a huge in-memory array, which
    cost about as much as decoding in a virtual machine. Returns which images were good.
    """
    good = np.zeros(len(paths), dtype=bool)
    item_bytes = 3 * size * size
    for index, path in enumerate(paths):
        image = _decode_one(path, size, expected_hw)
        if image is not None:
            os.pwrite(
                fd, memoryview(np.ascontiguousarray(image)).cast("B"), offset + index * item_bytes
            )
            good[index] = True
    return good


def _reference_size(paths: list[Path]) -> tuple[int, int]:
    """Height and width of the first image that decodes (all others must match it)."""
    from torchvision.io import decode_jpeg, read_file  # noqa: PLC0415 - see _decode_one

    for path in paths:
        try:
            return tuple(decode_jpeg(read_file(str(path))).shape[1:])
        except RuntimeError:
            continue
    raise MissingDataError(f"none of the {len(paths)} images in {paths[0].parent} decodes")


def decode_folder(
    folder: Path, files: list[str], image_size: int, workers: int, target: Path
) -> np.ndarray:
    """Decode ``files`` in parallel into the ``.npy`` file ``target`` (N, 3, S, S) uint8.

    Returns the mask of the images that decoded and matched the expected height and width,
    those of the first file that decodes (UTKFace: 200 x 200); the others stay zero.
    """
    import torch  # noqa: PLC0415 - see _decode_one

    paths = [folder / name for name in files]
    expected_hw = _reference_size(paths)
    shape = (len(paths), 3, image_size, image_size)
    item_bytes = 3 * image_size * image_size
    with target.open("wb") as handle:
        header = {"descr": "|u1", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(handle, header)
        start = handle.tell()
        handle.truncate(start + len(paths) * item_bytes)
        handle.flush()
        fd = handle.fileno()
        torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)  # parallelism comes from the decoding threads
        try:
            with (
                ThreadPoolExecutor(workers) as pool,
                tqdm(total=len(paths), desc="decode images", unit="img", disable=None) as bar,
            ):
                futures = [
                    pool.submit(
                        _decode_into,
                        fd,
                        start + first * item_bytes,
                        paths[first : first + CHUNK],
                        image_size,
                        expected_hw,
                    )
                    for first in range(0, len(paths), CHUNK)
                ]
                masks = []
                for future in futures:
                    masks.append(future.result())
                    bar.update(len(masks[-1]))
        finally:
            torch.set_num_threads(torch_threads)
    return np.concatenate(masks)


def check_image_size(image_size: int) -> None:
    """image_size is an integer of at least MIN_IMAGE_SIZE pixels."""
    if not (isinstance(image_size, int) and image_size >= MIN_IMAGE_SIZE):
        raise ParameterError(
            f"image_size must be an integer >= {MIN_IMAGE_SIZE}; got {image_size!r}"
        )


def build_image_cache(
    folder: Path, image_size: int, cache_dir: Path, workers: int, max_bad_fraction: float
) -> tuple[pd.DataFrame, ImageCache, DecodeReport | None]:
    """Decode ``folder`` once into ``cache_dir``; reuse the cache while the folder is unchanged.

    Returns the image table (file, y, gender, race, image_index), the cache location, and the
    decode report (None when the cache was reused).
    """
    check_image_size(image_size)
    names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(".jpg"))
    if not names:
        raise MissingDataError(
            f"no *.jpg images in {folder}: put the UTKFace 'Aligned & Cropped Faces' images "
            "there (flat folder), or pass --params data_dir=PATH"
        )
    fingerprint = folder_fingerprint(folder, names, image_size)
    cache = ImageCache(
        cache_dir / f"images_{image_size}px_{fingerprint}.npy",
        cache_dir / f"images_{image_size}px_{fingerprint}.json",
        channel_sums_path(cache_dir / f"images_{image_size}px_{fingerprint}.npy"),
    )
    if cache.images.is_file() and cache.table.is_file():
        if not cache.sums.is_file():  # a cache made before the sums were stored beside it
            _save_channel_sums(open_image_cache(cache.images), cache.sums)
        return pd.DataFrame(json.loads(cache.table.read_text())), cache, None
    table, bad_names = parse_utkface_names(names)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache.images.with_suffix(".partial.npy")
    good = decode_folder(folder, list(table["file"]), image_size, workers, partial)
    report = DecodeReport(len(names), bad_names, list(table.loc[~good, "file"]))
    if report.bad_fraction > max_bad_fraction:
        partial.unlink()
        raise MissingDataError(
            f"{folder}: {report.describe()}; that is more than "
            f"ingest.max_bad_fraction = {max_bad_fraction:.0%}"
        )
    if not good.all():
        np.save(partial, np.load(partial, mmap_mode="r")[good])
    partial.replace(cache.images)
    # before the table, which marks the cache complete
    _save_channel_sums(open_image_cache(cache.images), cache.sums)
    table = table[good].reset_index(drop=True)
    table[IMAGE_KEY] = np.arange(len(table))
    cache.table.write_text(json.dumps(table.to_dict(orient="list")))
    return table, cache, report


def open_image_cache(path: str | Path) -> np.ndarray:
    """The cached uint8 images, memory-mapped read-only."""
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(
            f"image cache {path} is missing: run the ingest pipeline again "
            "(`kedro run --pipelines=ingest --params dataset=utkf,...`)"
        )
    return np.load(path, mmap_mode="r")


def channel_statistics(images: np.ndarray, chunk: int = 1024) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images (N, 3, H, W), on the 0..1 scale."""
    total = np.zeros(3)
    total_sq = np.zeros(3)
    for start in range(0, len(images), chunk):
        block = np.asarray(images[start : start + chunk], dtype=np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        total_sq += (block**2).sum(axis=(0, 2, 3))
    count = len(images) * images.shape[2] * images.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()


def channel_sums_path(images: str | Path) -> Path:
    """The per-image channel sums stored beside the image cache ``images``."""
    images = Path(images)
    return images.with_name(f"{images.stem}_channel_sums.npy")


def channel_sums(images: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Exact per-image channel sums of uint8 images (N, 3, H, W): int64 (N, 2, 3), row
    ``SUMS`` the sum of each channel's values, row ``SQUARES`` the sum of their squares."""
    sums = np.empty((len(images), 2, images.shape[1]), dtype=np.int64)
    for start in range(0, len(images), chunk):
        block = np.asarray(images[start : start + chunk], dtype=np.uint16)
        sums[start : start + chunk, SUMS] = block.sum(axis=(2, 3), dtype=np.int64)
        block *= block  # 255**2 fits in uint16
        sums[start : start + chunk, SQUARES] = block.sum(axis=(2, 3), dtype=np.int64)
    return sums


def _save_channel_sums(images: np.ndarray, path: Path) -> None:
    """Compute and write :func:`channel_sums` of ``images`` to ``path``, atomically."""
    partial = path.with_suffix(".partial.npy")
    np.save(partial, channel_sums(images))
    partial.replace(path)


def subset_channel_statistics(
    sums: np.ndarray, rows: np.ndarray, pixels_per_image: int
) -> tuple[list[float], list[float]]:
    """:func:`channel_statistics` of the images ``rows`` from their :func:`channel_sums`."""
    total = sums[rows].sum(axis=0)  # exact in int64
    count = len(rows) * pixels_per_image
    mean = total[SUMS] / UINT8_MAX / count
    variance = total[SQUARES] / UINT8_MAX**2 / count - mean**2
    std = np.sqrt(np.maximum(variance, 0.0))
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()
