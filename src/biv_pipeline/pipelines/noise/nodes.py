"""Nodes of the noise pipeline: corrupt the training labels, plot the variances."""

from __future__ import annotations

from dataclasses import asdict

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from biv_pipeline.catalog.atomic_io import VERSION_ATTR
from biv_pipeline.catalog.lineage import INGEST_VERSION
from biv_pipeline.data.schema import LABEL, NOISY
from biv_pipeline.errors import ParameterError
from biv_pipeline.noise import NoiseConfig, corrupt_labels, variance_scale
from biv_pipeline.parameters.labels import LABELS_KEY, labels_key, recipe_of_provenance

HISTOGRAM_BINS = 60


def add_label_noise(train: pd.DataFrame, normalisation: dict, noise: NoiseConfig) -> pd.DataFrame:
    """The training split plus the ``NOISY`` columns: ``y_noisy``, ``variance``, ``variance_seen``,
    ``component``.

    Variances are in the learner's label units; rows whose seen variance reaches
    ``noise.threshold`` are dropped (the original's dataset-level filter). The table's
    ``attrs`` (kept in the parquet file) extend the split's provenance with the noise
    parameters, the version of the split it was made from (``ingest_version``) and the key of
    the parameters that made the labels (``labels_key``), so a training run can say exactly
    how its labels were made, find labels made with its own parameters and score on the
    matching test split.
    """
    scale = variance_scale(noise.units, normalisation["label_std"], normalisation["normalized"])
    labels = corrupt_labels(
        train[LABEL].to_numpy(), noise, scale, np.random.default_rng(noise.seed)
    )
    noisy = train.assign(
        **{
            NOISY.y_noisy: labels.y_noisy,
            NOISY.variance: labels.variance,
            NOISY.variance_seen: labels.variance_seen,
            NOISY.component: labels.component,
        }
    )
    provenance = dict(train.attrs)
    provenance[INGEST_VERSION] = provenance.pop(VERSION_ATTR, None)
    noisy.attrs = {**provenance, "noise": asdict(noise)}
    noisy.attrs[LABELS_KEY] = labels_key(recipe_of_provenance(noisy.attrs))
    if noise.threshold is None:
        return noisy
    kept = noisy[noisy[NOISY.variance_seen] < noise.threshold * scale]
    if kept.empty:
        raise ParameterError(
            f"noise.threshold = {noise.threshold} removes every one of the {len(noisy)} "
            f"training rows (smallest variance {noisy['variance_seen'].min() / scale:g}); "
            "raise it or set it to null"
        )
    return kept


def plot_variance_histogram(noisy_train: pd.DataFrame, dataset: str) -> Figure:
    """Histogram of the sampled variances per mixture component (log-x when they span decades)."""
    figure, axis = plt.subplots(figsize=(7, 4))
    variance = noisy_train[NOISY.variance]
    positive = variance[variance > 0]
    log_x = not positive.empty and positive.max() / positive.min() > 100
    bins = np.geomspace(positive.min(), positive.max(), HISTOGRAM_BINS) if log_x else HISTOGRAM_BINS
    for component, group in noisy_train.groupby(NOISY.component):
        axis.hist(group[NOISY.variance], bins=bins, alpha=0.7, label=f"component {component}")
    if log_x:
        axis.set_xscale("log")
    axis.set_xlabel("noise variance (normalised label units$^2$)")
    axis.set_ylabel("training labels")
    axis.set_title(f"{dataset}: sampled label-noise variances (n = {len(noisy_train)})")
    axis.legend()
    figure.tight_layout()
    return figure
