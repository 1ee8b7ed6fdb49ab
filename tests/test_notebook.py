"""The comparison notebook runs top to bottom on a fake sweep, from a project's notebooks/."""

from __future__ import annotations

import contextlib
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import REPO_ROOT
from tests.pipelines.conftest import tracking_uri
from tests.pipelines.test_report import SWEEP, log_fake_sweep

NOTEBOOK = REPO_ROOT / "notebooks" / "compare_losses.ipynb"
CELL_TIMEOUT_S = 120  # the Kedro cells import torch through the project's hooks


def run_notebook(folder: Path, sweep: str | None = None) -> list[dict]:
    """Execute the notebook in ``folder`` (with its parameter cell set to ``sweep``, if given)
    until the end or its first error; the outputs of its cells."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    if sweep is not None:
        parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
        parameters.source = f"sweep = {sweep!r}"
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    with contextlib.suppress(CellExecutionError):  # the outputs show it
        client.execute()
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


def test_notebook_shows_the_table_and_figures_of_a_sweep(project: Path) -> None:
    log_fake_sweep(tracking_uri(project))
    folder = project / "notebooks"
    folder.mkdir()
    outputs = run_notebook(folder, SWEEP)
    assert not [output for output in outputs if output.output_type == "error"]
    data = [output.get("data", {}) for output in outputs]
    (markdown,) = [item["text/markdown"] for item in data if "text/markdown" in item]
    assert "| noise.p=0.3 | biv | 3 | 1 |" in markdown
    assert any("paired_diff_ci_high" in item.get("text/html", "") for item in data)
    assert sum("image/png" in item for item in data) == 2
    assert not (folder / "mlflow.db").exists()  # it read the project's, relative to its root


def test_notebook_as_shipped_names_the_sweep_to_run_in_one_line(project: Path) -> None:
    folder = project / "notebooks"
    folder.mkdir()
    outputs = run_notebook(folder)  # its default sweep, never run in this project
    assert not [output for output in outputs if output.output_type == "error"]
    assert "Traceback" not in str(outputs)
    (line,) = [output.text for output in outputs if output.get("name") == "stderr"][-1:]
    assert line.endswith("\n") and line.count("\n") == 1
    assert line.startswith("Error: no runs of sweep 'wine_bimodal' ")
    assert "`kedro sweep conf/base/sweeps/wine_bimodal.yml`" in line
