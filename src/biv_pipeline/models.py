"""Regression networks, by name. Every model maps a batch to predictions of shape (B,)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from biv_pipeline.errors import ParameterError

VANILLA_ANN_WIDTHS: tuple[int, ...] = (100, 50, 20, 10)


class VanillaANN(nn.Module):
    """The original's MLP for tabular data: in -> 100 -> 50 -> 20 -> 10 -> 1, ReLU between."""

    def __init__(self, n_features: int, widths: tuple[int, ...] = VANILLA_ANN_WIDTHS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = n_features
        for width in widths:
            layers += [nn.Linear(previous, width), nn.ReLU()]
            previous = width
        layers.append(nn.Linear(previous, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions of shape (B,) for inputs of shape (B, n_features)."""
        return self.net(x).squeeze(-1)


ModelBuilder = Callable[[tuple[int, ...]], nn.Module]

MODELS: dict[str, ModelBuilder] = {
    "vanilla_ann": lambda input_shape: VanillaANN(input_shape[0]),
}


def check_model_name(name: str) -> None:
    """name is a registered model (``auto`` is resolved per dataset before this)."""
    if name not in MODELS:
        raise ParameterError(f"model must be one of auto, {', '.join(MODELS)}; got {name!r}")


def build_model(name: str, input_shape: tuple[int, ...]) -> nn.Module:
    """Instantiate model ``name`` for inputs of ``input_shape`` (one sample, no batch axis)."""
    check_model_name(name)
    return MODELS[name](input_shape)
