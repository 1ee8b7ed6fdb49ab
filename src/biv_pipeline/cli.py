"""Project commands added to the ``kedro`` CLI: ``kedro sweep SPEC``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml
from kedro.framework.startup import bootstrap_project

from biv_pipeline.errors import ParameterError
from biv_pipeline.sweep import load_spec, run_sweep, tracking_server

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def parse_overrides(text: str) -> dict[str, object]:
    """``key=value,key=value`` with YAML values, as ``kedro run --params`` takes them."""
    overrides: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"--params items must be key=value; got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


@click.group(name="biv_pipeline")
def cli() -> None:
    """biv-pipeline project commands."""


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: trials one after another; ray: trials as Ray tasks "
              "(RAY_ADDRESS joins a cluster, else a local one starts).")  # fmt: skip
@click.option("--params", "params", default="", metavar="KEY=VALUE,...",
              help="Override base parameters of the sweep, e.g. epochs=1.")  # fmt: skip
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI; default: the project's mlflow.db (with ray, through a "
              "local mlflow server started for the sweep).")  # fmt: skip
def sweep(spec: Path, backend: str, params: str, tracking_uri: str | None) -> None:
    """Run the sweep file SPEC: every loss x seed x setting, paired, resumable."""
    project = Path.cwd()
    bootstrap_project(project)
    try:
        sweep_spec = load_spec(spec)
        overrides = parse_overrides(params)
    except ParameterError as error:
        raise click.UsageError(str(error)) from error
    database = f"sqlite:///{project / 'mlflow.db'}"
    if tracking_uri is not None or backend == "local":
        result = run_sweep(sweep_spec, project, tracking_uri or database, backend, overrides)
    else:
        with tracking_server(project, DEFAULT_TRACKING_URI) as server_uri:
            result = run_sweep(sweep_spec, project, server_uri, backend, overrides)
    if result.failed:
        click.echo(f"{len(result.failed)} trials FAILED: {', '.join(result.failed)}", err=True)
        sys.exit(1)
