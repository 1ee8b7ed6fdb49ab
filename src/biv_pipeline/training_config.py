"""The training parameters, validated without torch: a bad ``--params loss=bvi`` is named
before torch, MLflow or any data is loaded.

Framework-free; the losses, models and training loop import their checks from here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

from biv_pipeline.datasets import get_dataset
from biv_pipeline.errors import ParameterError

LOSSES: tuple[str, ...] = ("mse", "iv", "biv", "cutoff")
MODEL_NAMES: tuple[str, ...] = ("vanilla_ann", "vanilla_cnn", "resnet18")  # models.MODELS
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")
LR_SCALES: tuple[str, ...] = ("none", "mean_weight")
AUTO = "auto"
# threads: auto = 1 for the small tabular network (a Wine fit takes 1.1-2.4 s on one thread
# but 25-31 s on two when another process is busy: synchronisation dominates its tiny
# matrix products), every core for the image networks
SMALL_MODELS: tuple[str, ...] = ("vanilla_ann",)
DEVICE_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_epsilon(epsilon: float | str) -> None:
    """epsilon is a number >= 0 or ``auto``."""
    if epsilon != AUTO and not (
        isinstance(epsilon, int | float) and not isinstance(epsilon, bool) and epsilon >= 0
    ):
        raise ParameterError(f"epsilon must be a number >= 0 or 'auto'; got {epsilon!r}")


def check_ess_ratio(ess_ratio: float) -> None:
    """ess_ratio is a fraction in (0, 1)."""
    if not (isinstance(ess_ratio, int | float) and 0 < ess_ratio < 1):
        raise ParameterError(f"ess_ratio must be in (0, 1); got {ess_ratio!r}")


def check_cutoff(cutoff: float) -> None:
    """cutoff is a variance threshold > 0."""
    if not (isinstance(cutoff, int | float) and cutoff > 0):
        raise ParameterError(f"cutoff must be a number > 0; got {cutoff!r}")


def check_loss_name(name: str) -> None:
    """name is one of ``LOSSES``."""
    if name not in LOSSES:
        raise ParameterError(f"loss must be one of {', '.join(LOSSES)}; got {name!r}")


def check_model_name(name: str) -> None:
    """name is a registered model (``auto`` is resolved per dataset before this)."""
    if name not in MODEL_NAMES:
        raise ParameterError(f"model must be one of auto, {', '.join(MODEL_NAMES)}; got {name!r}")


def check_device_name(spec: str) -> None:
    """spec is auto, cpu, cuda or cuda:N (whether CUDA is there is checked where it is used)."""
    if not (isinstance(spec, str) and DEVICE_NAME.match(spec)):
        raise ParameterError(f"device must be auto, cpu, cuda or cuda:N; got {spec!r}")


@dataclass(frozen=True)
class TrainingConfig:
    """The training parameters (see ``conf/base/parameters_train.yml``), validated."""

    loss: str = "biv"
    epsilon: float | str = 0.5
    ess_ratio: float = 0.5
    cutoff: float = 1.0
    model: str = "vanilla_ann"
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-2
    seed: int = 0
    device: str = "auto"
    amp: bool | str = "auto"
    compile: bool = False
    optimizer: str = "adam"
    momentum: float = 0.0
    lr_scale: str = "none"
    threads: int = 1

    def __post_init__(self) -> None:
        check_loss_name(self.loss)
        check_epsilon(self.epsilon)
        check_ess_ratio(self.ess_ratio)
        check_cutoff(self.cutoff)
        check_model_name(self.model)
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(f"{name} must be a positive integer; got {value!r}")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise ParameterError(f"lr must be a number > 0 or auto; got {self.lr!r}")
        if not isinstance(self.seed, int):
            raise ParameterError(f"seed must be an integer; got {self.seed!r}")
        check_device_name(self.device)
        if self.amp not in (True, False, AUTO):
            raise ParameterError(f"amp must be auto, true or false; got {self.amp!r}")
        if not isinstance(self.compile, bool):
            raise ParameterError(f"compile must be true or false; got {self.compile!r}")
        self._check_optimizer()
        if not (isinstance(self.threads, int) and not isinstance(self.threads, bool)) or (
            self.threads < 1
        ):
            raise ParameterError(f"threads must be an integer >= 1 or auto; got {self.threads!r}")

    def _check_optimizer(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ParameterError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}"
            )
        if not (isinstance(self.momentum, int | float) and 0 <= self.momentum < 1):
            raise ParameterError(f"momentum must be in [0, 1); got {self.momentum!r}")
        if self.momentum and self.optimizer != "sgd":
            raise ParameterError(
                f"momentum applies to optimizer: sgd only; got momentum {self.momentum} with "
                f"optimizer {self.optimizer} (set momentum: 0)"
            )
        if self.lr_scale not in LR_SCALES:
            raise ParameterError(
                f"lr_scale must be one of {', '.join(LR_SCALES)}; got {self.lr_scale!r}"
            )
        if self.lr_scale == "mean_weight" and self.loss == "iv" and self.epsilon == AUTO:
            raise ParameterError(
                "lr_scale: mean_weight needs a numeric epsilon with loss iv (the weights "
                "1/(variance + epsilon) of every label); got epsilon: auto"
            )


TRAINING_PARAMETERS: tuple[str, ...] = tuple(field.name for field in fields(TrainingConfig))


def make_training_config(
    dataset: str,
    loss: str,
    epsilon: float | str,
    ess_ratio: float,
    cutoff: float,
    model: str,
    epochs: int,
    batch_size: int,
    lr: float | str,
    seed: int,
    device: str,
    amp: bool | str,
    compile: bool,
    optimizer: str = "adam",
    momentum: float = 0.0,
    lr_scale: str = "none",
    threads: int | str = 1,
) -> TrainingConfig:
    """Validate the training parameters and resolve ``auto`` model, lr and threads."""
    spec = get_dataset(dataset)
    model = spec.model if model == AUTO else model
    return TrainingConfig(
        loss=loss,
        epsilon=epsilon,
        ess_ratio=ess_ratio,
        cutoff=cutoff,
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        lr=spec.lr if lr == AUTO else lr,
        seed=seed,
        device=device,
        amp=amp,
        compile=compile,
        optimizer=optimizer,
        momentum=momentum,
        lr_scale=lr_scale,
        threads=auto_threads(model) if threads == AUTO else threads,
    )


def auto_threads(model: str) -> int:
    """1 for the small tabular network, else the CPUs this process may use."""
    if model in SMALL_MODELS:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
