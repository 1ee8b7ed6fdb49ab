"""``biv-pipeline legacy``: run a command line of the original research code on this pipeline.

Two grammars of the original exist, told apart by their shape: the 2020-08 one
(``--experiment_settings`` with four fields, ``--model_settings="loss,model"``, ``--noise``,
``--epsilon``, ``--distributions_ratio``, ``--average_variance``) and the 2021-11 one (five
fields, the last the training size; ``--model_settings="model,loss[,epsilon|threshold]"``;
``--noise_settings="True,binary_uniform"``; ``--params_settings="type[,p[,average]]"``;
``--parameters`` led by the maximum-heteroscedasticity flag for ``meanvar``).

It reads the original's comma-packed flags with the original's meaning, prints the parameter
block (YAML) and the equivalent ``kedro run --params ...``, then runs that command with the
``kedro`` of this environment in the current project (``--dry-run`` only prints). An unknown
or misspelt value stops with the closest valid one; flags that do not matter (noise settings
with ``--noise=False``) only warn and are left out. Flags that are not given are not set, so
the pipeline's defaults apply.

Nested lists in ``--params``: Kedro splits the whole value on every comma, brackets and quotes
included, before OmegaConf reads each ``key=value`` as YAML, so
``noise.components=[[0.0,1.0],[20.0,10.0]]`` fails ("Item `1.0]` must contain a key and a
value"). YAML block style has no commas; in a shell, keep its newlines inside single quotes::

    kedro run --params 'dataset=wine,noise.p=0.5,noise.components=
    - - 0.0
      - 1.0
    - - 20.0
      - 10.0'

The printed command uses that spelling, with the lists last.
"""

from __future__ import annotations

import argparse
import difflib
import math
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from biv_pipeline.parameters.dotted_keys import flatten

DATASETS = {"utkf": "utkf", "wine": "wine"}
DATASETS_2021 = {**DATASETS, "bike": "bike"}
LOSSES = {"mse": "mse", "iv": "iv", "biv": "biv"}
LOSSES_2021 = {**LOSSES, "cutoffMSE": "cutoff"}
NOISE_TYPES_2021 = {"uniform": "uniform", "binary_uniform": "uniform", "gamma": "gamma"}
MODELS = {"vanilla_ann": "vanilla_ann", "vanilla_cnn": "vanilla_cnn", "resnet": "resnet18"}
NOISE_TYPES = {"uniform": "uniform", "gamma": "gamma"}
PARAMS_TYPES = {"boundaries": "bounds", "alphabeta": "alphabeta", "meanvar": "meanvar"}
PARAMS_TYPES_2021 = {**PARAMS_TYPES, "meanvar_avg": "meanvar"}
BINARY = "binary_uniform"
EXPERIMENT_FIELDS_2021 = 5
ONLY_2020 = ("noise", "average_variance", "epsilon", "distributions_ratio")
BOOLEANS = {"True": True, "False": False}
REQUIRED_NOISE_FLAGS = ("noise_settings", "params_settings", "parameters")
PASSTHROUGH = "--"


class LegacyArgumentError(ValueError):
    """An original flag whose value cannot be translated; the message names the flag."""


@dataclass(frozen=True)
class Translation:
    """The parameters of the equivalent run, and one warning per ignored flag."""

    params: dict[str, Any]
    warnings: list[str]


def _choice(flag: str, field: str, value: str, choices: Mapping[str, Any]) -> Any:
    """The new name of ``value``, or an error suggesting the closest valid value."""
    if value in choices:
        return choices[value]
    close = difflib.get_close_matches(value, list(choices), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise LegacyArgumentError(
        f"--{flag}: {field} must be one of {', '.join(choices)}; got {value!r}{hint}"
    )


def _fields(flag: str, text: str, names: Sequence[str]) -> list[str]:
    """Split a comma-packed flag into exactly one value per name."""
    fields = [field.strip() for field in text.split(",")]
    if len(fields) != len(names):
        raise LegacyArgumentError(
            f"--{flag} needs {len(names)} comma-separated values ({','.join(names)}); got {text!r}"
        )
    return fields


def _number(flag: str, field: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise LegacyArgumentError(f"--{flag}: {field} must be a number; got {text!r}") from None


def _unless_negative(value: float) -> float | None:
    """The original's switch: a negative value turns the option off (null)."""
    return None if value < 0 else value


def _experiment(text: str, datasets: Mapping[str, str] = DATASETS) -> dict[str, Any]:
    """``tag,seed,dataset,normalize``; the seed also seeds the train/test split."""
    flag = "experiment_settings"
    names = ("tag", "seed", "dataset", "normalize")
    tag, seed_text, dataset, normalize = _fields(flag, text, names)
    try:
        seed = int(seed_text)
    except ValueError:
        raise LegacyArgumentError(f"--{flag}: seed must be an integer; got {seed_text!r}") from None
    return {
        "dataset": _choice(flag, "dataset", dataset, datasets),
        "tag": tag,
        "seed": seed,
        "ingest": {
            "split_seed": seed,
            "normalize": _choice(flag, "normalize", normalize, BOOLEANS),
        },
    }


def _model(text: str) -> dict[str, Any]:
    """``loss,model``."""
    loss, model = _fields("model_settings", text, ("loss", "model"))
    return {
        "loss": _choice("model_settings", "loss", loss, LOSSES),
        "model": _choice("model_settings", "model", model, MODELS),
    }


def _noise_settings(text: str) -> dict[str, Any]:
    """``type,threshold``; a negative threshold keeps every row."""
    kind, threshold = _fields("noise_settings", text, ("type", "threshold"))
    return {
        "distribution": _choice("noise_settings", "type", kind, NOISE_TYPES),
        "threshold": _unless_negative(_number("noise_settings", "threshold", threshold)),
    }


def _params_settings(text: str) -> dict[str, Any]:
    """``params_type,hetero_scale``; a negative scale turns the scaling off."""
    kind, scale = _fields("params_settings", text, ("params_type", "hetero_scale"))
    return {
        "parameterisation": _choice("params_settings", "params_type", kind, PARAMS_TYPES),
        "hetero_scale": _unless_negative(_number("params_settings", "hetero_scale", scale)),
    }


def _parameters(text: str) -> dict[str, Any]:
    """``a1,a2,...,b1,b2,...`` (first halves, then second halves) -> [[a1, b1], [a2, b2], ...]."""
    values = [
        _number("parameters", f"value {index}", value)
        for index, value in enumerate(text.split(","), start=1)
    ]
    if len(values) % 2:
        raise LegacyArgumentError(
            "--parameters needs an even number of values (a1,a2,...,b1,b2,...: first halves, "
            f"then second halves); got {len(values)}: {text!r}"
        )
    half = len(values) // 2
    return {"components": [[a, b] for a, b in zip(values[:half], values[half:], strict=True)]}


def _average_variance(text: str) -> dict[str, Any]:
    """A negative average variance turns the constraint off."""
    return {"average_variance": _unless_negative(_number("average_variance", "X", text))}


def _distributions_ratio(text: str) -> dict[str, Any]:
    """The ratio is the new ``noise.p``; its range is checked by the pipeline."""
    return {"p": _number("distributions_ratio", "p", text)}


NOISE_FLAGS: dict[str, Callable[[str], dict[str, Any]]] = {
    "noise_settings": _noise_settings,
    "params_settings": _params_settings,
    "parameters": _parameters,
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
    if not _choice("noise", "noise", noise, BOOLEANS):
        ignored = [f"--{flag} is ignored: noise is off (--noise={noise})" for flag in given]
        return {"enabled": False}, ignored
    missing = [f"--{flag}" for flag in REQUIRED_NOISE_FLAGS if flag not in given]
    if missing:
        raise LegacyArgumentError(f"--noise=True needs {', '.join(missing)}")
    if "p" not in block and len(block["components"]) > 1:
        raise LegacyArgumentError("--distributions_ratio is needed with more than one component")
    return {"enabled": True, **block, "units": "raw", "seed": seed}, []


def is_2021(args: argparse.Namespace) -> bool:
    """The 2021 grammar has five ``--experiment_settings`` fields (the last: training size)."""
    return len(args.experiment_settings.split(",")) == EXPERIMENT_FIELDS_2021


def _translate_2020(args: argparse.Namespace) -> Translation:
    params = _experiment(args.experiment_settings)
    params.update(_model(args.model_settings))
    if args.epsilon is not None:
        params["epsilon"] = _number("epsilon", "epsilon", args.epsilon)
    params["noise"], warnings = _noise(args, params["seed"])
    return Translation(params, warnings)


def _experiment_2021(text: str) -> dict[str, Any]:
    """``tag,seed,dataset,normalize,train_size``."""
    flag = "experiment_settings"
    *first, size = _fields(flag, text, ("tag", "seed", "dataset", "normalize", "train_size"))
    params = _experiment(",".join(first), DATASETS_2021)
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
        "model": _choice(flag, "model", fields[0], MODELS),
        "loss": _choice(flag, "loss", fields[1], LOSSES_2021),
    }
    if len(fields) == 2:
        return params, []
    value = _number(flag, "epsilon or threshold", fields[2])
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
    if not _choice("noise_settings", "noise", fields[0], BOOLEANS):
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
        "distribution": _choice("noise_settings", "type", kind, NOISE_TYPES_2021),
    }
    if len(fields) == 3:
        block["threshold"] = _unless_negative(_number("noise_settings", "threshold", fields[2]))
    block.update(_params_settings_2021(args.params_settings, kind == BINARY))
    block.update(_parameters_2021(args.parameters, block["parameterisation"], kind == BINARY))
    return {**block, "units": "raw", "seed": seed}, []


def _params_settings_2021(text: str, binary: bool) -> dict[str, Any]:
    """``type[,p[,average]]``: p for binary_uniform; meanvar_avg adds the average variance."""
    flag = "params_settings"
    fields = [field.strip() for field in text.split(",")]
    kind = fields[0]
    block: dict[str, Any] = {
        "parameterisation": _choice(flag, "params_type", kind, PARAMS_TYPES_2021)
    }
    wanted = 1 + binary + (kind == "meanvar_avg")
    if len(fields) != wanted:
        shape = "type" + (",p" if binary else "") + (",average" if kind == "meanvar_avg" else "")
        raise LegacyArgumentError(f"--{flag} needs {wanted} value(s) ({shape}) here; got {text!r}")
    if kind == "meanvar_avg" and not binary:
        raise LegacyArgumentError(f"--{flag}: meanvar_avg needs --noise_settings=True,{BINARY}")
    if binary:
        block["p"] = _number(flag, "p", fields[1])
    if kind == "meanvar_avg":
        block["average_variance"] = _number(flag, "average", fields[2])
    return block


def _parameters_2021(text: str, parameterisation: str, binary: bool) -> dict[str, Any]:
    """Numbers in first-halves-then-second-halves order, after the flag for meanvar.

    A true flag sets the heteroscedasticity scale to the original's value: the variance
    field (one component) or the first variance (binary_uniform).
    """
    fields = [field.strip() for field in text.split(",")]
    maximum_hetero = None
    if parameterisation == "meanvar":
        maximum_hetero = _choice(
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
    block = _parameters(",".join(fields))
    if maximum_hetero:
        block["hetero_scale"] = block["components"][0][1]
    return block


def translate(args: argparse.Namespace) -> Translation:
    """The parameters equivalent to the original flags (and the new options) in ``args``."""
    if is_2021(args):
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
        translation = Translation(params, warnings + noise_warnings)
    else:
        translation = _translate_2020(args)
    params = translation.params
    options = {"data_dir": args.data_dir, "epochs": args.epochs, "image_size": args.image_size}
    params.update({key: value for key, value in options.items() if value is not None})
    if args.train_size is not None:
        params["ingest"]["train_size"] = args.train_size
    return translation


def _yaml_value(value: Any) -> str:
    """One value as YAML without commas: scalars inline, lists in block style on new lines."""
    text = yaml.safe_dump(value, default_flow_style=False, width=math.inf)
    text = text.removesuffix("...\n").rstrip("\n")
    return f"\n{text}" if isinstance(value, list) else text


def params_option(params: Mapping[str, Any]) -> str:
    """The ``--params`` value: comma-separated ``key=value``, lists last (see module docstring)."""
    items = sorted(flatten(params).items(), key=lambda item: isinstance(item[1], list))
    return ",".join(f"{key}={_yaml_value(value)}" for key, value in items)


def kedro_command(params: Mapping[str, Any], passthrough: Sequence[str] = ()) -> list[str]:
    """``kedro run --params ...`` (the full default pipeline), then the pass-through arguments."""
    return ["kedro", "run", "--params", params_option(params), *passthrough]


def build_parser() -> argparse.ArgumentParser:
    """``biv-pipeline legacy``: the original's flags (as strings, like the original) and ours."""
    parser = argparse.ArgumentParser(prog="biv-pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    legacy = commands.add_parser(
        "legacy",
        help="translate and run a command line of the original research code",
        description="Translate the original main.py flags to `kedro run --params` and run it. "
        "Arguments after `--` go to `kedro run`.",
    )
    original = legacy.add_argument_group(
        "flags of the original main.py (2020: four experiment fields; 2021: five)"
    )
    original.add_argument(
        "--experiment_settings", required=True, metavar="TAG,SEED,DATASET,NORM[,TRAIN_SIZE]"
    )
    original.add_argument(
        "--model_settings", required=True, metavar="LOSS,MODEL | MODEL,LOSS[,EPS_OR_CUTOFF]"
    )
    original.add_argument("--noise", metavar="True|False")
    original.add_argument("--noise_settings", metavar="TYPE,THRESHOLD | True,TYPE | False")
    original.add_argument("--average_variance", metavar="X")
    original.add_argument("--params_settings", metavar="PARAMS_TYPE,HETERO_SCALE | TYPE[,P[,AVG]]")
    original.add_argument("--parameters", metavar="A1,A2,...,B1,B2,... | FLAG,MU...,V...")
    original.add_argument("--epsilon", metavar="EPSILON")
    original.add_argument("--distributions_ratio", metavar="P")
    legacy.add_argument("--dry-run", action="store_true", help="print, do not run")
    legacy.add_argument("--data-dir", metavar="PATH", help="sets data_dir")
    legacy.add_argument("--epochs", type=int, metavar="N", help="sets epochs (for short runs)")
    legacy.add_argument(
        "--image-size", type=int, metavar="S", help="sets image_size (utkf; e.g. 64 on a CPU)"
    )
    legacy.add_argument(
        "--train-size",
        type=int,
        metavar="N",
        help="sets ingest.train_size, overriding the 2021 training-size field (smaller folders)",
    )
    return parser


def _kedro_executable() -> str:
    """The ``kedro`` next to this Python (its virtual environment), else the one on PATH."""
    return shutil.which("kedro", path=str(Path(sys.executable).parent)) or "kedro"


def _split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    """Our arguments, and those after ``--`` for ``kedro run`` (which must not set --params)."""
    split = argv.index(PASSTHROUGH) if PASSTHROUGH in argv else len(argv)
    own, passthrough = argv[:split], argv[split + 1 :]
    if any(arg.split("=")[0] == "--params" for arg in passthrough):
        raise LegacyArgumentError("set parameters with the original flags, not --params after --")
    return own, passthrough


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point ``biv-pipeline``; returns the exit status of ``kedro run``."""
    try:
        own, passthrough = _split_passthrough(list(sys.argv[1:] if argv is None else argv))
        args = build_parser().parse_args(own)
        translation = translate(args)
    except LegacyArgumentError as error:
        print(f"biv-pipeline legacy: error: {error}", file=sys.stderr)
        return 2
    for warning in translation.warnings:
        print(f"biv-pipeline legacy: warning: {warning}", file=sys.stderr)
    command = kedro_command(translation.params, passthrough)
    block = yaml.safe_dump(translation.params, sort_keys=False, default_flow_style=None)
    print("# parameters\n" + block, end="")
    print("# equivalent command\n" + shlex.join(command), flush=True)
    if args.dry_run:
        return 0
    return subprocess.run([_kedro_executable(), *command[1:]], check=False).returncode
