"""Decoding face JPEGs into a uint8 ``.npy`` file, and judging what had to be skipped.

Decoding runs in parallel threads (libjpeg releases the GIL) and writes each image straight
into the file. A file is skipped when its name does not parse, it is not an RGB JPEG, or its
size is not the most common one; too many skipped files stop the ingest.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from biv_pipeline.errors import MissingDataError

CHUNK = 64
SHOWN_BAD_FILES = 5


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


def _percent(share: float) -> str:
    """``share`` as a percentage with three significant digits (0.00417%, 0.826%, 1%)."""
    return f"{100 * share:.3g}%"


def check_decoded(
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


def judge_sizes(
    table: pd.DataFrame, sizes: np.ndarray, total: int, bad_names: list[str]
) -> tuple[np.ndarray, DecodeReport]:
    """Which decoded images of ``table`` (a ``file`` per row) are good (of the most common
    size), and the report on the others."""
    common = common_size(sizes)
    decoded = sizes[:, 0] > 0
    good = decoded & (sizes == common).all(axis=1) if common else decoded
    files = table["file"].to_numpy()
    odd = {
        str(name): (int(h), int(w))
        for name, (h, w) in zip(files[decoded & ~good], sizes[decoded & ~good], strict=True)
    }
    return good, DecodeReport(total, bad_names, list(files[~decoded]), odd, common)
