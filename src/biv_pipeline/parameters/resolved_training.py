"""The training config of one run: ``auto`` model, lr and threads resolved for its dataset.

Apart from :mod:`biv_pipeline.parameters.training` because it reads the dataset registry,
which the losses, models and training loop do not need.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from biv_pipeline.data.registry import get_dataset
from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.training import TrainingConfig
from biv_pipeline.parameters.types import AUTO, describe_validation_error

# threads: auto = 1 for the small tabular network (a Wine fit takes 1.1-2.4 s on one thread
# but 25-31 s on two when another process is busy: synchronisation dominates its tiny
# matrix products), every core for the image networks
SMALL_MODELS: tuple[str, ...] = ("vanilla_ann",)


def make_training_config(dataset: str, **settings: Any) -> TrainingConfig:
    """Validate the training parameters, given by name (the top-level keys of
    ``parameters_train.yml``), and resolve ``auto`` model, lr and threads for ``dataset``."""
    spec = get_dataset(dataset)
    resolved = dict(settings)
    for name, value in (("model", spec.model), ("lr", spec.lr)):
        if resolved.get(name) == AUTO:
            resolved[name] = value
    if resolved.get("threads") == AUTO:
        model = resolved.get("model", TrainingConfig.__pydantic_fields__["model"].default)
        resolved["threads"] = auto_threads(model)
    try:
        return TrainingConfig(**resolved)
    except ValidationError as error:
        raise ParameterError(describe_validation_error(error)) from None


def auto_threads(model: str) -> int:
    """1 for the small tabular network, else the CPUs this process may use."""
    if model in SMALL_MODELS:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
