"""``biv-pipeline legacy``: run a command line of the original research code on this pipeline.

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

from biv_pipeline.params import flatten

DATASETS = {"utkf": "utkf", "wine": "wine"}
LOSSES = {"mse": "mse", "iv": "iv", "biv": "biv"}
MODELS = {"vanilla_ann": "vanilla_ann", "vanilla_cnn": "vanilla_cnn", "resnet": "resnet18"}
NOISE_TYPES = {"uniform": "uniform", "gamma": "gamma"}
PARAMS_TYPES = {"boundaries": "bounds", "alphabeta": "alphabeta", "meanvar": "meanvar"}
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


def _experiment(text: str) -> dict[str, Any]:
    """``tag,seed,dataset,normalize``; the seed also seeds the train/test split."""
    flag = "experiment_settings"
    names = ("tag", "seed", "dataset", "normalize")
    tag, seed_text, dataset, normalize = _fields(flag, text, names)
    try:
        seed = int(seed_text)
    except ValueError:
        raise LegacyArgumentError(f"--{flag}: seed must be an integer; got {seed_text!r}") from None
    return {
        "dataset": _choice(flag, "dataset", dataset, DATASETS),
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
    if not _choice("noise", "noise", args.noise, BOOLEANS):
        ignored = [f"--{flag} is ignored: noise is off (--noise={args.noise})" for flag in given]
        return {"enabled": False}, ignored
    missing = [f"--{flag}" for flag in REQUIRED_NOISE_FLAGS if flag not in given]
    if missing:
        raise LegacyArgumentError(f"--noise=True needs {', '.join(missing)}")
    if "p" not in block and len(block["components"]) > 1:
        raise LegacyArgumentError("--distributions_ratio is needed with more than one component")
    return {"enabled": True, **block, "units": "raw", "seed": seed}, []


def translate(args: argparse.Namespace) -> Translation:
    """The parameters equivalent to the original flags (and the new options) in ``args``."""
    params = _experiment(args.experiment_settings)
    if args.data_dir is not None:
        params["data_dir"] = args.data_dir
    params.update(_model(args.model_settings))
    if args.epsilon is not None:
        params["epsilon"] = _number("epsilon", "epsilon", args.epsilon)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    if args.image_size is not None:
        params["image_size"] = args.image_size
    params["noise"], warnings = _noise(args, params["seed"])
    return Translation(params, warnings)


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
    original = legacy.add_argument_group("flags of the original main.py")
    original.add_argument("--experiment_settings", required=True, metavar="TAG,SEED,DATASET,NORM")
    original.add_argument("--model_settings", required=True, metavar="LOSS,MODEL")
    original.add_argument("--noise", default="False", metavar="True|False")
    original.add_argument("--noise_settings", metavar="TYPE,THRESHOLD")
    original.add_argument("--average_variance", metavar="X")
    original.add_argument("--params_settings", metavar="PARAMS_TYPE,HETERO_SCALE")
    original.add_argument("--parameters", metavar="A1,A2,...,B1,B2,...")
    original.add_argument("--epsilon", metavar="EPSILON")
    original.add_argument("--distributions_ratio", metavar="P")
    legacy.add_argument("--dry-run", action="store_true", help="print, do not run")
    legacy.add_argument("--data-dir", metavar="PATH", help="sets data_dir")
    legacy.add_argument("--epochs", type=int, metavar="N", help="sets epochs (for short runs)")
    legacy.add_argument(
        "--image-size", type=int, metavar="S", help="sets image_size (utkf; e.g. 64 on a CPU)"
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
