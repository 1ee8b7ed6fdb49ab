"""The training loop: learning, determinism, skipped batches, non-finite losses, devices."""

from __future__ import annotations

import math
import os
from dataclasses import replace

import pytest
import torch

from biv_pipeline.errors import ParameterError
from biv_pipeline.losses import CutoffMSELoss, make_loss
from biv_pipeline.models import build_model
from biv_pipeline.parameters.resolved_training import make_training_config
from biv_pipeline.training import (
    NonFiniteLossError,
    RegressionTensors,
    TrainingConfig,
    fit,
    make_optimizer,
    mean_squared_error,
    resolve_device,
    scaled_learning_rate,
    torch_threads,
)

TRAINING = {  # the top-level training parameters, as in conf/base/parameters_train.yml
    "loss": "biv", "epsilon": 0.5, "ess_ratio": 0.5, "cutoff": 1.0, "model": "auto",
    "epochs": 1, "batch_size": 64, "lr": "auto", "seed": 0, "device": "cpu", "amp": "auto",
    "compile": False,
}  # fmt: skip
CONFIG = TrainingConfig(loss="biv", epochs=5, batch_size=64, lr=1e-2, device="cpu")


def regression_problem(n: int, seed: int = 0) -> RegressionTensors:
    """y = sin(2 x0) + x1 on 4 features, with per-label variances in [0, 1)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = torch.sin(2 * x[:, 0]) + x[:, 1]
    return RegressionTensors(x, y, torch.rand(n, generator=generator))


def train(config: TrainingConfig, train_data: RegressionTensors | None = None, loss_fn=None):
    torch.manual_seed(config.seed)
    model = build_model("vanilla_ann", (4,))
    loss_fn = make_loss(config) if loss_fn is None else loss_fn
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


class CountingCutoff(CutoffMSELoss):
    """The cutoff loss, counting what ``fit`` asks of it."""

    def __init__(self, threshold: float) -> None:
        super().__init__(threshold)
        self.calls = {"check_labels": 0, "trained_batches": 0, "batch_loss": 0, "forward": 0}

    def check_labels(self, variance):
        self.calls["check_labels"] += 1
        return super().check_labels(variance)

    def trained_batches(self, variance, batch_size):
        self.calls["trained_batches"] += 1
        return super().trained_batches(variance, batch_size)

    def batch_loss(self, pred, target, variance):
        self.calls["batch_loss"] += 1
        return super().batch_loss(pred, target, variance)

    def forward(self, pred, target, variance):
        self.calls["forward"] += 1
        return super().forward(pred, target, variance)


def test_fit_asks_the_loss_once_per_trained_batch() -> None:
    data = regression_problem(250)
    variance = torch.full((250,), 5.0)
    variance[:40] = 0.1
    data = RegressionTensors(data.x, data.y, variance)
    config = replace(CONFIG, loss="cutoff", cutoff=1.0, batch_size=16, epochs=3)
    loss_fn = CountingCutoff(1.0)
    _, history = train(config, data, loss_fn)
    trained = 16 * config.epochs - int(history["skipped_batches"].sum())
    assert loss_fn.calls == {
        "check_labels": 1,
        "trained_batches": config.epochs,
        "batch_loss": trained,
        "forward": 0,
    }


def test_fit_trains_like_a_plain_loop_over_the_batches_with_a_kept_label() -> None:
    data = regression_problem(250)
    variance = torch.full((250,), 5.0)
    variance[:40] = 0.1
    data = RegressionTensors(data.x, data.y, variance)
    config = replace(CONFIG, loss="cutoff", cutoff=1.0, batch_size=16, epochs=3)
    model, _ = train(config, data)
    torch.manual_seed(config.seed)
    expected = build_model("vanilla_ann", (4,))
    optimiser = torch.optim.Adam(expected.parameters(), lr=config.lr)
    loss_fn = CutoffMSELoss(1.0)
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.epochs):
        for index in torch.randperm(250, generator=generator).split(16):
            if (variance[index] < 1.0).any():
                loss = loss_fn(expected(data.x[index]), data.y[index], variance[index])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    for name, value in expected.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name


def test_fit_stops_before_training_when_the_loss_cannot_learn_from_the_labels() -> None:
    data = regression_problem(256)
    data = RegressionTensors(data.x, data.y, torch.full((256,), 5.0))
    message = r"^cutoff = 1 is below every seen variance of the 256 training labels \(smallest 5"
    with pytest.raises(ParameterError, match=message):
        train(replace(CONFIG, loss="cutoff", cutoff=1.0), data)


def test_a_non_finite_loss_stops_training_naming_epoch_and_batch() -> None:
    data = regression_problem(128)
    # 1 / (1e-45 + 0) overflows float32: inf weights (a variance of 0 is refused before training)
    data = RegressionTensors(data.x, data.y, torch.full((128,), 1e-45))
    with pytest.raises(NonFiniteLossError, match=r"at epoch 1, batch 1"):
        train(replace(CONFIG, loss="iv", epsilon=0.0), data)


def test_auto_device_falls_back_to_cpu_without_cuda() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize("spec", ["tpu", "gpu0", "cuda:x"])
def test_unknown_devices_are_rejected(spec: str) -> None:
    with pytest.raises(ParameterError, match="device: must be auto, cpu, cuda or cuda:N"):
        resolve_device(spec)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a CPU-only machine")
def test_asking_for_cuda_without_it_says_so() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loss": "huber"}, "loss: input should be 'mse', 'iv', 'biv' or 'cutoff'; got 'huber'"),
        ({"epochs": 0}, "epochs: input should be greater than or equal to 1; got 0"),
        ({"batch_size": 2.5}, "batch_size: input should be a valid integer; got 2.5"),
        ({"lr": 0}, "lr: input should be greater than 0; got 0"),
        (
            {"model": "resnet50"},
            "model: input should be 'vanilla_ann', 'vanilla_cnn', 'resnet18', 'linear', 'gbm' "
            "or 'gp'; got 'resnet50'",
        ),
        (
            {"model": "gbm", "loss": "biv"},
            "loss biv normalises its weights per batch, and model gbm fits all the labels at "
            "once: use loss iv with a numeric epsilon (model=gbm,loss=iv,epsilon=0.5)",
        ),
        (
            {"model": "gp", "loss": "iv", "epsilon": "auto"},
            "epsilon: auto is chosen per batch, and model gp fits all the labels at once: use "
            "loss iv with a numeric epsilon (model=gp,loss=iv,epsilon=0.5)",
        ),
        (
            {"epsilon": "tiny"},
            "epsilon: input should be a valid number, or 'auto' or 'tau2_hat'; got 'tiny'",
        ),
        ({"optimizer": "rmsprop"}, "optimizer: input should be 'adam' or 'sgd'; got 'rmsprop'"),
        ({"optimizer": "sgd", "momentum": 1.0}, "momentum: input should be less than 1; got 1.0"),
        ({"momentum": 0.9}, "momentum applies to optimizer: sgd only"),
        ({"lr_scale": "mean"}, "lr_scale: input should be 'none' or 'mean_weight'; got 'mean'"),
        ({"compile": 1}, "compile: input should be a valid boolean; got 1"),
        ({"seed": -1}, "seed: input should be greater than or equal to 0; got -1"),
        (
            {"loss": "iv", "epsilon": "auto", "lr_scale": "mean_weight"},
            "lr_scale: mean_weight needs a numeric epsilon with loss iv",
        ),
    ],
)
def test_training_config_names_bad_values(overrides: dict, message: str) -> None:
    with pytest.raises(ParameterError) as error:
        make_training_config("synthetic", **{**TRAINING, **overrides})
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_training_loss_is_finite_and_recorded() -> None:
    _, history = train(CONFIG)
    assert all(math.isfinite(v) for v in history["train_loss"])


def test_sgd_is_plain_sgd_with_the_configured_momentum() -> None:
    model = build_model("vanilla_ann", (4,))
    optimiser = make_optimizer(
        replace(CONFIG, optimizer="sgd", momentum=0.5), model.parameters(), 0.1
    )
    assert type(optimiser) is torch.optim.SGD
    assert (optimiser.defaults["lr"], optimiser.defaults["momentum"]) == (0.1, 0.5)
    assert type(make_optimizer(CONFIG, model.parameters(), 0.1)) is torch.optim.Adam


def test_mean_weight_divides_ivs_lr_by_the_mean_inverse_variance_weight() -> None:
    variance = torch.tensor([0.0, 0.5, 1.5, 3.0])
    config = replace(CONFIG, loss="iv", epsilon=0.5, lr=0.1, lr_scale="mean_weight")
    mean_weight = (1 / 0.5 + 1 / 1.0 + 1 / 2.0 + 1 / 3.5) / 4
    assert scaled_learning_rate(config, make_loss(config), variance) == pytest.approx(
        0.1 / mean_weight, rel=1e-12
    )


@pytest.mark.parametrize("loss", ["mse", "biv", "cutoff"])
def test_mean_weight_leaves_the_lr_of_normalised_losses_alone(loss: str) -> None:
    config = replace(CONFIG, loss=loss, lr=0.1, lr_scale="mean_weight")
    assert scaled_learning_rate(config, make_loss(config), torch.tensor([0.0, 2.0])) == 0.1


def test_sgd_training_records_the_scaled_lr_and_learns() -> None:
    config = replace(
        CONFIG, loss="iv", epsilon=0.5, optimizer="sgd", lr_scale="mean_weight", epochs=15
    )
    data = regression_problem(1024)
    _, history = train(config, data)
    lr = scaled_learning_rate(config, make_loss(config), data.variance)
    assert history["lr"].iloc[-1] == pytest.approx(lr)
    assert history["test_mse"].iloc[-1] < history["test_mse"].iloc[0]


def test_threads_apply_to_the_block_and_are_restored() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_auto_threads_is_one_for_the_tabular_network_only() -> None:
    tabular = make_training_config("synthetic", **{**TRAINING, "threads": "auto"})
    faces = make_training_config("utkf", **{**TRAINING, "threads": "auto"})
    assert tabular.threads == 1
    assert faces.threads == len(os.sched_getaffinity(0))
    with pytest.raises(
        ParameterError, match="threads: input should be greater than or equal to 1; got 0"
    ):
        make_training_config("synthetic", **{**TRAINING, "threads": 0})
