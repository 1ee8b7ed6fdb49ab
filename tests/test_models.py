"""Networks: output shapes for every input size, and the uint8 image input layer."""

from __future__ import annotations

import pytest
import torch

from biv_pipeline.errors import ParameterError
from biv_pipeline.models import MODELS, ImageInput, build_model
from biv_pipeline.parameters.training import NETWORK_NAMES


@pytest.mark.parametrize("size", [32, 64, 200])
@pytest.mark.parametrize("name", ["vanilla_cnn", "resnet18"])
def test_image_models_give_one_prediction_per_image(name: str, size: int) -> None:
    model = build_model(name, (3, size, size))
    assert model(torch.zeros(2, 3, size, size)).shape == (2,)


def test_vanilla_ann_is_the_original_mlp() -> None:
    model = build_model("vanilla_ann", (11,))
    widths = [layer.out_features for layer in model.net if isinstance(layer, torch.nn.Linear)]
    assert widths == [100, 50, 20, 10, 1]
    assert model(torch.zeros(5, 11)).shape == (5,)


def test_image_input_matches_the_float64_normalisation() -> None:
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    expected = (x.double() / 255 - torch.tensor(mean, dtype=torch.float64).view(1, -1, 1, 1)) / (
        torch.tensor(std, dtype=torch.float64).view(1, -1, 1, 1)
    )
    torch.testing.assert_close(ImageInput(mean, std)(x).double(), expected, atol=1e-5, rtol=0)


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(
        ParameterError,
        match="model: input should be 'vanilla_ann', 'vanilla_cnn' or 'resnet18'; got 'vgg'",
    ):
        build_model("vgg", (3, 32, 32))


def test_the_registry_builds_every_network_the_parameters_name() -> None:
    assert set(MODELS) == set(NETWORK_NAMES)
