"""Training loop for in-memory regression data: whole tensors on the device, shuffled index batches.

No Dataset/DataLoader: each batch is an index gather on tensors that already live on the
device, and the host synchronises once per epoch (loss check, metrics), not per batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from biv_pipeline.errors import NonFiniteLossError, ParameterError
from biv_pipeline.losses import AUTO, WeightedSquaredLoss
from biv_pipeline.parameters.training import TrainingConfig, check_device_name
from biv_pipeline.progress import progress_bars_wanted
from biv_pipeline.run_record import (
    CLEAN_EST_METRIC,
    CLEAN_EST_SE_METRIC,
    HISTORY_METRIC,
    NOISY_METRIC,
)

PREDICT_BATCH = 8192


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(count)``, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def scaled_learning_rate(
    config: TrainingConfig, loss_fn: WeightedSquaredLoss, variance: torch.Tensor
) -> float:
    """The learning rate used: ``lr``, or with ``lr_scale: mean_weight``

    lr / mean weight of the loss over the training labels (``loss_fn.mean_weight``),

    so that IV's gradients have the scale of MSE's on average; the losses whose weights are
    normalised per batch or 1 (biv, mse, cutoff) have mean weight 1 and keep ``lr``.
    """
    if config.lr_scale != "mean_weight":
        return float(config.lr)
    return float(config.lr) / loss_fn.mean_weight(variance)


def make_optimizer(
    config: TrainingConfig, parameters: Iterable[nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    """Adam, or plain SGD (with ``momentum``), at learning rate ``lr``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=config.momentum)
    return torch.optim.Adam(parameters, lr=lr)


def use_amp(amp: bool | str, device: torch.device) -> bool:
    """bf16 autocast: ``auto`` means on for CUDA, off for CPU."""
    return device.type == "cuda" if amp == AUTO else bool(amp)


def resolve_device(spec: str) -> torch.device:
    """``auto`` -> cuda if available else cpu; ``cpu``, ``cuda`` and ``cuda:N`` are accepted."""
    check_device_name(spec)
    if spec == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {spec!r} was asked for but CUDA is not available here")
    return device


@dataclass(frozen=True)
class RegressionTensors:
    """Inputs, targets and (for training) the per-label noise variances seen by the learner.

    Inputs are float features (B, F) or uint8 images (B, 3, H, W); targets and variances (B,).
    """

    x: torch.Tensor
    y: torch.Tensor
    variance: torch.Tensor | None = None

    def to(self, device: torch.device) -> RegressionTensors:
        """A copy on ``device``; inputs that do not fit in GPU memory stay in pinned host memory."""
        variance = None if self.variance is None else self.variance.to(device)
        try:
            x = self.x.to(device)
        except torch.OutOfMemoryError:
            x = self.x.pin_memory()
        return RegressionTensors(x, self.y.to(device), variance)


@dataclass(frozen=True)
class EvaluationTensors:
    """Test inputs and labels: ``y`` as given (noisy where a table declares its noise), its
    noise ``variance`` (zeros for clean labels), and the ``clean`` labels where they are known
    (``y`` itself for clean labels, None when unknown). Targets and variances (B,)."""

    x: torch.Tensor
    y: torch.Tensor
    variance: torch.Tensor
    clean: torch.Tensor | None

    @classmethod
    def of(cls, data: RegressionTensors | EvaluationTensors) -> EvaluationTensors:
        """``data`` as test tensors: regression tensors hold clean labels (their variances,
        the ones a learner would see, are not the test labels' noise)."""
        if isinstance(data, EvaluationTensors):
            return data
        return cls(data.x, data.y, torch.zeros_like(data.y), data.y)

    def to(self, device: torch.device) -> EvaluationTensors:
        """A copy on ``device`` (inputs as ``RegressionTensors.to`` moves them)."""
        moved = RegressionTensors(self.x, self.y, self.variance).to(device)
        clean = None if self.clean is None else self.clean.to(device)
        return EvaluationTensors(moved.x, moved.y, moved.variance, clean)


def noisy_test_scores(
    prediction: np.ndarray, label: np.ndarray, variance: np.ndarray
) -> dict[str, float]:
    """Scores of predictions f on test labels y~ = y + e with known noise variances sigma^2
    (zero-mean noise, independent of f and across labels), in float64:

    test_mse_noisy = mean (f - y~)^2;
    test_mse_clean_est = mean d,  d = (f - y~)^2 - sigma^2, an unbiased estimate of the clean
    test MSE mean (f - y)^2, since E[(f - y~)^2] = (f - y)^2 + sigma^2;
    test_mse_clean_est_se = sd(d) / sqrt(n) (ddof 1), its standard error over the test rows.

    Shapes: all (n,). On clean labels (sigma^2 = 0) both equal the clean test MSE.
    """
    squared = (np.asarray(prediction, np.float64) - np.asarray(label, np.float64)) ** 2
    d = squared - np.asarray(variance, np.float64)
    se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
    return {
        NOISY_METRIC: float(squared.mean()),
        CLEAN_EST_METRIC: float(d.mean()),
        CLEAN_EST_SE_METRIC: float(se),
    }


def gather(x: torch.Tensor, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows ``index`` of ``x`` on ``device``, gathered where ``x`` lives.

    Pass ``index`` where ``x`` lives: moving it from the GPU to the host would synchronise.
    Rows of a host tensor bound for CUDA are gathered into pinned memory, so that the copy
    to the device is asynchronous.
    """
    index = index.to(x.device)
    if x.device.type == "cpu" and device.type == "cuda":
        rows = torch.empty((index.numel(), *x.shape[1:]), dtype=x.dtype, pin_memory=True)
        return torch.index_select(x, 0, index, out=rows).to(device, non_blocking=True)
    return x[index].to(device, non_blocking=True)


def predict(
    model: nn.Module, x: torch.Tensor, amp: bool = False, batch_size: int = PREDICT_BATCH
) -> torch.Tensor:
    """Predictions (float32) of ``model`` in eval mode without gradients, in chunks."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        out = torch.cat([model(chunk.to(device)).float() for chunk in x.split(batch_size)])
    model.train(was_training)
    return out


def mean_squared_error(model: nn.Module, data: RegressionTensors, amp: bool = False) -> float:
    """Mean squared error of ``model`` on ``data`` (one host synchronisation)."""
    return float(
        ((predict(model, data.x, amp) - data.y.to(next(model.parameters()).device)) ** 2).mean()
    )


def test_metrics(model: nn.Module, test: EvaluationTensors, amp: bool = False) -> dict[str, float]:
    """The test scores of one epoch: ``test_mse`` against the clean labels where they are known
    (float32, on the device), and the scores on the labels as given (``noisy_test_scores``)."""
    prediction = predict(model, test.x, amp)
    metrics = {}
    if test.clean is not None:
        clean = test.clean.to(prediction.device)
        metrics[HISTORY_METRIC] = float(((prediction - clean) ** 2).mean())
    numpy = [t.detach().double().cpu().numpy() for t in (prediction, test.y, test.variance)]
    return {**metrics, **noisy_test_scores(*numpy)}


def fit(
    model: nn.Module,
    loss_fn: WeightedSquaredLoss,
    train: RegressionTensors,
    test: RegressionTensors | EvaluationTensors,
    config: TrainingConfig,
    generator: torch.Generator,
) -> pd.DataFrame:
    """Train ``model`` with the configured optimiser; score it on the test set once per epoch
    (``test_metrics``; regression tensors as the test set hold clean labels).

    The loss is asked first whether it can learn from the training labels (``check_labels``),
    then once per epoch which batches it trains on (``trained_batches``) and once per such
    batch for its loss, epsilon and effective batch size (``batch_loss``).
    Returns the per-epoch history: train_loss (mean over batches), the test scores (test_mse
    where the clean test labels are known, test_mse_noisy, test_mse_clean_est and its
    standard error), the mean epsilon and Kish effective batch size, the batches skipped for
    lack of signal, and the learning rate used (see ``scaled_learning_rate``).
    Raises ``NonFiniteLossError`` naming the epoch and batch if the loss stops being finite.
    """
    loss_fn.check_labels(train.variance)
    device = resolve_device(config.device)
    amp = use_amp(config.amp, device)
    if device.type == "cuda" and train.x.dim() == 4:
        model.to(memory_format=torch.channels_last)
    model.to(device)
    forward = torch.compile(model) if config.compile else model
    train, test = train.to(device), EvaluationTensors.of(test).to(device)
    lr = scaled_learning_rate(config, loss_fn, train.variance)
    optimiser = make_optimizer(config, model.parameters(), lr)
    n_rows = len(train.y)
    n_batches = math.ceil(n_rows / config.batch_size)
    history = []
    epochs = tqdm(
        range(1, config.epochs + 1),
        desc=f"train {config.loss}",
        unit="epoch",
        disable=None if progress_bars_wanted() else True,
    )
    for epoch in epochs:
        model.train()
        order_on_host = torch.randperm(n_rows, generator=generator)
        order = order_on_host.to(device)
        x_order = order if train.x.device.type == device.type else order_on_host
        # at most one host synchronisation per epoch for the batches to skip, none per batch
        trained = loss_fn.trained_batches(train.variance[order], config.batch_size)
        batches = list(
            zip(order.split(config.batch_size), x_order.split(config.batch_size), strict=True)
        )
        batch_losses = torch.zeros(n_batches, device=device)
        used = torch.zeros(n_batches, dtype=torch.bool, device=device)
        epsilon_sum = torch.zeros((), device=device)
        ess_sum = torch.zeros((), device=device)
        for batch in trained:
            index, x_index = batches[batch]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                prediction = forward(gather(train.x, x_index, device))
            step = loss_fn.batch_loss(prediction.float(), train.y[index], train.variance[index])
            optimiser.zero_grad(set_to_none=True)
            step.loss.backward()
            optimiser.step()
            batch_losses[batch] = step.loss.detach()
            used[batch] = True
            epsilon_sum += step.epsilon
            ess_sum += step.effective_size
        n_used = len(trained)
        _check_finite(batch_losses, used, epoch)
        record = {
            "epoch": epoch,
            "train_loss": float(batch_losses[used].mean()) if n_used else math.nan,
            **test_metrics(model, test, amp),
            "epsilon_mean": float(epsilon_sum) / max(n_used, 1),
            "effective_batch_size": float(ess_sum) / max(n_used, 1),
            "skipped_batches": n_batches - n_used,
            "lr": lr,
        }
        history.append(record)
        test_score = record.get(HISTORY_METRIC, record[CLEAN_EST_METRIC])
        epochs.set_postfix(train_loss=record["train_loss"], test_mse=test_score)
    model.to("cpu")
    return pd.DataFrame(history)


def _check_finite(batch_losses: torch.Tensor, used: torch.Tensor, epoch: int) -> None:
    bad = used & ~torch.isfinite(batch_losses)
    if bad.any():
        batch = int(bad.nonzero()[0])
        raise NonFiniteLossError(
            f"training loss became {float(batch_losses[batch])} at epoch {epoch}, batch "
            f"{batch + 1}; lower lr, raise epsilon, or check the variances"
        )
