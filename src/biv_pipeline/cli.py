"""Project commands of the ``kedro`` CLI: ``kedro run`` (Kedro's, interruption-safe),
``kedro sweep SPEC`` and ``kedro runs-ui`` (MLflow's UI, opened on the runs table)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.startup import bootstrap_project

from biv_pipeline.parameters.dotted_keys import flatten
from biv_pipeline.project.input_errors import input_errors_in_one_line
from biv_pipeline.tracking.contract import DEFAULT_DATABASE, DEFAULT_TRACKING_URI
from biv_pipeline.tracking.interruptions import runs_end_killed_on_interrupt

PARAMS_OPTION = next(option for option in kedro_run.params if option.name == "params")


@click.group(name="biv_pipeline")
def cli() -> None:
    """biv-pipeline project commands."""


@cli.command(name="run", params=kedro_run.params, help=kedro_run.help)
@click.pass_context
def run(ctx: click.Context, pipeline: str | None, pipelines: list[str], **options: Any) -> Any:
    """Kedro's ``run``; ``--pipeline NAME`` is a quiet alias of ``--pipelines NAME``, Ctrl-C
    or SIGTERM end the run's MLflow run as KILLED instead of FINISHED, and an error in the
    input is one line on stderr (exit status 1)."""
    if pipeline and pipelines:
        raise click.UsageError("give --pipeline or --pipelines, not both")
    with input_errors_in_one_line(), runs_end_killed_on_interrupt():
        return ctx.invoke(
            kedro_run, pipeline=None, pipelines=[pipeline] if pipeline else pipelines, **options
        )


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: trials one after another; ray: trials as Ray tasks "
              "(RAY_ADDRESS joins a cluster, else a local one starts).")  # fmt: skip
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI; default: the project's mlflow.db (with ray, through a "
              "local mlflow server started for the sweep).")  # fmt: skip
def sweep(spec: Path, backend: str, params: dict[str, Any], tracking_uri: str | None) -> None:
    """Run the sweep file SPEC: every loss x seed x setting, paired, resumable.

    --params overrides base parameters exactly as `kedro run --params` reads them.
    """
    from biv_pipeline.sweeps.runner import run_sweep  # noqa: PLC0415 - keep `kedro` fast
    from biv_pipeline.sweeps.server import tracking_server  # noqa: PLC0415
    from biv_pipeline.sweeps.spec import load_spec  # noqa: PLC0415
    from biv_pipeline.tracking.store import SWEEP_URI_OPTION, check_tracking_store  # noqa: PLC0415

    project = Path.cwd()
    bootstrap_project(project)
    overrides = flatten(params or {})
    database = f"sqlite:///{project / DEFAULT_DATABASE}"
    with input_errors_in_one_line(), runs_end_killed_on_interrupt():
        sweep_spec = load_spec(spec)
        # with ray and no --tracking-uri, the sweep's server serves this database
        check_tracking_store(tracking_uri or database, SWEEP_URI_OPTION)
        if tracking_uri is not None or backend == "local":
            result = run_sweep(sweep_spec, project, tracking_uri or database, backend, overrides)
        else:
            with tracking_server(project, DEFAULT_TRACKING_URI) as server_uri:
                result = run_sweep(sweep_spec, project, server_uri, backend, overrides)
    if result.failed:
        click.echo(f"{len(result.failed)} trials FAILED: {', '.join(result.failed)}", err=True)
        sys.exit(1)


sweep.params.insert(1, PARAMS_OPTION)  # the same option object, so the same parser


@cli.command(name="runs-ui")
@click.option(
    "--port",
    type=int,
    default=5000,
    show_default=True,
    help="port on 127.0.0.1 (the UI listens on the loopback interface only)",
)
@click.option(
    "--backend-store-uri", default=None, help="the store to show; default: the project's mlflow.db"
)
@click.option("--open", "open_browser", is_flag=True, help="also open the page in a browser")
def runs_ui(port: int, backend_store_uri: str | None, open_browser: bool) -> None:
    """Start MLflow's UI on 127.0.0.1 (one worker, no job runner: it answers in seconds) and
    print the address of the runs table showing final_test_mse, train.loss, data.noise.p and
    noisy_train_version. Ctrl-C stops it."""
    from biv_pipeline.tracking import ui  # noqa: PLC0415 - keep `kedro` fast

    project = Path.cwd()
    bootstrap_project(project)
    uri = backend_store_uri or f"sqlite:///{project / DEFAULT_DATABASE}"
    with input_errors_in_one_line():
        server, url, seconds = ui.serve(uri, port, project)
    click.echo(
        f"MLflow UI answering after {seconds:.1f} s; the runs table with "
        f"{', '.join(ui.columns_shown())} (Ctrl-C stops it):\n{url}"
    )
    if open_browser:
        import webbrowser  # noqa: PLC0415

        webbrowser.open(url)
    ui.run_until_stopped(server)
