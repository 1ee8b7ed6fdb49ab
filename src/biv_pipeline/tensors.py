"""The pipeline's tables as the learner reads them: features or cached images, labels and
their variances, as tensors for a network or as a float64 design for a linear pilot fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from biv_pipeline.data.images.cache import IMAGE_KEY, CachedImages
from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import DECLARED, LABEL, NOISY, clean_label_column, declares_noise
from biv_pipeline.heterogeneity import pooled_image_features
from biv_pipeline.training import EvaluationTensors, RegressionTensors


def model_inputs(frame: pd.DataFrame, images: CachedImages | None) -> torch.Tensor:
    """Float features (B, F), or uint8 images (B, 3, H, W) gathered from the image cache."""
    if IMAGE_KEY in frame:
        rows = frame[IMAGE_KEY].to_numpy()
        return torch.from_numpy(np.ascontiguousarray(images.images[rows]))
    return torch.tensor(frame[feature_columns(frame)].to_numpy(dtype=np.float32))


def column_tensor(frame: pd.DataFrame, name: str) -> torch.Tensor:
    """One column of ``frame`` as a float32 tensor."""
    return torch.tensor(frame[name].to_numpy(dtype=np.float32))


def train_tensors(noisy_train: pd.DataFrame, images: CachedImages | None) -> RegressionTensors:
    """The training labels as the loss sees them: inputs, noisy labels, seen variances."""
    return RegressionTensors(
        model_inputs(noisy_train, images),
        column_tensor(noisy_train, NOISY.y_noisy),
        column_tensor(noisy_train, NOISY.variance_seen),
    )


def test_tensors(test_split: pd.DataFrame, images: CachedImages | None) -> EvaluationTensors:
    """The test split's inputs, its labels as they are (noisy with declared variances, or
    clean), their variances and the clean labels where known (``clean_label_column``)."""
    labels = column_tensor(test_split, LABEL)
    noisy = declares_noise(test_split)
    variance = column_tensor(test_split, DECLARED.variance) if noisy else torch.zeros_like(labels)
    clean = clean_label_column(test_split)
    clean_labels = (
        None if clean is None else labels if clean == LABEL else column_tensor(test_split, clean)
    )
    return EvaluationTensors(model_inputs(test_split, images), labels, variance, clean_labels)


def pilot_features(frame: pd.DataFrame, images: CachedImages | None) -> np.ndarray:
    """The features of a linear pilot fit, in float64: a table's feature columns, or an
    image's channel means on a coarse grid (``pooled_image_features``)."""
    if IMAGE_KEY in frame:
        return pooled_image_features(images.images, frame[IMAGE_KEY].to_numpy())
    return frame[feature_columns(frame)].to_numpy(dtype=np.float64)
