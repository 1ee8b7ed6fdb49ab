"""Wiring of the noise pipeline."""

from kedro.pipeline import Node, Pipeline

from biv_pipeline.pipelines.noise.nodes import add_label_noise, plot_variance_histogram


def create_pipeline(**kwargs) -> Pipeline:
    """Normalised training split -> versioned ``noisy_train`` and a variance histogram."""
    return Pipeline(
        [
            Node(
                add_label_noise,
                inputs=["train_split", "normalisation", "params:noise"],
                outputs="noisy_train",
                name="add_label_noise",
            ),
            Node(
                plot_variance_histogram,
                inputs=["noisy_train", "params:dataset"],
                outputs="variance_histogram",
                name="plot_variance_histogram",
            ),
        ],
        tags="noise",
    )
