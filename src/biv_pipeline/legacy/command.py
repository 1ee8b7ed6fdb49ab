"""``biv-pipeline legacy``: run a command line of the original research code on this pipeline.

Two grammars of the original exist, told apart by their shape: the 2020-08 one
(``--experiment_settings`` with four fields, ``--model_settings="loss,model"``, ``--noise``,
``--epsilon``, ``--distributions_ratio``, ``--average_variance``) and the 2021-11 one (five
fields, the last the training size; ``--model_settings="model,loss[,epsilon|threshold]"``;
``--noise_settings="True,binary_uniform"``; ``--params_settings="type[,p[,average]]"``;
``--parameters`` led by the maximum-heteroscedasticity flag for ``meanvar``).
Each grammar has its module (``grammar_2020``, ``grammar_2021``), the words they share are in
``vocabulary``, and this module is the command.

It reads the original's comma-packed flags with the original's meaning, prints the parameter
block (YAML) and the equivalent ``kedro run --params ...``, then runs that command with the
``kedro`` of this environment in the current project (``--dry-run`` only prints, after
checking the parameters as the run would: a value the run refuses gets the run's ``Error:``
line and exit status 1 instead of the command). An unknown
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
import math
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from biv_pipeline.errors import LegacyArgumentError
from biv_pipeline.legacy.grammar_2020 import translate_2020
from biv_pipeline.legacy.grammar_2021 import is_2021, translate_2021
from biv_pipeline.legacy.vocabulary import Translation
from biv_pipeline.parameters.dotted_keys import flatten
from biv_pipeline.project.input_errors import INPUT_ERROR_STATUS, INPUT_ERRORS, input_error_line

PASSTHROUGH = "--"


def translate(args: argparse.Namespace) -> Translation:
    """The parameters equivalent to the original flags (and the new options) in ``args``."""
    translation = translate_2021(args) if is_2021(args) else translate_2020(args)
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


def _env(passthrough: Sequence[str]) -> str | None:
    """The ``--env``/``-e`` that ``kedro run`` will get after ``--``, if any."""
    for index, arg in enumerate(passthrough):
        if arg.startswith("--env="):
            return arg.split("=", 1)[1]
        if arg in ("--env", "-e") and index + 1 < len(passthrough):
            return passthrough[index + 1]
    return None


def refusal(params: Mapping[str, Any], passthrough: Sequence[str] = ()) -> str | None:
    """The ``Error:`` line ``kedro run`` would stop with at start on ``params``, merged into
    the parameters of the project in the current folder (as the run merges them); None when
    the run would start, or when the current folder is not in a Kedro project."""
    # Imported here: translating the flags needs none of Kedro
    from kedro.framework.project import settings  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    from kedro.utils import find_kedro_project  # noqa: PLC0415

    from biv_pipeline.project.hooks.early_validation import check_run_parameters  # noqa: PLC0415

    project = find_kedro_project(Path.cwd())
    if project is None:
        return None
    bootstrap_project(project)
    try:
        loader = settings.CONFIG_LOADER_CLASS(
            conf_source=str(project / settings.CONF_SOURCE),
            env=_env(passthrough),
            runtime_params=dict(params),
            **settings.CONFIG_LOADER_ARGS,
        )
        check_run_parameters(loader["parameters"])
    except INPUT_ERRORS as error:
        return input_error_line(error)
    return None


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
    print("# parameters\n" + block, end="", flush=True)
    if args.dry_run:
        refused = refusal(translation.params, passthrough)
        if refused is not None:  # as `kedro run` would: the same line, the same status
            print(refused, file=sys.stderr)
            return INPUT_ERROR_STATUS
    print("# equivalent command\n" + shlex.join(command), flush=True)
    if args.dry_run:
        return 0
    return subprocess.run([_kedro_executable(), *command[1:]], check=False).returncode
