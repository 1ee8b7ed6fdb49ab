"""Catalog dataset that logs a ``ServedModel``: a table's raw-row model as an MLflow pyfunc
model, an image network with MLflow's pytorch flavour."""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd
from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import Schema, TensorSpec

from biv_pipeline.serving import RawRowModel, ServedModel

PYFUNC_SAVE_ARGS = ("name", "pip_requirements")  # of the catalog's save_args, for pyfunc
PREDICTIONS = Schema([TensorSpec(np.dtype(np.float64), (-1,))])  # raw label units, (B,)


class RawRowPythonModel(PythonModel):
    """MLflow's pyfunc face of a :class:`~biv_pipeline.serving.RawRowModel`: a DataFrame of
    raw rows in, a 1-D array of raw label units out; rows it cannot take raise a
    ``RawRowError`` naming the column."""

    def __init__(self, model: RawRowModel) -> None:
        self.model = model

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
        """Predictions in raw label units."""
        return self.model.predict(pd.DataFrame(model_input))


class ServedModelDataset(MlflowModelTrackingDataset):
    """``MlflowModelTrackingDataset`` whose ``save`` takes a ``ServedModel``.

    A table's model is logged as a pyfunc model with its raw example rows and an output-only
    signature: MLflow would drop an extra column and reject an integer one before the model
    sees them, so the model checks its columns itself. Loading returns the model, as the
    parent does.
    """

    def _save(self, model: Any) -> None:
        if not isinstance(model, ServedModel):
            super()._save(model)
        elif isinstance(model.model, RawRowModel):
            self._log_rows(model.model, model.input_example)
        else:
            super()._save(model.model)

    def _log_rows(self, model: RawRowModel, example: pd.DataFrame | None) -> None:
        if not self._logging_activated:
            return
        self.model_info = mlflow.pyfunc.log_model(
            python_model=RawRowPythonModel(model),
            signature=ModelSignature(inputs=None, outputs=PREDICTIONS),
            input_example=example,
            **{key: self._save_args[key] for key in PYFUNC_SAVE_ARGS if key in self._save_args},
        )
        self._last_saved_model_uri = self.model_info.model_uri
