"""Catalog dataset that logs a ``ServedModel`` with its signature and input example."""

from __future__ import annotations

from typing import Any

import numpy as np
from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import Schema, TensorSpec

from biv_pipeline.serving import ServedModel

# what every served model returns: one float32 prediction per row, shape (B,)
PREDICTIONS = Schema([TensorSpec(np.dtype(np.float32), (-1,))])


def signature_of(input_example: Any) -> ModelSignature:
    """The signature of a served model taking ``input_example``'s columns: the inputs inferred
    from the example frame itself, the outputs the predictions every model returns (the model
    is not run for it)."""
    return ModelSignature(inputs=infer_signature(input_example).inputs, outputs=PREDICTIONS)


class ServedModelDataset(MlflowModelTrackingDataset):
    """``MlflowModelTrackingDataset`` whose ``save`` takes a ``ServedModel``.

    With an input example (tables), MLflow records the example and its signature; loading
    returns the model, as the parent does. The requirements are the catalog's
    ``pip_requirements`` (MLflow infers none).
    """

    def _save(self, model: Any) -> None:
        if not isinstance(model, ServedModel):
            super()._save(model)
            return
        extra: dict[str, Any] = {}
        if model.input_example is not None:
            extra = {
                "input_example": model.input_example,
                "signature": signature_of(model.input_example),
            }
        save_args = self._save_args
        self._save_args = {**save_args, **extra}
        try:
            super()._save(model.model)
        finally:
            self._save_args = save_args
