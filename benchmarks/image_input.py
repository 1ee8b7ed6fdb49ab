"""How fast do UTKFace images reach the model: decoding into the cache, then one epoch of batches?

1. Ingest: images/second decoding the shared sample into the uint8 cache
   (``build_image_cache``, one thread per core) against PIL decoding one file at a time.
2. Input path: images/second delivered per epoch as normalised float batches, from the cache
   (index gather + ``ImageInput``, as ``fit`` does) against a PIL-per-item ``Dataset`` +
   ``DataLoader`` like the original (open, convert, resize, ToTensor, Normalize, collate),
   with the same batch size and image size. No model runs: this is the input path alone.

Run: ``python benchmarks/image_input.py [--data-dir ../shared/data]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from biv_pipeline.data.images import build_image_cache, channel_statistics, open_image_cache
from biv_pipeline.models import ImageInput

BATCH_SIZE = 256
IMAGE_SIZES = (200, 64)
LOADER_WORKERS = (0, 2)


class PILFaces(Dataset):
    """The original's way: every item opens, decodes and transforms one JPEG with PIL."""

    def __init__(self, paths: list[Path], image_size: int) -> None:
        self.paths = paths
        self.transform = transforms.Compose(
            [
                transforms.Resize((image_size, image_size)),
                transforms.ToTensor(),
                transforms.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
            ]
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, float]:
        image = Image.open(self.paths[index]).convert("RGB")
        return self.transform(image), float(self.paths[index].name.split("_")[0])


def time_ingest(folder: Path, image_size: int) -> tuple[float, float]:
    """Images/second: the parallel cache build, and PIL decoding file by file."""
    paths = sorted(folder.glob("*.jpg"))
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        build_image_cache(folder, image_size, Path(cache_dir), os.cpu_count() or 1, 0.01)
        cache_s = time.perf_counter() - start
    start = time.perf_counter()
    for path in paths:
        image = Image.open(path).convert("RGB")
        if image_size != image.width:
            image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
        np.asarray(image)
    pil_s = time.perf_counter() - start
    return len(paths) / cache_s, len(paths) / pil_s


def time_cache_epoch(images: np.ndarray) -> float:
    """Images/second of one shuffled epoch of normalised batches gathered from the cache."""
    data = torch.from_numpy(np.ascontiguousarray(images))
    mean, std = channel_statistics(images)
    to_model = ImageInput(mean, std)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for index in order.split(BATCH_SIZE):
        to_model(data[index])
    return len(data) / (time.perf_counter() - start)


def time_pil_epoch(folder: Path, image_size: int, workers: int) -> float:
    """Images/second of one shuffled epoch through a PIL-per-item Dataset and DataLoader."""
    dataset = PILFaces(sorted(folder.glob("*.jpg")), image_size)
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    for _batch in loader:
        pass
    return len(dataset) / (time.perf_counter() - start)


def main() -> None:
    """Print the ingest table, then the input-path table, for each image size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    folder = parser.parse_args().data_dir / "utkface"
    print(f"{len(list(folder.glob('*.jpg')))} images in {folder}, {os.cpu_count()} CPU cores\n")
    print(f"{'size':>5} | {'cache build img/s':>17} | {'PIL one by one img/s':>20} | {'ratio':>5}")
    for size in IMAGE_SIZES:
        cache_rate, pil_rate = time_ingest(folder, size)
        ratio = cache_rate / pil_rate
        print(f"{size:>5} | {cache_rate:>17,.0f} | {pil_rate:>20,.0f} | {ratio:>4.1f}x")
    print(
        f"\n{'size':>5} | {'from cache img/s':>16} | "
        + " | ".join(f"{f'PIL loader w={w} img/s':>20} | {'ratio':>6}" for w in LOADER_WORKERS)
    )
    with tempfile.TemporaryDirectory() as cache_dir:
        for size in IMAGE_SIZES:
            _, cache, _ = build_image_cache(
                folder, size, Path(cache_dir), os.cpu_count() or 1, 0.01
            )
            cache_rate = time_cache_epoch(open_image_cache(cache.images))
            cells = []
            for workers in LOADER_WORKERS:
                pil_rate = time_pil_epoch(folder, size, workers)
                cells.append(f"{pil_rate:>20,.0f} | {cache_rate / pil_rate:>5.0f}x")
            print(f"{size:>5} | {cache_rate:>16,.0f} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
