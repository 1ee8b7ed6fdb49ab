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
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
# The cache holds N x 3 x S^2 bytes: at S = 4000 twenty faces made a 960 MB cache, the whole of
# UTKFace (24k faces) would need over a terabyte. The paper uses 200 (the faces' own size).
MAX_IMAGE_SIZE = 512


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
    odd_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    common_size: tuple[int, int] | None = None

    @property
    def bad_count(self) -> int:
        """Files that were skipped."""
        return len(self.bad_names) + len(self.bad_images) + len(self.odd_sizes)

    @property
    def bad_fraction(self) -> float:
        """Share of files that were skipped."""
        return self.bad_count / max(self.total, 1)

    def describe(self) -> str:
        """One line counting the skipped files of each kind and naming a few of each."""
        parts = []
        if self.bad_names:
            parts.append(f"{len(self.bad_names)} with unparsable names ({_some(self.bad_names)})")
        if self.bad_images:
            parts.append(
                f"{len(self.bad_images)} undecodable or non-RGB ({_some(self.bad_images)})"
            )
        if self.odd_sizes:
            height, width = self.common_size or (0, 0)
            odd = [f"{name} {h}x{w}" for name, (h, w) in self.odd_sizes.items()]
            parts.append(
                f"{len(self.odd_sizes)} not {height}x{width} like most of them ({_some(odd)})"
            )
        return f"skipped {self.bad_count} of {self.total} images: {'; '.join(parts)}"


def _some(names: list[str]) -> str:
    """The first few ``names``, and how many more there are."""
    more = len(names) - SHOWN_BAD_FILES
    return ", ".join(names[:SHOWN_BAD_FILES]) + (f" and {more} more" if more > 0 else "")


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


def _decode_one(path: Path, image_size: int) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The RGB image at ``path`` resized to ``image_size`` square and its height and width
    before resizing; None if it is not an RGB JPEG."""
    # torchvision is imported where images are decoded: every `kedro` command imports
    # this module (through the dataset registry), few decode images
    from torchvision.io import ImageReadMode, decode_jpeg, read_file  # noqa: PLC0415
    from torchvision.transforms.v2.functional import resize  # noqa: PLC0415

    try:
        image = decode_jpeg(read_file(str(path)), mode=ImageReadMode.UNCHANGED)
    except RuntimeError:
        return None
    if image.shape[0] != 3:
        return None
    height, width = image.shape[1:]
    if (height, width) != (image_size, image_size):
        image = resize(image, [image_size, image_size], antialias=True)
    return image.numpy(), (height, width)


def _decode_into(fd: int, offset: int, paths: list[Path], size: int) -> np.ndarray:
    """Decode ``paths`` and write them one after another from ``offset`` of the open file ``fd``.

    ``os.pwrite`` copies into the page cache: no page faults on a huge in-memory array, which
    cost about as much as decoding in a virtual machine. Returns each image's height and width
    before resizing, (0, 0) for one that did not decode as RGB.
    """
    sizes = np.zeros((len(paths), 2), dtype=np.int64)
    item_bytes = 3 * size * size
    for index, path in enumerate(paths):
        decoded = _decode_one(path, size)
        if decoded is not None:
            image, sizes[index] = decoded
            os.pwrite(
                fd, memoryview(np.ascontiguousarray(image)).cast("B"), offset + index * item_bytes
            )
    return sizes


def common_size(sizes: np.ndarray) -> tuple[int, int] | None:
    """The most common (height, width) of the decoded images (rows of ``sizes`` that are not
    (0, 0)); on a tie, the size of the first such image. None when none decoded."""
    counts = Counter(map(tuple, sizes[sizes[:, 0] > 0].tolist()))
    return counts.most_common(1)[0][0] if counts else None


def decode_folder(
    folder: Path, files: list[str], image_size: int, workers: int, target: Path
) -> np.ndarray:
    """Decode ``files`` in parallel into the ``.npy`` file ``target`` (N, 3, S, S) uint8.

    Returns each image's height and width before resizing, (0, 0) for one that did not decode
    as RGB (its place in ``target`` stays zero).
    """
    import torch  # noqa: PLC0415 - see _decode_one

    paths = [folder / name for name in files]
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
                    )
                    for first in range(0, len(paths), CHUNK)
                ]
                sizes = []
                for future in futures:
                    sizes.append(future.result())
                    bar.update(len(sizes[-1]))
        finally:
            torch.set_num_threads(torch_threads)
    return np.concatenate(sizes) if sizes else np.zeros((0, 2), dtype=np.int64)


def check_image_size(image_size: int) -> None:
    """image_size is an integer from MIN_IMAGE_SIZE to MAX_IMAGE_SIZE pixels."""
    if not (
        isinstance(image_size, int)
        and not isinstance(image_size, bool)
        and MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE
    ):
        raise ParameterError(
            f"image_size must be an integer from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels "
            f"(the side of the square each face is resized to); got {image_size!r}"
        )


def check_max_bad_fraction(max_bad_fraction: float) -> None:
    """ingest.max_bad_fraction is a share of the files, from 0 to 1."""
    if not (
        isinstance(max_bad_fraction, int | float)
        and not isinstance(max_bad_fraction, bool)
        and 0 <= max_bad_fraction <= 1
    ):
        raise ParameterError(
            "ingest.max_bad_fraction must be a share of the image files from 0 (none may be "
            f"skipped) to 1; got {max_bad_fraction!r}"
        )


def _percent(share: float) -> str:
    """``share`` as a percentage with three significant digits (0.00417%, 0.826%, 1%)."""
    return f"{100 * share:.3g}%"


def _check_decoded(
    folder: Path, report: DecodeReport, good_count: int, max_bad_fraction: float
) -> None:
    """Raise when no image is usable or more than ``max_bad_fraction`` of them were skipped."""
    if not good_count:
        raise MissingDataError(f"{folder}: no image is usable; {report.describe()}")
    if report.bad_fraction > max_bad_fraction:
        raise MissingDataError(
            f"{folder}: {report.describe()}; that is {_percent(report.bad_fraction)} of the "
            f"files, more than ingest.max_bad_fraction = {_percent(max_bad_fraction)} allows "
            "(raise it to train on the others, or fix or remove the files)"
        )


def _judge_sizes(
    table: pd.DataFrame, sizes: np.ndarray, total: int, bad_names: list[str]
) -> tuple[np.ndarray, DecodeReport]:
    """Which decoded images are good (of the most common size) and the report on the others."""
    common = common_size(sizes)
    decoded = sizes[:, 0] > 0
    good = decoded & (sizes == common).all(axis=1) if common else decoded
    files = table["file"].to_numpy()
    odd = {
        str(name): (int(h), int(w))
        for name, (h, w) in zip(files[decoded & ~good], sizes[decoded & ~good], strict=True)
    }
    return good, DecodeReport(total, bad_names, list(files[~decoded]), odd, common)


def build_image_cache(
    folder: Path,
    image_size: int,
    cache_dir: Path,
    workers: int,
    max_bad_fraction: float,
    files: list[str] | None = None,
) -> tuple[pd.DataFrame, ImageCache, DecodeReport | None]:
    """Decode ``folder`` once into ``cache_dir``; reuse the cache while the folder is unchanged.

    Returns the image table (file, y, gender, race, image_index), the cache location, and the
    decode report (None when the cache was reused). With ``files`` (names relative to
    ``folder``, from an index that holds the labels) those files are decoded instead of the
    folder's UTKFace-named ``*.jpg``, and the table has ``file`` and ``image_index`` only.
    """
    check_image_size(image_size)
    check_max_bad_fraction(max_bad_fraction)
    names = sorted(
        files
        if files is not None
        else (entry.name for entry in os.scandir(folder) if entry.name.endswith(".jpg"))
    )
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
    table, bad_names = (
        parse_utkface_names(names) if files is None else (pd.DataFrame({"file": names}), [])
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache.images.with_suffix(".partial.npy")
    sizes = decode_folder(folder, list(table["file"]), image_size, workers, partial)
    good, report = _judge_sizes(table, sizes, len(names), bad_names)
    try:
        _check_decoded(folder, report, int(good.sum()), max_bad_fraction)
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
