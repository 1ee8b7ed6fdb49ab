"""Wiring of the train pipeline."""

from kedro.pipeline import Node, Pipeline

from biv_pipeline.catalog.names import IMAGE_CACHE, LABEL_HETEROGENEITY
from biv_pipeline.parameters.resolved_training import make_training_config
from biv_pipeline.parameters.training import TRAINING_PARAMETERS
from biv_pipeline.pipelines.train.nodes import (
    estimate_label_heterogeneity,
    package_model,
    plot_learning_curve,
    predict_test_set,
    summarise_metrics,
    train_model,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Noisy labels -> trained model -> clean-test predictions, metrics, plots, MLflow model."""
    return Pipeline(
        [
            Node(
                make_training_config,
                inputs={
                    "dataset": "params:dataset",
                    **{name: f"params:{name}" for name in TRAINING_PARAMETERS},
                },
                outputs="training_config",
                name="make_training_config",
            ),
            Node(
                estimate_label_heterogeneity,
                inputs=["noisy_train", IMAGE_CACHE],
                outputs=LABEL_HETEROGENEITY,
                name="estimate_label_heterogeneity",
            ),
            Node(
                train_model,
                inputs=[
                    "noisy_train",
                    "test_split",
                    IMAGE_CACHE,
                    "training_config",
                    LABEL_HETEROGENEITY,
                ],
                outputs=["trained_model", "training_history"],
                name="train_model",
            ),
            Node(
                predict_test_set,
                inputs=["trained_model", "test_split", IMAGE_CACHE, "normalisation"],
                outputs="test_predictions",
                name="predict_test_set",
            ),
            Node(
                summarise_metrics,
                inputs=[
                    "training_history",
                    "test_predictions",
                    "normalisation",
                    LABEL_HETEROGENEITY,
                ],
                outputs="training_metrics",
                name="summarise_metrics",
            ),
            Node(
                plot_learning_curve,
                inputs=["training_history", "training_config"],
                outputs="learning_curve",
                name="plot_learning_curve",
            ),
            Node(
                package_model,
                inputs=["trained_model", "test_split", "normalisation"],
                outputs="mlflow_model",
                name="package_model",
            ),
        ],
        tags="train",
    )
