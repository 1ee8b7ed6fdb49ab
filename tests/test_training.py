"""The training loop: learning, determinism, skipped batches, non-finite losses, devices."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from biv_pipeline.losses import make_loss
from biv_pipeline.models import build_model
from biv_pipeline.training import (
    NonFiniteLossError,
    RegressionTensors,
    TrainingConfig,
    fit,
    mean_squared_error,
    resolve_device,
)

CONFIG = TrainingConfig(loss="biv", epochs=5, batch_size=64, lr=1e-2, device="cpu")


def regression_problem(n: int, seed: int = 0) -> RegressionTensors:
    """y = sin(2 x0) + x1 on 4 features, with per-label variances in [0, 1)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = torch.sin(2 * x[:, 0]) + x[:, 1]
    return RegressionTensors(x, y, torch.rand(n, generator=generator))


def train(config: TrainingConfig, train_data: RegressionTensors | None = None):
    torch.manual_seed(config.seed)
    model = build_model("vanilla_ann", (4,))
    loss_fn = make_loss(config.loss, config.epsilon, config.ess_ratio, config.cutoff)
    data = train_data or regression_problem(1024)
    history = fit(
        model,
        loss_fn,
        data,
        regression_problem(256, seed=1),
        config,
        torch.Generator().manual_seed(config.seed),
    )
    return model, history


def test_training_lowers_the_test_error() -> None:
    _, history = train(replace(CONFIG, epochs=15))
    untrained = build_model("vanilla_ann", (4,))
    test = regression_problem(256, seed=1)
    assert history["test_mse"].iloc[-1] < 0.5 * mean_squared_error(untrained, test)
    assert list(history["epoch"]) == list(range(1, 16))


def test_same_seed_gives_the_same_history() -> None:
    _, first = train(CONFIG)
    _, second = train(CONFIG)
    assert first.equals(second)


def test_auto_epsilon_is_logged_with_the_effective_batch_size() -> None:
    _, history = train(replace(CONFIG, epsilon="auto", ess_ratio=0.6))
    assert (history["epsilon_mean"] >= 0).all()
    assert (history["effective_batch_size"] >= 0.6 * 64 - 1e-3).all()


def test_cutoff_skips_and_counts_batches_without_any_kept_label() -> None:
    data = regression_problem(256)
    variance = torch.full((256,), 5.0)
    variance[:8] = 0.1  # only 8 labels pass the cutoff: most batches of 16 have none
    data = RegressionTensors(data.x, data.y, variance)
    config = replace(CONFIG, loss="cutoff", cutoff=1.0, batch_size=16, epochs=2)
    _, history = train(config, data)
    assert (history["skipped_batches"] > 0).all()
    assert (history["skipped_batches"] < 16).all()


def test_cutoff_skips_exactly_the_batches_of_the_seeded_order_without_a_kept_label() -> None:
    data = regression_problem(250)  # batches of 16: the last one holds 10 rows
    variance = torch.full((250,), 5.0)
    variance[:8] = 0.1
    data = RegressionTensors(data.x, data.y, variance)
    config = replace(CONFIG, loss="cutoff", cutoff=1.0, batch_size=16, epochs=3)
    _, history = train(config, data)
    generator = torch.Generator().manual_seed(config.seed)
    expected = []
    for _ in range(config.epochs):
        order = torch.randperm(250, generator=generator).tolist()
        batches = [order[start : start + 16] for start in range(0, 250, 16)]
        expected.append(sum(all(row >= 8 for row in batch) for batch in batches))
    assert list(history["skipped_batches"]) == expected


def test_a_non_finite_loss_stops_training_naming_epoch_and_batch() -> None:
    data = regression_problem(128)
    data = RegressionTensors(data.x, data.y, torch.zeros(128))  # 1 / (0 + 0) = inf weights
    with pytest.raises(NonFiniteLossError, match=r"at epoch 1, batch 1"):
        train(replace(CONFIG, loss="iv", epsilon=0.0), data)


def test_auto_device_falls_back_to_cpu_without_cuda() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize("spec", ["tpu", "gpu0", "cuda:x"])
def test_unknown_devices_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:N"):
        resolve_device(spec)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a CPU-only machine")
def test_asking_for_cuda_without_it_says_so() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loss": "huber"}, "loss must be one of mse, iv, biv, cutoff; got 'huber'"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
        ({"lr": 0}, "lr must be a number > 0 or auto"),
        ({"model": "resnet50"}, "model must be one of auto, vanilla_ann"),
        ({"epsilon": "tiny"}, "epsilon must be a number >= 0 or 'auto'"),
    ],
)
def test_training_config_names_bad_values(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        replace(CONFIG, **overrides)
    assert message in str(error.value)


def test_training_loss_is_finite_and_recorded() -> None:
    _, history = train(CONFIG)
    assert all(math.isfinite(v) for v in history["train_loss"])
