"""Nodes of the ingest pipeline: load a built-in or declared dataset, split it, standardise it."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from biv_pipeline.data.images.cache import CachedImages, ImageSource
from biv_pipeline.data.preprocessing import (
    Normalisation,
    apply_normalisation,
    fit_normalisation,
    split_train_test,
)
from biv_pipeline.data.registry import SourceOptions, get_dataset
from biv_pipeline.parameters.contract import IngestConfig


def _source_options(
    data_dir: str, image_size: int, ingest: IngestConfig, images: CachedImages | None = None
) -> SourceOptions:
    return SourceOptions(
        data_dir=Path(data_dir),
        download=ingest.download,
        synthetic_samples=ingest.synthetic_samples,
        synthetic_features=ingest.synthetic_features,
        synthetic_seed=ingest.synthetic_seed,
        image_size=image_size,
        decode_workers=ingest.decode_workers or os.cpu_count() or 1,
        max_bad_fraction=ingest.max_bad_fraction,
        images=images,
    )


def images_to_cache(
    dataset: str, datasets: dict, data_dir: str, image_size: int, ingest: IngestConfig
) -> ImageSource | None:
    """The image folder of ``dataset`` to cache at ``image_size``; None for a table.

    The catalog's ``image_cache`` decodes it when it saves it, unless a complete cache of the
    same folder and size exists; a table has no images and nothing is written.
    """
    spec = get_dataset(dataset, datasets)
    if spec.images is None:
        return None
    return spec.images(_source_options(data_dir, image_size, ingest))


def load_raw_dataset(
    dataset: str,
    datasets: dict,
    data_dir: str,
    image_size: int,
    ingest: IngestConfig,
    image_cache: CachedImages | None,
) -> pd.DataFrame:
    """Load ``dataset``, built in or declared in ``datasets`` (features or image keys, label ``y``).

    An image dataset's rows are those of its ``image_cache``. A declared table's ``attrs``
    start the provenance: its declaration, rows read and rows dropped for a missing label.
    """
    options = _source_options(data_dir, image_size, ingest, image_cache)
    raw = get_dataset(dataset, datasets).load(options)
    raw.attrs["data_dir"] = data_dir  # lineage: a train-only run refuses labels from elsewhere
    return raw


def split_dataset(
    raw: pd.DataFrame, dataset: str, datasets: dict, ingest: IngestConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded train/test split; sizes default to the dataset's own.

    Both splits carry their provenance in ``attrs`` (saved with the parquet files).
    """
    default_train, default_test = get_dataset(dataset, datasets).default_split(len(raw))
    train, test = split_train_test(
        raw,
        ingest.train_size or default_train,
        ingest.test_size or default_test,
        ingest.split_seed,
    )
    provenance = {**raw.attrs, "dataset": dataset, "train_rows": len(train)}
    provenance.update(test_rows=len(test), ingest=asdict(ingest))
    train.attrs, test.attrs = provenance, dict(provenance)
    return train, test


def fit_label_and_feature_statistics(train: pd.DataFrame, ingest: IngestConfig) -> dict:
    """Mean and std of the training split, saved so metrics can be reported in raw units."""
    return fit_normalisation(train, ingest.normalize).to_dict()


def normalise(frame: pd.DataFrame, normalisation: dict) -> pd.DataFrame:
    """Standardise a split with the training statistics (identity when switched off)."""
    return apply_normalisation(frame, Normalisation.from_dict(normalisation))
