"""The block a training run prints at its end: what was trained, how it scored, where it went."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Node

from biv_pipeline.catalog.names import NOISY_TRAIN, TRAINING_CONFIG, TRAINING_METRICS
from biv_pipeline.heterogeneity import INCOMPLETE_SHARE
from biv_pipeline.run_record import (
    FINAL_METRIC,
    FINAL_RMSE_METRIC,
    TAU2_METRIC,
    TAU2_SE_METRIC,
    VARIANCE_SHARE_METRIC,
)
from biv_pipeline.tracking.active_run import active_mlflow_run
from biv_pipeline.tracking.contract import SWEEP_TAG

MLFLOW_UI_HINT = "kedro mlflow ui"


class RunSummaryHook:
    """At the end of a training run, print one block: what was trained, how it scored, where
    it went (the save version of its files, the MLflow run) and how to look at it."""

    def __init__(self) -> None:
        self._summary: dict[str, str] = {}
        self._quiet = False

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], catalog: DataCatalog) -> None:
        """Forget the previous run's summary (one hook object serves every session)."""
        self._summary = {"outputs": f"data/*/<dataset>/*/{run_params['run_id']}/"}
        # a sweep reports each trial in one line of its own
        self._quiet = SWEEP_TAG in (catalog.load("parameters").get("run_tags") or {})

    @hook_impl
    def before_node_run(self, node: Node, inputs: dict[str, Any]) -> None:
        """On the training node: note the dataset, loss and labels it trains on."""
        if not {NOISY_TRAIN, TRAINING_CONFIG} <= set(node.inputs):
            return
        from biv_pipeline.catalog.atomic_io import VERSION_ATTR  # noqa: PLC0415 - loaded by then

        attrs, config = inputs[NOISY_TRAIN].attrs, inputs[TRAINING_CONFIG]
        dataset = str(attrs.get("dataset"))
        self._summary.update(
            dataset=dataset,
            loss=config.loss,
            noisy_train=str(attrs.get(VERSION_ATTR)),
            outputs=self._summary.get("outputs", "").replace("<dataset>", dataset),
        )
        run = active_mlflow_run()
        if run is not None:
            self._summary["mlflow_run"] = f"{run.info.run_name} ({run.info.run_id})"

    @hook_impl
    def after_node_run(self, outputs: dict[str, Any]) -> None:
        """On the metrics node: note the final clean test MSE and raw RMSE."""
        metrics = outputs.get(TRAINING_METRICS)
        if metrics is not None:
            self._summary["test_mse"] = f"{metrics[FINAL_METRIC][-1]['value']:.4g}"
            self._summary["test_rmse_raw"] = f"{metrics[FINAL_RMSE_METRIC][-1]['value']:.4g}"
            if TAU2_METRIC in metrics:
                self._summary.update(describe_tau2(*(
                    metrics[name][-1]["value"]
                    for name in (TAU2_METRIC, TAU2_SE_METRIC, VARIANCE_SHARE_METRIC)
                )))  # fmt: skip

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Print the block if this run trained a model."""
        if "test_mse" in self._summary and not self._quiet:
            print(format_summary(self._summary))


def describe_tau2(tau2: float, standard_error: float, share: float) -> dict[str, str]:
    """The summary's tau2_hat line, and below a variance share of 0.8 one plain line that the
    given variances look incomplete: an estimate that subtracts them from noisy test errors
    (``test_mse_clean_est``) keeps the noise they miss, so it overstates the clean error."""
    lines = {"tau2_hat": f"{tau2:.4g} ± {standard_error:.2g} (variance share {share:.3g})"}
    if share < INCOMPLETE_SHARE:
        lines["variance_note"] = (
            f"the given label variances look incomplete (share {share:.2f} < "
            f"{INCOMPLETE_SHARE}); test_mse_clean_est then reads high"
        )
    return lines


SUMMARY_LINES = (
    ("dataset", "dataset"),
    ("loss", "loss"),
    ("test_mse", "final test MSE (clean labels, normalised units)"),
    ("test_rmse_raw", "final test RMSE (raw label units)"),
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
