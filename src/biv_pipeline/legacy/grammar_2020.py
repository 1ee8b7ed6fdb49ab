"""The 2020-08 grammar of the original command line (the original's first README).

``--experiment_settings`` with four fields, ``--model_settings="loss,model"``, ``--noise``,
``--noise_settings="type,threshold"``, ``--params_settings="params_type,hetero_scale"``,
``--parameters``, ``--epsilon``, ``--distributions_ratio``, ``--average_variance``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from biv_pipeline.errors import LegacyArgumentError
from biv_pipeline.legacy.vocabulary import (
    BOOLEANS,
    LOSSES,
    MODELS,
    NOISE_TYPES,
    PARAMS_TYPES,
    Translation,
    choice,
    comma_fields,
    experiment,
    number,
    parameters,
    unless_negative,
)

REQUIRED_NOISE_FLAGS = ("noise_settings", "params_settings", "parameters")


def _model(text: str) -> dict[str, Any]:
    """``loss,model``."""
    loss, model = comma_fields("model_settings", text, ("loss", "model"))
    return {
        "loss": choice("model_settings", "loss", loss, LOSSES),
        "model": choice("model_settings", "model", model, MODELS),
    }


def _noise_settings(text: str) -> dict[str, Any]:
    """``type,threshold``; a negative threshold keeps every row."""
    kind, threshold = comma_fields("noise_settings", text, ("type", "threshold"))
    return {
        "distribution": choice("noise_settings", "type", kind, NOISE_TYPES),
        "threshold": unless_negative(number("noise_settings", "threshold", threshold)),
    }


def _params_settings(text: str) -> dict[str, Any]:
    """``params_type,hetero_scale``; a negative scale turns the scaling off."""
    kind, scale = comma_fields("params_settings", text, ("params_type", "hetero_scale"))
    return {
        "parameterisation": choice("params_settings", "params_type", kind, PARAMS_TYPES),
        "hetero_scale": unless_negative(number("params_settings", "hetero_scale", scale)),
    }


def _average_variance(text: str) -> dict[str, Any]:
    """A negative average variance turns the constraint off."""
    return {"average_variance": unless_negative(number("average_variance", "X", text))}


def _distributions_ratio(text: str) -> dict[str, Any]:
    """The ratio is the new ``noise.p``; its range is checked by the pipeline."""
    return {"p": number("distributions_ratio", "p", text)}


NOISE_FLAGS: dict[str, Callable[[str], dict[str, Any]]] = {
    "noise_settings": _noise_settings,
    "params_settings": _params_settings,
    "parameters": parameters,
    "average_variance": _average_variance,
    "distributions_ratio": _distributions_ratio,
}


def _noise(args: argparse.Namespace, seed: int) -> tuple[dict[str, Any], list[str]]:
    """The ``noise`` block, and the noise flags that were ignored because noise is off."""
    given = {flag: getattr(args, flag) for flag in NOISE_FLAGS if getattr(args, flag) is not None}
    block: dict[str, Any] = {}
    for flag, text in given.items():
        block.update(NOISE_FLAGS[flag](text))
    noise = "False" if args.noise is None else args.noise
    if not choice("noise", "noise", noise, BOOLEANS):
        ignored = [f"--{flag} is ignored: noise is off (--noise={noise})" for flag in given]
        return {"enabled": False}, ignored
    missing = [f"--{flag}" for flag in REQUIRED_NOISE_FLAGS if flag not in given]
    if missing:
        raise LegacyArgumentError(f"--noise=True needs {', '.join(missing)}")
    if "p" not in block and len(block["components"]) > 1:
        raise LegacyArgumentError("--distributions_ratio is needed with more than one component")
    return {"enabled": True, **block, "units": "raw", "seed": seed}, []


def translate_2020(args: argparse.Namespace) -> Translation:
    """The parameters equivalent to a 2020 command line (four experiment fields)."""
    params = experiment(args.experiment_settings)
    params.update(_model(args.model_settings))
    if args.epsilon is not None:
        params["epsilon"] = number("epsilon", "epsilon", args.epsilon)
    params["noise"], warnings = _noise(args, params["seed"])
    return Translation(params, warnings)
