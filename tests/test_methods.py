"""Method names: ``loss`` for the network, ``model/loss`` when models are compared."""

from __future__ import annotations

import pytest

from biv_pipeline.methods import method_name, method_ranks, resolve_method, split_method


@pytest.mark.parametrize(
    ("model", "loss", "compared", "name"),
    [
        (None, "biv", False, "biv"),
        ("vanilla_ann", "biv", False, "biv"),
        ("vanilla_ann", "biv", True, "vanilla_ann/biv"),
        ("gbm", "iv", True, "gbm/iv"),
        ("gbm", "iv", False, "gbm/iv"),  # a classical model is always named
    ],
)
def test_a_method_is_its_loss_unless_models_are_compared(
    model: str | None, loss: str, compared: bool, name: str
) -> None:
    assert method_name(model, loss, compared) == name
    assert split_method(name) == ((model if name != loss else None), loss)


def test_a_bare_loss_means_the_networks_method_and_back() -> None:
    models = ["vanilla_ann/mse", "vanilla_ann/iv", "gbm/mse", "gbm/iv"]
    assert resolve_method("mse", models) == "vanilla_ann/mse"
    assert resolve_method("gbm/iv", models) == "gbm/iv"
    assert resolve_method("vanilla_ann/iv", ["mse", "iv"]) == "iv"
    assert resolve_method("gbm/iv", ["mse", "iv"]) == "gbm/iv"  # not there: no match
    two_networks = ["vanilla_ann/mse", "resnet18/mse"]
    assert resolve_method("mse", two_networks) == "mse"  # ambiguous: no match


def test_methods_are_ordered_as_listed_then_by_model() -> None:
    methods = ["linear/iv", "gbm/mse", "vanilla_ann/biv", "gbm/iv", "clean", "vanilla_ann/mse"]
    ranks = method_ranks(methods, ["clean", "mse", "iv", "biv", "cutoff"])
    ordered = sorted(methods, key=lambda method: (*ranks[method], method))
    assert ordered == [
        "clean",
        "vanilla_ann/mse",
        "vanilla_ann/biv",
        "gbm/mse",
        "gbm/iv",
        "linear/iv",
    ]
