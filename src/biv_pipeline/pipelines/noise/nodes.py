"""Nodes of the noise pipeline: corrupt the training labels (or pass declared ones through),
plot the variances."""

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
from biv_pipeline.data.declared_noise import declared_labels, resolve_source
from biv_pipeline.data.schema import DECLARED, LABEL, NOISY, declares_noise
from biv_pipeline.errors import ParameterError
from biv_pipeline.noise import NoiseConfig, NoisyLabels, corrupt_labels, variance_scale
from biv_pipeline.parameters.labels import LABELS_KEY, labels_key, recipe_of_provenance

HISTOGRAM_BINS = 60
NOISE_SOURCE = "noise_source"  # provenance: noise.source resolved (were the variances declared?)
# what the histogram's title calls the variances of each source
SOURCE_WORDS = {
    "synthetic": "sampled",
    "declared": "declared",
    "declared_plus_synthetic": "declared + sampled",
}


def _labels(train: pd.DataFrame, noise: NoiseConfig, scale: float, source: str) -> NoisyLabels:
    """The training labels of ``source`` (see ``parameters_noise.yml``)."""
    rng = np.random.default_rng(noise.seed)
    if source == "synthetic":
        return corrupt_labels(train[LABEL].to_numpy(), noise, scale, rng)
    declared = train[DECLARED.variance].to_numpy()
    return declared_labels(train[LABEL].to_numpy(), declared, noise, scale, rng, source)


def add_label_noise(train: pd.DataFrame, normalisation: dict, noise: NoiseConfig) -> pd.DataFrame:
    """The training split plus the ``NOISY`` columns: ``y_noisy``, ``variance``, ``variance_seen``,
    ``component`` (missing for declared variances).

    The labels' noise is sampled, declared by the table, or both (``noise.source``).
    Variances are in the learner's label units; rows whose seen variance reaches
    ``noise.threshold`` are dropped (the original's dataset-level filter). The table's
    ``attrs`` (kept in the parquet file) extend the split's provenance with the noise
    parameters, ``noise_source`` (``noise.source`` resolved: were the variances declared,
    sampled or both), the version of the split it was made from (``ingest_version``) and the
    key of the parameters that made the labels (``labels_key``), so a training run can say
    exactly how its labels were made, find labels made with its own parameters and score on
    the matching test split.
    """
    scale = variance_scale(noise.units, normalisation["label_std"], normalisation["normalized"])
    source = resolve_source(noise, declares_noise(train), str(train.attrs.get("dataset")))
    labels = _labels(train, noise, scale, source)
    component = (
        labels.component
        if labels.component is not None
        else pd.array([pd.NA] * len(train), dtype="Int64")
    )
    noisy = train.assign(
        **{
            NOISY.y_noisy: labels.y_noisy,
            NOISY.variance: labels.variance,
            NOISY.variance_seen: labels.variance_seen,
            NOISY.component: component,
        }
    )
    provenance = dict(train.attrs)
    provenance[INGEST_VERSION] = provenance.pop(VERSION_ATTR, None)
    noisy.attrs = {**provenance, "noise": asdict(noise), NOISE_SOURCE: source}
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
    """Histogram of the variances per mixture component, or of the declared variances (one
    group, without components); log-x when they span decades."""
    figure, axis = plt.subplots(figsize=(7, 4))
    variance = noisy_train[NOISY.variance]
    positive = variance[variance > 0]
    log_x = not positive.empty and positive.max() / positive.min() > 100
    bins = np.geomspace(positive.min(), positive.max(), HISTOGRAM_BINS) if log_x else HISTOGRAM_BINS
    if noisy_train[NOISY.component].isna().all():
        groups = [("declared", noisy_train)]
    else:
        groups = [
            (f"component {component}", group)
            for component, group in noisy_train.groupby(NOISY.component)
        ]
    for label, group in groups:
        axis.hist(group[NOISY.variance], bins=bins, alpha=0.7, label=label)
    if log_x:
        axis.set_xscale("log")
    source = noisy_train.attrs.get(NOISE_SOURCE, "synthetic")
    axis.set_xlabel("noise variance (normalised label units$^2$)")
    axis.set_ylabel("training labels")
    axis.set_title(
        f"{dataset}: {SOURCE_WORDS.get(source, 'sampled')} label-noise variances "
        f"(n = {len(noisy_train)})"
    )
    axis.legend()
    figure.tight_layout()
    return figure
