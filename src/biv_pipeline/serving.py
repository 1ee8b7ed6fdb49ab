"""The model a run logs: raw rows in, raw label units out.

Training runs on encoded, standardised features and standardised labels. The logged model of
a table is a :class:`RawRowModel`: it takes the table's raw columns (text categories, hours,
ordinal text; :class:`biv_pipeline.data.raw_rows.RawRows` refuses what it never saw, naming
the column), encodes and standardises them as the ingest did, asks its predictor, and turns
the answer back into label units. The predictor is any function of the standardised feature
matrix: a network (:class:`TorchPredictor`) or any other regressor trained on the same split.
An image network takes raw uint8 images and carries its normalisation as layers
(:func:`serve_images`). So ``mlflow.pyfunc.load_model(uri).predict(raw_rows)`` is in label
units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from biv_pipeline.data.preprocessing import Normalisation
from biv_pipeline.data.raw_rows import RawRows

if TYPE_CHECKING:
    pass

INPUT_EXAMPLE_ROWS = 5

# the standardised features (B, F), float32 -> predictions in the learner's label units (B,)
Predictor = Callable[[np.ndarray], np.ndarray]


class LabelOutput(nn.Module):
    """Turns the learner's label units into raw ones: y_raw = y * scale + offset. Shapes: (B,)."""

    def __init__(self, scale: float, offset: float) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.register_buffer("offset", torch.tensor(offset, dtype=torch.float32))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Predictions in raw label units (B,)."""
        return y * self.scale + self.offset


class TorchPredictor:
    """A network as a :data:`Predictor`: evaluated on the CPU, without gradients."""

    def __init__(self, network: nn.Module) -> None:
        self.network = network.to("cpu").eval()

    def __call__(self, features: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.network(torch.from_numpy(features.astype(np.float32))).numpy()


@dataclass(frozen=True)
class RawRowModel:
    """Raw rows -> predictions in raw label units, around any predictor on the standardised
    features of :attr:`rows` (see the module docstring)."""

    rows: RawRows
    stats: Normalisation
    predictor: Predictor

    def predict(self, raw: pd.DataFrame) -> np.ndarray:
        """Predictions (B,) in raw label units for raw rows (a DataFrame of the raw columns)."""
        features = self.rows.encode(raw)
        if self.stats.normalized:
            mean = np.array([self.stats.feature_mean[name] for name in self.rows.features])
            std = np.array([self.stats.feature_std[name] for name in self.rows.features])
            features = (features - mean) / std
        learner = np.asarray(self.predictor(features), dtype=np.float64)
        return learner.reshape(-1) * self.stats.label_scale + label_offset(self.stats)


@dataclass(frozen=True)
class ServedModel:
    """A model for raw inputs and a few raw input rows (None for images) to log with it."""

    model: RawRowModel | nn.Module
    input_example: pd.DataFrame | None


def label_offset(stats: Normalisation) -> float:
    """The raw label value of a learner's 0: the training mean if labels were standardised."""
    return stats.label_mean if stats.normalized else 0.0


def raw_features(frame: pd.DataFrame, stats: Normalisation) -> pd.DataFrame:
    """The feature columns of a standardised split back in raw units: x * std + mean."""
    columns = list(stats.feature_mean)
    if not stats.normalized:
        return frame[columns].astype(float)
    return frame[columns] * pd.Series(stats.feature_std) + pd.Series(stats.feature_mean)


def serve_rows(predictor: Predictor, stats: Normalisation, source: dict | None) -> RawRowModel:
    """The model of a table: raw columns of the table declared as ``source`` (None: a
    built-in table) in, raw label units out."""
    return RawRowModel(RawRows.of_table(source, list(stats.feature_mean)), stats, predictor)


def serve_images(network: nn.Module, stats: Normalisation) -> nn.Module:
    """An image network (raw uint8 images in) followed by the label's inverse standardisation."""
    output = LabelOutput(stats.label_scale, label_offset(stats))
    return nn.Sequential(network, output).to("cpu").eval()


def input_example(test_split: pd.DataFrame, model: RawRowModel) -> pd.DataFrame:
    """The first test rows in their raw columns, as a user would send them."""
    raw = raw_features(test_split.head(INPUT_EXAMPLE_ROWS), model.stats)
    return model.rows.decode(raw).reset_index(drop=True)
