"""The words of the original command line that both grammars use: its datasets, losses,
models, noise types and parameterisations with their names here (the 2021 maps extend the
2020 ones), the error and the result of a translation, and the readers of comma-packed fields
that both grammars share (a choice, a number, a negative value as "off", the experiment's
first four fields, the halves of ``--parameters``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from biv_pipeline.errors import LegacyArgumentError, closest_name

DATASETS = {"utkf": "utkf", "wine": "wine"}
DATASETS_2021 = {**DATASETS, "bike": "bike"}
LOSSES = {"mse": "mse", "iv": "iv", "biv": "biv"}
LOSSES_2021 = {**LOSSES, "cutoffMSE": "cutoff"}
NOISE_TYPES_2021 = {"uniform": "uniform", "binary_uniform": "uniform", "gamma": "gamma"}
MODELS = {"vanilla_ann": "vanilla_ann", "vanilla_cnn": "vanilla_cnn", "resnet": "resnet18"}
NOISE_TYPES = {"uniform": "uniform", "gamma": "gamma"}
PARAMS_TYPES = {"boundaries": "bounds", "alphabeta": "alphabeta", "meanvar": "meanvar"}
PARAMS_TYPES_2021 = {**PARAMS_TYPES, "meanvar_avg": "meanvar"}
BOOLEANS = {"True": True, "False": False}


@dataclass(frozen=True)
class Translation:
    """The parameters of the equivalent run, and one warning per ignored flag."""

    params: dict[str, Any]
    warnings: list[str]


def choice(flag: str, field: str, value: str, choices: Mapping[str, Any]) -> Any:
    """The new name of ``value``, or an error suggesting the closest valid value."""
    if value in choices:
        return choices[value]
    close = closest_name(value, choices)
    hint = f"; did you mean {close!r}?" if close else ""
    raise LegacyArgumentError(
        f"--{flag}: {field} must be one of {', '.join(choices)}; got {value!r}{hint}"
    )


def comma_fields(flag: str, text: str, names: Sequence[str]) -> list[str]:
    """Split a comma-packed flag into exactly one value per name."""
    fields = [field.strip() for field in text.split(",")]
    if len(fields) != len(names):
        raise LegacyArgumentError(
            f"--{flag} needs {len(names)} comma-separated values ({','.join(names)}); got {text!r}"
        )
    return fields


def number(flag: str, field: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise LegacyArgumentError(f"--{flag}: {field} must be a number; got {text!r}") from None


def unless_negative(value: float) -> float | None:
    """The original's switch: a negative value turns the option off (null)."""
    return None if value < 0 else value


def experiment(text: str, datasets: Mapping[str, str] = DATASETS) -> dict[str, Any]:
    """``tag,seed,dataset,normalize``; the seed also seeds the train/test split."""
    flag = "experiment_settings"
    names = ("tag", "seed", "dataset", "normalize")
    tag, seed_text, dataset, normalize = comma_fields(flag, text, names)
    try:
        seed = int(seed_text)
    except ValueError:
        raise LegacyArgumentError(f"--{flag}: seed must be an integer; got {seed_text!r}") from None
    return {
        "dataset": choice(flag, "dataset", dataset, datasets),
        "tag": tag,
        "seed": seed,
        "ingest": {
            "split_seed": seed,
            "normalize": choice(flag, "normalize", normalize, BOOLEANS),
        },
    }


def parameters(text: str) -> dict[str, Any]:
    """``a1,a2,...,b1,b2,...`` (first halves, then second halves) -> [[a1, b1], [a2, b2], ...]."""
    values = [
        number("parameters", f"value {index}", value)
        for index, value in enumerate(text.split(","), start=1)
    ]
    if len(values) % 2:
        raise LegacyArgumentError(
            "--parameters needs an even number of values (a1,a2,...,b1,b2,...: first halves, "
            f"then second halves); got {len(values)}: {text!r}"
        )
    half = len(values) // 2
    return {"components": [[a, b] for a, b in zip(values[:half], values[half:], strict=True)]}
