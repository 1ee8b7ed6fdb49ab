"""BatchedMetricsHistoryDataset records what kedro-mlflow's one-call-per-value dataset does."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset

from biv_pipeline.tracking.metrics_dataset import BatchedMetricsHistoryDataset

METRICS = {
    "test_mse": [{"step": 1, "value": 0.5}, {"step": 2, "value": 0.25}],
    "final_test_mse": {"step": 2, "value": 0.25},
}


def histories(client: mlflow.MlflowClient, run_id: str) -> dict[str, list[tuple[int, float]]]:
    """Every metric of the run as ``name: [(step, value), ...]`` in step order."""
    names = client.get_run(run_id).data.metrics
    return {
        name: sorted((m.step, m.value) for m in client.get_metric_history(run_id, name))
        for name in names
    }


@pytest.mark.slow
def test_batched_save_records_the_same_names_steps_and_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    recorded = []
    for dataset in (
        MlflowMetricsHistoryDataset(prefix="m"),
        BatchedMetricsHistoryDataset(prefix="m"),
    ):
        with mlflow.start_run() as run:
            dataset.save(METRICS)
        recorded.append(histories(client, run.info.run_id))
    assert recorded[0] == recorded[1]
    assert recorded[1]["m.test_mse"] == [(1, 0.5), (2, 0.25)]
