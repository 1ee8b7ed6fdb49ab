"""Catalog dataset that logs a ``ServedModel`` with its signature and input example."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import mlflow.sklearn
from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import infer_signature

from biv_pipeline.classical import RawRowsModel
from biv_pipeline.serving import ServedModel, example_output


class ServedModelDataset(MlflowModelTrackingDataset):
    """``MlflowModelTrackingDataset`` whose ``save`` takes a ``ServedModel``.

    With an input example (tables), MLflow records the example and the signature inferred
    from it and from the model's output; loading returns the model, as the parent does.
    A classical model (``RawRowsModel``) is logged with MLflow's sklearn flavour instead of
    the configured one, under the same name: it takes the same raw rows and returns the same
    raw label units as a logged network (``mlflow.pyfunc.load_model(uri).predict(rows)``).
    """

    def _save(self, model: Any) -> None:
        if not isinstance(model, ServedModel):
            super()._save(model)
            return
        if isinstance(model.model, RawRowsModel):
            self._log_classical(model)
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

    def _log_classical(self, served: ServedModel) -> None:
        """Log a classical model with MLflow's sklearn flavour: the pickled ``RawRowsModel``
        (a scikit-learn estimator inside), whose ``predict`` MLflow's pyfunc calls."""
        if not self._logging_activated:
            return
        example = served.input_example
        self.model_info = mlflow.sklearn.log_model(
            served.model,
            name=self._save_args.get("name"),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE,
            input_example=example,
            signature=infer_signature(example, served.model.predict(example)),
            # given, as the catalog gives the network's, so MLflow does not infer them
            pip_requirements=[f"scikit-learn=={version('scikit-learn')}", "biv-pipeline"],
        )
        self._last_saved_model_uri = self.model_info.model_uri
