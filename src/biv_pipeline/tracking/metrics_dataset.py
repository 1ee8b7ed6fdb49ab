"""Catalog dataset that logs a run's metric histories in one MLflow call."""

from __future__ import annotations

from itertools import chain

from kedro.io import DatasetError
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from kedro_mlflow.io.metrics.mlflow_metrics_history_dataset import Metricsdict
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.utils.time import get_current_time_millis


class BatchedMetricsHistoryDataset(MlflowMetricsHistoryDataset):
    """kedro-mlflow's ``MlflowMetricsHistoryDataset`` whose ``save`` sends every
    ``(name, step, value)`` in one ``MlflowClient.log_batch`` call.

    The parent logs one metric value per call: with a tracking database, each is its own
    transaction (5 histories x 20 epochs + 5 final metrics: about 0.7 s of a 20-epoch run on
    the 2-core VM). The same names, values and steps are recorded, all with the save's time.
    Without an active run (and no ``run_id``) it behaves as the parent: MLflow opens one.
    """

    def _save(self, data: Metricsdict) -> None:
        try:
            run_id = self.run_id
        except DatasetError:
            super()._save(data)
            return
        if not self._logging_activated:
            return
        now = get_current_time_millis()
        items = chain.from_iterable(
            self._build_args_list_from_metric_item(name, value) for name, value in data.items()
        )
        metrics = [Metric(name, value, now, step) for name, value, step in items]
        MlflowClient().log_batch(run_id, metrics=metrics)
