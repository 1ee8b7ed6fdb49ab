"""Catalog dataset that logs a ``ServedModel`` with its signature and input example."""

from __future__ import annotations

from typing import Any

from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import infer_signature

from biv_pipeline.serving import ServedModel, example_output


class ServedModelDataset(MlflowModelTrackingDataset):
    """``MlflowModelTrackingDataset`` whose ``save`` takes a ``ServedModel``.

    With an input example (tables), MLflow records the example and the signature inferred
    from it and from the model's output; loading returns the model, as the parent does.
    """

    def _save(self, model: Any) -> None:
        if not isinstance(model, ServedModel):
            super()._save(model)
            return
        extra: dict[str, Any] = {}
        if model.input_example is not None:
            output = example_output(model.model, model.input_example)
            extra = {
                "input_example": model.input_example,
                "signature": infer_signature(model.input_example, output),
            }
        save_args = self._save_args
        self._save_args = {**save_args, **extra}
        try:
            super()._save(model.model)
        finally:
            self._save_args = save_args
