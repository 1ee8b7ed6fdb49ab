"""Pin every version a run reads, and tag the training run with its lineage."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from biv_pipeline.catalog.lineage import INGEST_VERSION, pin, plan_versions
from biv_pipeline.catalog.names import (
    LABEL_HETEROGENEITY,
    NOISY_TRAIN,
    TEST_SPLIT,
    TRAINING_CONFIG,
)
from biv_pipeline.data.schema import clean_label_column
from biv_pipeline.heterogeneity import resolve_epsilon
from biv_pipeline.parameters.dotted_keys import flatten
from biv_pipeline.run_record import headline_metric
from biv_pipeline.tracking.active_run import active_mlflow_run
from biv_pipeline.tracking.contract import (
    HEADLINE_TAG,
    INGEST_VERSION_TAG,
    NOISY_TRAIN_VERSION_TAG,
    SWEEP_TAG,
    USER_TAG,
)

logger = logging.getLogger(__name__)


def training_on(version: str, provenance: dict[str, Any]) -> str:
    """The line a train-only run starts with: which labels, made how, scored on what."""
    ingest, noise = provenance.get("ingest") or {}, provenance.get("noise") or {}
    return (
        f"Training on noisy_train {version} of dataset {provenance.get('dataset')} (split seed "
        f"{ingest.get('split_seed')}, noise seed {noise.get('seed')}, p {noise.get('p')}), "
        f"scored on the test split of ingest {provenance.get(INGEST_VERSION)}"
    )


class LineageHook:
    """Pin every version a run reads (:mod:`biv_pipeline.catalog.lineage`), and tag the training run
    with them, with how its labels were made and with its headline metric.

    Logs ``data.*`` (the provenance stored in the noisy table), ``train.*`` (the training
    settings after ``auto`` was resolved, e.g. ``train.model``, ``train.lr``, and
    ``train.epsilon_value`` for ``epsilon: tau2_hat``) and ``runtime.torch_threads``.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Pin the versions this run reads and writes, before any node (or MLflow run) starts."""
        save_version = run_params["run_id"]  # Kedro's save version of this run
        parameters = catalog.load("parameters")
        lineage = plan_versions(
            catalog, pipeline, save_version, run_params.get("load_versions") or {}, parameters
        )
        pin(catalog, lineage, save_version)
        if lineage.provenance:
            line = training_on(lineage.pins[NOISY_TRAIN], lineage.provenance)
            if SWEEP_TAG in (parameters.get("run_tags") or {}):
                logger.info(line)  # a sweep's trial: to the sweep's log file
            else:
                print(line)  # a plain line above the run's output, not a log record

    @hook_impl
    def before_node_run(self, node: Node, catalog: DataCatalog, inputs: dict[str, Any]) -> None:
        """On the training node: set the lineage tags and log the resolved parameters.

        The run is named after its settings when it opens (:mod:`biv_pipeline.tracking.hook`).
        """
        if not {NOISY_TRAIN, TRAINING_CONFIG} <= set(node.inputs):
            return
        if active_mlflow_run() is None:
            return
        import mlflow  # noqa: PLC0415 - loaded by then: kedro-mlflow opened the run

        from biv_pipeline.catalog.atomic_io import VERSION_ATTR  # noqa: PLC0415

        provenance = dict(inputs[NOISY_TRAIN].attrs)
        config = inputs[TRAINING_CONFIG]
        tags = {
            NOISY_TRAIN_VERSION_TAG: provenance.pop(VERSION_ATTR),
            INGEST_VERSION_TAG: provenance.get(INGEST_VERSION),
            HEADLINE_TAG: headline_metric(clean_label_column(inputs[TEST_SPLIT]) is not None),
        }
        user_tag = catalog.load("params:tag")
        if user_tag is not None:
            tags[USER_TAG] = str(user_tag)
        tags.update({k: str(v) for k, v in flatten(catalog.load("params:run_tags")).items()})
        mlflow.set_tags(tags)
        train = asdict(config)
        heterogeneity = inputs.get(LABEL_HETEROGENEITY)
        if heterogeneity is not None and heterogeneity.estimate is not None:
            # the estimate epsilon: tau2_hat stands for (iv, biv)
            resolved = resolve_epsilon(config, heterogeneity.estimate).epsilon
            if resolved != config.epsilon:
                train["epsilon_value"] = resolved
        mlflow.log_params(
            flatten(
                {
                    "data": provenance,
                    "train": train,
                    # what train_model sets (biv_pipeline.training.torch_threads)
                    "runtime": {"torch_threads": config.threads},
                }
            )
        )
