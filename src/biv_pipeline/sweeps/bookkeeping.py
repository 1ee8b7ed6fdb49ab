"""A sweep's MLflow runs: which trials are done (with these parameters), and failures."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.entities import Run

from biv_pipeline.run_record import FAILED, TRIAL_TAG, final_score, is_done
from biv_pipeline.sweeps.plan import Trial
from biv_pipeline.tracking.contract import (
    END_REASON_TAG,
    ERROR_TAG,
    EXPERIMENT,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    FINGERPRINT_TAG,
    KEDRO_RUN_ID_TAG,
    NOISY_TRAIN_VERSION_TAG,
    SWEEP_TAG,
)

ERROR_TAG_LIMIT = 5000  # characters of the error kept in its tag
MAX_RUNS = 50_000  # runs read per sweep


def experiment_id(client: MlflowClient) -> str:
    """The project's experiment, created (opening on its runs table) when missing."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(EXPERIMENT, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})


def done_runs(tracking_uri: str, sweep: str) -> dict[str, Run]:
    """The sweep's done runs (FINISHED with a final metric), by ``trial|fingerprint``."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return {}
    runs = client.search_runs(
        [experiment.experiment_id], f"tags.{SWEEP_TAG} = '{sweep}'", max_results=MAX_RUNS
    )
    return {
        done_key(run.data.tags.get(TRIAL_TAG, ""), run.data.tags.get(FINGERPRINT_TAG, "")): run
        for run in runs
        if is_done(run.info.status, final_score(run.data.metrics))
    }


def done_key(trial: str, fingerprint: str) -> str:
    """How a done run is found: the same trial with the same parameters."""
    return f"{trial}|{fingerprint}"


def is_trial_done(trial: Trial, done: dict[str, Run]) -> bool:
    """Whether a run of this trial with these parameters is done."""
    return done_key(trial.key, trial.fingerprint) in done


def labels_of_done_trials(trials: list[Trial], done: dict[str, Run]) -> list[str]:
    """The noisy_train versions that done trials of one data group trained on, newest first."""
    versions = {
        run.data.tags.get(NOISY_TRAIN_VERSION_TAG)
        for trial in trials
        if (run := done.get(done_key(trial.key, trial.fingerprint))) is not None
    }
    return sorted(filter(None, versions), reverse=True)


def record_failure(
    tracking_uri: str,
    tags: dict[str, str],
    error: str,
    session_version: str | None = None,
) -> None:
    """Make sure the trial has a FAILED run carrying its tags and the error (one line: the
    traceback, with this machine's paths, stays in the sweep's log file).

    The run is the one its session opened (found by Kedro's run id), or a new one when the
    session failed before opening any.
    """
    client = MlflowClient(tracking_uri)
    experiment = experiment_id(client)
    opened = (
        client.search_runs([experiment], f"tags.{KEDRO_RUN_ID_TAG} = '{session_version}'")
        if session_version
        else []
    )
    run_id = opened[0].info.run_id if opened else client.create_run(experiment).info.run_id
    line = " ".join(error.split())[:ERROR_TAG_LIMIT] or "failed"
    for name, value in {**tags, ERROR_TAG: line, END_REASON_TAG: line}.items():
        client.set_tag(run_id, name, value)
    client.set_terminated(run_id, FAILED)
