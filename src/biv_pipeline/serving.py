"""The model a run logs: raw feature rows in, raw label units out.

Training runs on standardised features and labels; the logged model carries that
standardisation as its first and last layers (as image networks carry their channel
normalisation), so ``mlflow.pyfunc.load_model(uri).predict(raw_rows)`` is in label units.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from biv_pipeline.data.preprocessing import Normalisation

INPUT_EXAMPLE_ROWS = 5


class FeatureInput(nn.Module):
    """Standardises raw features: (x - mean) / std per column, in float32. Shapes: (B, F)."""

    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised features (B, F)."""
        return (x.to(self.mean.dtype) - self.mean) / self.std


class LabelOutput(nn.Module):
    """Turns the learner's label units into raw ones: y_raw = y * scale + offset. Shapes: (B,)."""

    def __init__(self, scale: float, offset: float) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.register_buffer("offset", torch.tensor(offset, dtype=torch.float32))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Predictions in raw label units (B,)."""
        return y * self.scale + self.offset


@dataclass(frozen=True)
class ServedModel:
    """A network for raw inputs and a few raw input rows (None for images) to log with it."""

    model: nn.Module
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


def serve_raw(network: nn.Module, stats: Normalisation, tabular: bool) -> nn.Module:
    """``network`` between the feature standardisation (tables) and the label's inverse."""
    layers: list[nn.Module] = []
    if tabular:
        identity = not stats.normalized
        mean = [0.0 if identity else stats.feature_mean[c] for c in stats.feature_mean]
        std = [1.0 if identity else stats.feature_std[c] for c in stats.feature_std]
        layers.append(FeatureInput(mean, std))
    layers += [network, LabelOutput(stats.label_scale, label_offset(stats))]
    return nn.Sequential(*layers).to("cpu").eval()


def input_example(test_split: pd.DataFrame, stats: Normalisation) -> pd.DataFrame:
    """The first raw test rows, as a user would send them."""
    return raw_features(test_split.head(INPUT_EXAMPLE_ROWS), stats).reset_index(drop=True)
