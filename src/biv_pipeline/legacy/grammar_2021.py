"""The 2021-11 grammar of the original command line (the original's latest README).

``--experiment_settings`` with five fields (the last the training size);
``--model_settings="model,loss[,epsilon|threshold]"``; ``--noise_settings="True,binary_uniform"``;
``--params_settings="type[,p[,average]]"``; ``--parameters`` led by the
maximum-heteroscedasticity flag for ``meanvar``.
"""

from __future__ import annotations

import argparse
from typing import Any

from biv_pipeline.errors import LegacyArgumentError
from biv_pipeline.legacy.vocabulary import (
    BOOLEANS,
    DATASETS_2021,
    LOSSES_2021,
    MODELS,
    NOISE_TYPES_2021,
    PARAMS_TYPES_2021,
    Translation,
    choice,
    comma_fields,
    experiment,
    number,
    parameters,
    unless_negative,
)

BINARY = "binary_uniform"
EXPERIMENT_FIELDS_2021 = 5
ONLY_2020 = ("noise", "average_variance", "epsilon", "distributions_ratio")


def is_2021(args: argparse.Namespace) -> bool:
    """The 2021 grammar has five ``--experiment_settings`` fields (the last: training size)."""
    return len(args.experiment_settings.split(",")) == EXPERIMENT_FIELDS_2021


def _experiment_2021(text: str) -> dict[str, Any]:
    """``tag,seed,dataset,normalize,train_size``."""
    flag = "experiment_settings"
    *first, size = comma_fields(flag, text, ("tag", "seed", "dataset", "normalize", "train_size"))
    params = experiment(",".join(first), DATASETS_2021)
    try:
        params["ingest"]["train_size"] = int(size)
    except ValueError:
        raise LegacyArgumentError(
            f"--{flag}: train_size must be an integer; got {size!r}"
        ) from None
    return params


def _model_2021(text: str) -> tuple[dict[str, Any], list[str]]:
    """``model,loss[,value]``: the value is epsilon (iv, biv) or the threshold (cutoffMSE)."""
    flag = "model_settings"
    fields = [field.strip() for field in text.split(",")]
    if len(fields) not in (2, 3):
        raise LegacyArgumentError(
            f"--{flag} needs 2 or 3 comma-separated values (model,loss[,epsilon or "
            f"threshold]); got {text!r}"
        )
    params = {
        "model": choice(flag, "model", fields[0], MODELS),
        "loss": choice(flag, "loss", fields[1], LOSSES_2021),
    }
    if len(fields) == 2:
        return params, []
    value = number(flag, "epsilon or threshold", fields[2])
    if params["loss"] == "mse":
        return params, [f"--{flag}: the third value ({fields[2]}) is ignored with loss mse"]
    if params["loss"] == "cutoff":
        note = (
            f"--{flag}: cutoff {fields[2]} is taken in the learner's (standardised) units; "
            "the original divided it by the label variance when normalising"
        )
        return {**params, "cutoff": value}, [note]
    return {**params, "epsilon": value}, []


def _noise_2021(args: argparse.Namespace, seed: int) -> tuple[dict[str, Any], list[str]]:
    """``--noise_settings="True,type[,threshold]"`` with ``--params_settings``/``--parameters``."""
    fields = [field.strip() for field in (args.noise_settings or "False").split(",")]
    given = [f"--{flag}" for flag in ("params_settings", "parameters") if getattr(args, flag)]
    if not choice("noise_settings", "noise", fields[0], BOOLEANS):
        return {"enabled": False}, [f"{flag} is ignored: noise is off" for flag in given]
    if len(fields) not in (2, 3):
        raise LegacyArgumentError(
            "--noise_settings needs True,type[,threshold] (type: uniform, binary_uniform, "
            f"gamma); got {args.noise_settings!r}"
        )
    missing = [f"--{flag}" for flag in ("params_settings", "parameters") if not getattr(args, flag)]
    if missing:
        raise LegacyArgumentError(
            f"--noise_settings={args.noise_settings} needs {', '.join(missing)}"
        )
    kind = fields[1]
    block: dict[str, Any] = {
        "enabled": True,
        "distribution": choice("noise_settings", "type", kind, NOISE_TYPES_2021),
    }
    if len(fields) == 3:
        block["threshold"] = unless_negative(number("noise_settings", "threshold", fields[2]))
    block.update(_params_settings_2021(args.params_settings, kind == BINARY))
    block.update(_parameters_2021(args.parameters, block["parameterisation"], kind == BINARY))
    return {**block, "units": "raw", "seed": seed}, []


def _params_settings_2021(text: str, binary: bool) -> dict[str, Any]:
    """``type[,p[,average]]``: p for binary_uniform; meanvar_avg adds the average variance."""
    flag = "params_settings"
    fields = [field.strip() for field in text.split(",")]
    kind = fields[0]
    block: dict[str, Any] = {
        "parameterisation": choice(flag, "params_type", kind, PARAMS_TYPES_2021)
    }
    wanted = 1 + binary + (kind == "meanvar_avg")
    if len(fields) != wanted:
        shape = "type" + (",p" if binary else "") + (",average" if kind == "meanvar_avg" else "")
        raise LegacyArgumentError(f"--{flag} needs {wanted} value(s) ({shape}) here; got {text!r}")
    if kind == "meanvar_avg" and not binary:
        raise LegacyArgumentError(f"--{flag}: meanvar_avg needs --noise_settings=True,{BINARY}")
    if binary:
        block["p"] = number(flag, "p", fields[1])
    if kind == "meanvar_avg":
        block["average_variance"] = number(flag, "average", fields[2])
    return block


def _parameters_2021(text: str, parameterisation: str, binary: bool) -> dict[str, Any]:
    """Numbers in first-halves-then-second-halves order, after the flag for meanvar.

    A true flag sets the heteroscedasticity scale to the original's value: the variance
    field (one component) or the first variance (binary_uniform).
    """
    fields = [field.strip() for field in text.split(",")]
    maximum_hetero = None
    if parameterisation == "meanvar":
        maximum_hetero = choice(
            "parameters", "maximum-heteroscedasticity flag", fields[0], BOOLEANS
        )
        fields = fields[1:]
    wanted = 4 if binary else 2
    if len(fields) != wanted:
        lead = "flag," if maximum_hetero is not None else ""
        names = "x1,x2,y1,y2" if binary else "x,y"
        raise LegacyArgumentError(
            f"--parameters needs {lead}{names} here ({wanted} numbers after any flag); got {text!r}"
        )
    block = parameters(",".join(fields))
    if maximum_hetero:
        block["hetero_scale"] = block["components"][0][1]
    return block


def translate_2021(args: argparse.Namespace) -> Translation:
    """The parameters equivalent to a 2021 command line (five experiment fields)."""
    flags = [f"--{flag}" for flag in (*ONLY_2020,) if getattr(args, flag) is not None]
    if flags:
        raise LegacyArgumentError(
            f"{', '.join(flags)} belong to the 2020 command line, but --experiment_settings "
            "has the 2021 shape (five fields); the 2021 one puts epsilon in --model_settings "
            "and the ratio and average in --params_settings"
        )
    params = _experiment_2021(args.experiment_settings)
    model, warnings = _model_2021(args.model_settings)
    params.update(model)
    params["noise"], noise_warnings = _noise_2021(args, params["seed"])
    return Translation(params, warnings + noise_warnings)
