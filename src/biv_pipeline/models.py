"""Regression networks, by name. Every model maps a batch to predictions of shape (B,).

The classical models (``linear``, ``gbm``, ``gp``) are in :mod:`biv_pipeline.classical`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from biv_pipeline.parameters.training import NETWORK_NAMES, check_network_name, check_registry

VANILLA_ANN_WIDTHS: tuple[int, ...] = (100, 50, 20, 10)
VANILLA_CNN_CHANNELS: tuple[int, ...] = (10, 20, 32, 64, 128, 256)


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


class VanillaCNN(nn.Module):
    """The original's CNN: six blocks Conv3x3 + BatchNorm + ReLU + MaxPool2, then a linear head.

    Channels 10-20-32-64-128-256; pooling rounds up, so any input of 2^k pixels or more
    keeps a spatial extent, and the head size follows the input size.
    """

    def __init__(
        self, input_shape: tuple[int, ...], channels: tuple[int, ...] = VANILLA_CNN_CHANNELS
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        previous = input_shape[0]
        for width in channels:
            blocks += [
                nn.Conv2d(previous, width, kernel_size=3, padding=1),
                nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            previous = width
        self.features = nn.Sequential(*blocks)
        with torch.no_grad():
            n_flat = self.features.eval()(torch.zeros(1, *input_shape)).numel()
        self.features.train()
        self.head = nn.Linear(n_flat, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions of shape (B,) for images of shape (B, C, H, W)."""
        return self.head(self.features(x).flatten(1)).squeeze(-1)


class ResNet18(nn.Module):
    """torchvision's ResNet-18, randomly initialised (weights=None), with one regression output."""

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        # torchvision.models pulls in torch._dynamo (~1 s): only the runs that use it pay
        from torchvision.models import resnet18  # noqa: PLC0415

        super().__init__()
        self.net = resnet18(weights=None, num_classes=1)
        if input_shape[0] != 3:
            self.net.conv1 = nn.Conv2d(input_shape[0], 64, 7, stride=2, padding=3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions of shape (B,) for images of shape (B, C, H, W)."""
        return self.net(x).squeeze(-1)


class ImageInput(nn.Module):
    """Turns uint8 images (B, 3, H, W) into normalised floats: (x/255 - mean) / std per channel.

    Computed as one fused x * scale + shift (scale = 1/(255 std), shift = -mean/std). Part of
    the model, so batches travel as uint8 and the logged model takes raw images.
    """

    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        mean_t, std_t = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)
        self.register_buffer("scale", 1.0 / (255.0 * std_t))
        self.register_buffer("shift", -mean_t / std_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised float images; channels-last on CUDA, where convolutions run faster so."""
        layout = torch.channels_last if x.is_cuda else torch.contiguous_format
        x = x.to(memory_format=layout, dtype=self.scale.dtype)
        return torch.addcmul(self.shift, x, self.scale)


ModelBuilder = Callable[[tuple[int, ...]], nn.Module]

MODELS: dict[str, ModelBuilder] = {
    "vanilla_ann": lambda input_shape: VanillaANN(input_shape[0]),
    "vanilla_cnn": VanillaCNN,
    "resnet18": ResNet18,
}
check_registry("network", MODELS, NETWORK_NAMES)


def build_model(name: str, input_shape: tuple[int, ...]) -> nn.Module:
    """Instantiate network ``name`` for inputs of ``input_shape`` (one sample, no batch axis)."""
    check_network_name(name)
    return MODELS[name](input_shape)
