"""Wiring of the ingest pipeline."""

from kedro.pipeline import Node, Pipeline

from biv_pipeline.catalog.names import IMAGE_CACHE
from biv_pipeline.pipelines.ingest.nodes import (
    fit_label_and_feature_statistics,
    images_to_cache,
    load_raw_dataset,
    normalise,
    split_dataset,
)

# where the raw dataset comes from: both the image cache and the raw table read these
SOURCE_INPUTS = [
    "params:dataset",
    "params:datasets",
    "params:data_dir",
    "params:image_size",
    "params:ingest",
]


def create_pipeline(**kwargs) -> Pipeline:
    """(Image cache ->) raw dataset -> seeded split -> training statistics -> normalised splits."""
    return Pipeline(
        [
            Node(
                images_to_cache,
                inputs=SOURCE_INPUTS,
                outputs=IMAGE_CACHE,
                name="cache_images",
            ),
            Node(
                load_raw_dataset,
                inputs=[*SOURCE_INPUTS, IMAGE_CACHE],
                outputs="raw_dataset",
                name="load_raw_dataset",
            ),
            Node(
                split_dataset,
                inputs=["raw_dataset", "params:dataset", "params:datasets", "params:ingest"],
                outputs=["raw_train", "raw_test"],
                name="split_train_test",
            ),
            Node(
                fit_label_and_feature_statistics,
                inputs=["raw_train", "params:ingest"],
                outputs="normalisation",
                name="fit_normalisation",
            ),
            Node(
                normalise,
                inputs=["raw_train", "normalisation"],
                outputs="train_split",
                name="normalise_train",
            ),
            Node(
                normalise,
                inputs=["raw_test", "normalisation"],
                outputs="test_split",
                name="normalise_test",
            ),
        ],
        tags="ingest",
    )
