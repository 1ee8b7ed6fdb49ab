"""The training parameters, validated without torch: a bad ``--params loss=bvi`` is named
before torch, MLflow or any data is loaded.

Framework-free; the losses, models and training loop import their checks from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError
from pydantic import dataclasses as pydantic_dataclasses

from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.types import (
    AUTO,
    BLOCK_CONFIG,
    Count,
    Flag,
    NonNegativeReal,
    OpenFraction,
    PositiveReal,
    Seed,
    describe_validation_error,
    or_auto,
    or_words,
)

# The names a run accepts, written once here, torch-free (a bad name is refused before torch
# loads); the registries, losses.LOSS_CLASSES, models.MODELS and classical.ESTIMATORS, are
# checked against them when imported (``check_registry``).
LossName = Literal["mse", "iv", "biv", "cutoff"]
NetworkName = Literal["vanilla_ann", "vanilla_cnn", "resnet18"]  # trained in batches (torch)
ClassicalName = Literal["linear", "gbm", "gp"]  # fitted once on all their labels (scikit-learn)
ModelName = Literal[NetworkName, ClassicalName]
Epsilon = or_auto(NonNegativeReal)  # what a loss takes
TAU2_HAT = "tau2_hat"  # epsilon estimated from the labels (biv_pipeline.heterogeneity)
EpsilonSetting = or_words(NonNegativeReal, AUTO, TAU2_HAT)  # what a run takes
DEVICE_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def _device_name(spec: str) -> str:
    if not DEVICE_NAME.match(spec):
        raise ValueError("must be auto, cpu, cuda or cuda:N")
    return spec


DeviceName = Annotated[str, Field(strict=True), AfterValidator(_device_name)]
Momentum = Annotated[float, Field(strict=True, ge=0, lt=1)]
LOSSES: tuple[str, ...] = get_args(LossName)
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)
NETWORK_NAMES: tuple[str, ...] = get_args(NetworkName)
CLASSICAL_NAMES: tuple[str, ...] = get_args(ClassicalName)


def _checker(name: str, kind: Any) -> Any:
    """A function that raises ParameterError naming ``name`` unless its value is a ``kind``."""
    adapter = TypeAdapter(kind)

    def check(value: object) -> None:
        try:
            adapter.validate_python(value)
        except ValidationError as error:
            raise ParameterError(describe_validation_error(error, name)) from None

    check.__doc__ = f"Raise ParameterError unless the value is a valid {name}."
    return check


# Checks of single values for the core (losses, models, devices) built outside a pipeline.
check_epsilon = _checker("epsilon", Epsilon)
check_ess_ratio = _checker("ess_ratio", OpenFraction)
check_cutoff = _checker("cutoff", PositiveReal)
check_model_name = _checker("model", ModelName)
check_network_name = _checker("model", NetworkName)
check_device_name = _checker("device", DeviceName)


def check_no_zero_variance(loss: str, zero_rows: list[int], shown: int = 5) -> None:
    """Raise ParameterError naming the labels of variance 0 (``zero_rows``: their positions in
    the training table) that loss ``loss`` with epsilon 0 would weight 1/(0 + 0) = inf."""
    if zero_rows:
        rows = ", ".join(map(str, zero_rows[:shown]))
        more = f" and {len(zero_rows) - shown} more" if len(zero_rows) > shown else ""
        raise ParameterError(
            f"epsilon = 0 with loss {loss} gives the {len(zero_rows)} training labels of "
            f"variance 0 an infinite weight 1/(variance + epsilon) (rows {rows}{more} of "
            "noisy_train, counted from 0); set epsilon > 0 or epsilon: auto"
        )


def batchless_refusal(model: str, loss: str, epsilon: float | str) -> str | None:
    """Why ``model`` cannot train with ``loss`` and ``epsilon``, in one line, or None if it can.

    A classical model fits all its labels at once: BIV's per-batch normalisation and the
    per-batch ``epsilon: auto`` have no batch to work on, and IV with a numeric epsilon is
    what they would mean over the whole training set.
    """
    if model not in CLASSICAL_NAMES:
        return None
    if loss == "biv":
        return (
            f"loss biv normalises its weights per batch, and model {model} fits all the labels "
            f"at once: use loss iv with a numeric epsilon (model={model},loss=iv,epsilon=0.5)"
        )
    if loss == "iv" and epsilon == AUTO:
        return (
            f"epsilon: auto is chosen per batch, and model {model} fits all the labels at once: "
            f"use loss iv with a numeric epsilon (model={model},loss=iv,epsilon=0.5)"
        )
    return None


def check_registry(kind: str, registry: Iterable[str], names: tuple[str, ...]) -> None:
    """Raise at import unless a registry defines exactly the ``kind`` names a run accepts
    (``LOSSES``, ``NETWORK_NAMES``, ``CLASSICAL_NAMES``): a name added to one and not the
    other."""
    if set(registry) != set(names):
        raise RuntimeError(
            f"the {kind} registry defines {sorted(registry)} but the parameters accept "
            f"{sorted(names)}: add the {kind} to both"
        )


@pydantic_dataclasses.dataclass(frozen=True, config=BLOCK_CONFIG)
class TrainingConfig:
    """The training parameters (see ``conf/base/parameters_train.yml``) with ``auto`` model,
    lr and threads resolved; validated on construction (pydantic checks keys, types and
    ranges; ``__post_init__`` the rules that tie fields together)."""

    loss: LossName = "biv"
    epsilon: EpsilonSetting = 0.5
    ess_ratio: OpenFraction = 0.5
    cutoff: PositiveReal = 1.0
    model: ModelName = "vanilla_ann"
    epochs: Count = 20
    batch_size: Count = 256
    lr: PositiveReal = 1e-2
    seed: Seed = 0
    device: DeviceName = "auto"
    amp: or_auto(Flag) = AUTO
    compile: Flag = False
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: Momentum = 0.0
    lr_scale: Literal["none", "mean_weight"] = "none"
    threads: Count = 1
    gp_max_rows: Count = 2000

    def __post_init__(self) -> None:
        if self.momentum and self.optimizer != "sgd":
            raise ParameterError(
                f"momentum applies to optimizer: sgd only; got momentum {self.momentum} with "
                f"optimizer {self.optimizer} (set momentum: 0)"
            )
        # IV's mean weight (losses.IVLoss.mean_weight) needs a numeric epsilon: checked here,
        # torch-free, so that the run stops before any data is loaded
        if self.lr_scale == "mean_weight" and self.loss == "iv" and self.epsilon == AUTO:
            raise ParameterError(
                "lr_scale: mean_weight needs a numeric epsilon with loss iv (the weights "
                "1/(variance + epsilon) of every label); got epsilon: auto"
            )
        refusal = batchless_refusal(self.model, self.loss, self.epsilon)
        if refusal:
            raise ParameterError(refusal)


# The top-level parameters as a user gives them: model, lr and threads may be `auto`.
UNRESOLVED_TYPES: dict[str, Any] = {
    "model": or_auto(ModelName),
    "lr": or_auto(PositiveReal),
    "threads": or_auto(Count),
}


TRAINING_PARAMETERS: tuple[str, ...] = tuple(TrainingConfig.__pydantic_fields__)
