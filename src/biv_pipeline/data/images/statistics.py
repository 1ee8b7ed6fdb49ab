"""Per-channel statistics of uint8 images (N, 3, H, W), on the 0..1 scale.

The exact per-image channel sums (:func:`channel_sums`, stored with the image cache) give the
statistics of any subset of images as a sum of rows (:func:`subset_channel_statistics`).
"""

from __future__ import annotations

import numpy as np

CHUNK = 64  # images summed at a time
SUMS = 0  # row of a channel-sums entry: the sum of the uint8 values of each channel
SQUARES = 1  # row: the sum of their squares
UINT8_MAX = 255.0  # statistics are on the 0..1 scale


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
