"""What a run prints at its end: for a training run, what was trained, how it scored, where
it went; for a report, the results table and the folder its files went to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from biv_pipeline.catalog.names import (
    NOISY_TRAIN,
    SWEEP_RESULTS_MARKDOWN,
    TEST_SPLIT,
    TRAINING_CONFIG,
    TRAINING_METRICS,
)
from biv_pipeline.data.schema import clean_label_column, declares_noise
from biv_pipeline.heterogeneity import INCOMPLETE_SHARE, looks_incomplete
from biv_pipeline.run_record import (
    CLEAN_EST_METRIC,
    CLEAN_EST_SE_METRIC,
    FINAL_METRIC,
    FINAL_PREFIX,
    FINAL_RMSE_METRIC,
    NOISY_METRIC,
    TAU2_METRIC,
    TAU2_SE_METRIC,
    VARIANCE_SHARE_METRIC,
    headline_metric,
)
from biv_pipeline.tracking.active_run import active_mlflow_run
from biv_pipeline.tracking.contract import SWEEP_TAG

MLFLOW_UI_HINT = "kedro runs-ui"


class RunSummaryHook:
    """At the end of a training run, print one block: what was trained, how it scored, where
    it went (the save version of its files, the MLflow run) and how to look at it."""

    def __init__(self) -> None:
        self._summary: dict[str, str] = {}
        self._quiet = False
        self._noisy_test = False  # the test labels are noisy, with declared variances
        self._report: str | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], catalog: DataCatalog) -> None:
        """Forget the previous run's summary (one hook object serves every session)."""
        self._summary = {"outputs": f"data/*/<dataset>/*/{run_params['run_id']}/"}
        self._noisy_test = False
        self._report = None
        # a sweep reports each trial in one line of its own
        self._quiet = SWEEP_TAG in (catalog.load("parameters").get("run_tags") or {})

    @hook_impl
    def before_node_run(self, node: Node, inputs: dict[str, Any]) -> None:
        """On the training node: note the dataset, model, loss and labels it trains on."""
        if not {NOISY_TRAIN, TRAINING_CONFIG} <= set(node.inputs):
            return
        from biv_pipeline.catalog.atomic_io import VERSION_ATTR  # noqa: PLC0415 - loaded by then

        attrs, config = inputs[NOISY_TRAIN].attrs, inputs[TRAINING_CONFIG]
        dataset = str(attrs.get("dataset"))
        test_split = inputs[TEST_SPLIT]
        clean_known = clean_label_column(test_split) is not None
        self._summary.update(
            dataset=dataset,
            model=config.model,
            loss=config.loss,
            noisy_train=str(attrs.get(VERSION_ATTR)),
            outputs=self._summary.get("outputs", "").replace("<dataset>", dataset),
            headline=headline_metric(clean_known),
        )
        if declares_noise(test_split):
            self._noisy_test = True
            self._summary["test_labels"] = TEST_LABELS[clean_known]
        run = active_mlflow_run()
        if run is not None:
            self._summary["mlflow_run"] = f"{run.info.run_name} ({run.info.run_id})"

    @hook_impl
    def after_node_run(self, outputs: dict[str, Any]) -> None:
        """On the metrics node: note the final clean test MSE and raw RMSE where the clean test
        labels are known, and the scores on noisy test labels where they are noisy; on the
        report's table: note it."""
        if SWEEP_RESULTS_MARKDOWN in outputs:
            self._report = str(outputs[SWEEP_RESULTS_MARKDOWN])
            run = active_mlflow_run()
            if run is not None:
                self._summary["mlflow_run"] = f"{run.info.run_name} ({run.info.run_id})"
        metrics = outputs.get(TRAINING_METRICS)
        if metrics is None:
            return
        final = {name: values[-1]["value"] for name, values in metrics.items()}
        if FINAL_METRIC in final:
            self._summary["test_mse"] = f"{final[FINAL_METRIC]:.4g}"
            self._summary["test_rmse_raw"] = f"{final[FINAL_RMSE_METRIC]:.4g}"
        if self._noisy_test:
            estimate = final[FINAL_PREFIX + CLEAN_EST_METRIC]
            se = final[FINAL_PREFIX + CLEAN_EST_SE_METRIC]
            self._summary["test_mse_clean_est"] = f"{estimate:.4g} ± {se:.2g} (standard error)"
            self._summary["test_mse_noisy"] = f"{final[FINAL_PREFIX + NOISY_METRIC]:.4g}"
        if TAU2_METRIC in final:
            self._summary.update(
                describe_tau2(
                    final[TAU2_METRIC], final[TAU2_SE_METRIC], final[VARIANCE_SHARE_METRIC]
                )
            )
        self._summary["trained"] = "yes"

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Print the block if this run trained a model, the table if it reported a sweep."""
        if "trained" in self._summary and not self._quiet:
            print(format_summary(self._summary))
        if self._report is not None:
            files = written_files(pipeline, catalog, Path(run_params["project_path"]))
            print(format_report(self._report, files, self._summary.get("mlflow_run")))


TEST_LABELS = {  # the test labels, by whether their clean labels are known
    True: "noisy, with declared variances and clean labels",
    False: "noisy, with declared variances (no clean labels)",
}


def describe_tau2(tau2: float, standard_error: float, share: float) -> dict[str, str]:
    """The summary's tau2_hat line, and below a variance share of 0.8 one plain line that the
    given variances look incomplete: an estimate that subtracts them from noisy test errors
    (``test_mse_clean_est``) keeps the noise they miss, so it overstates the clean error."""
    lines = {"tau2_hat": f"{tau2:.4g} ± {standard_error:.2g} (variance share {share:.3g})"}
    if looks_incomplete(share):
        lines["variance_note"] = (
            f"the given label variances look incomplete (share {share:.2f} < "
            f"{INCOMPLETE_SHARE}); test_mse_clean_est then reads high"
        )
    return lines


SUMMARY_LINES = (
    ("dataset", "dataset"),
    ("model", "model"),
    ("loss", "loss"),
    ("test_labels", "test labels"),
    ("test_mse", "final test MSE (clean labels, normalised units)"),
    ("test_rmse_raw", "final test RMSE (raw label units)"),
    ("test_mse_clean_est", "final test MSE, estimated from the noisy labels"),
    ("test_mse_noisy", "final test MSE on the noisy labels"),
    ("headline", "headline metric"),
    ("tau2_hat", "tau2_hat (noise the variances miss)"),
    ("variance_note", "note"),
    ("noisy_train", "noisy_train version"),
    ("outputs", "files"),
    ("mlflow_run", "MLflow run"),
)


def format_summary(summary: dict[str, str]) -> str:
    """The end-of-run block: one ``label: value`` line per known item, then the UI hint."""
    width = max(len(label) for _, label in SUMMARY_LINES)
    lines = [f"{label:<{width}}  {summary[key]}" for key, label in SUMMARY_LINES if key in summary]
    lines.append(f"{'browse runs':<{width}}  {MLFLOW_UI_HINT}")
    rule = "-" * max(len(line) for line in lines)
    return "\n".join([rule, *lines, rule])


def written_files(pipeline: Pipeline, catalog: DataCatalog, project: Path) -> list[str]:
    """The files the pipeline's outputs were saved to, relative to the project, sorted."""
    paths = []
    for name in pipeline.all_outputs():
        filepath = getattr(catalog.get(name), "_filepath", None)
        if filepath:
            path = Path(str(filepath))
            paths.append(Path(os.path.relpath(path, project)) if path.is_absolute() else path)
    return sorted(path.as_posix() for path in paths)


def format_report(markdown: str, files: list[str], mlflow_run: str | None) -> str:
    """The report's results table (its Markdown), then the folder its files went to (and
    their names) and its MLflow run."""
    lines = [markdown.rstrip(), ""]
    folders = sorted({str(Path(file).parent) for file in files})
    if len(folders) == 1:
        names = ", ".join(Path(file).name for file in files)
        lines.append(f"files       {folders[0]}/ ({names})")
    elif files:
        lines.append(f"files       {', '.join(files)}")
    if mlflow_run:
        lines.append(f"MLflow run  {mlflow_run}")
    return "\n".join(lines)
