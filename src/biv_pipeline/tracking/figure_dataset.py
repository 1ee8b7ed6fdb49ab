"""Catalog dataset that saves a figure atomically and logs it to the open MLflow run."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from biv_pipeline.catalog.atomic_io import MatplotlibDataset
from biv_pipeline.tracking.active_run import active_mlflow_run


class MlflowMatplotlibDataset(MatplotlibDataset):
    """``MatplotlibDataset`` (atomic versioned saves) that also logs each saved figure to the
    active MLflow run, as an artifact named like the file (``learning_curve.png``).

    kedro-mlflow's ``MlflowArtifactDataset`` cannot wrap a versioned atomic dataset: it is not
    given the run's save version, and it logs the path it asked for before the save, which
    here is the partial file.
    """

    @classmethod
    def _save_wrapper(cls, save_func: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        save = super()._save_wrapper(save_func)

        @wraps(save)
        def save_then_log(self: MlflowMatplotlibDataset, data: Any) -> None:
            save(self, data)
            self._log_saved_file()

        return save_then_log

    def _log_saved_file(self) -> None:
        """Log the file just saved to the active MLflow run, if MLflow is loaded and one is."""
        if active_mlflow_run() is None:
            return
        import mlflow  # noqa: PLC0415 - loaded: a run is open

        saved = self._final_save_path if self._version else self._filepath
        mlflow.log_artifact(str(saved))
