"""Wiring of the report pipeline (run it by name: ``kedro run --pipelines=report``)."""

from kedro.pipeline import Node, Pipeline

from biv_pipeline.pipelines.report.nodes import plot_final_test_mse, plot_learning_curves
from biv_pipeline.reporting import (
    learning_curve_table,
    results_markdown,
    results_table,
    select_trials,
)


def create_pipeline(**kwargs) -> Pipeline:
    """A sweep's MLflow runs -> results table (CSV, Markdown) and figures, also logged as
    artifacts of the report's own MLflow run."""
    return Pipeline(
        [
            Node(
                select_trials,
                inputs="sweep_runs",
                outputs="sweep_trials",
                name="select_trials",
            ),
            Node(
                results_table,
                inputs=["sweep_trials", "params:report"],
                outputs="sweep_results",
                name="results_table",
            ),
            Node(
                results_markdown,
                inputs=["sweep_results", "sweep_trials", "params:sweep", "params:report"],
                outputs="sweep_results_markdown",
                name="results_markdown",
            ),
            Node(
                learning_curve_table,
                inputs=["sweep_trials", "params:report"],
                outputs="sweep_learning_curves",
                name="learning_curve_table",
            ),
            Node(
                plot_learning_curves,
                inputs={
                    "curves": "sweep_learning_curves",
                    "sweep": "params:sweep",
                    "config": "params:report",
                    "results": "sweep_results",
                },
                outputs="sweep_learning_curves_plot",
                name="plot_learning_curves",
            ),
            Node(
                plot_final_test_mse,
                inputs=["sweep_results", "params:sweep", "params:report"],
                outputs="sweep_final_test_mse_plot",
                name="plot_final_test_mse",
            ),
        ],
        tags="report",
    )
