"""Does every run of a sweep score what it logged, on its own split? A second path.

For every FINISHED training run of sweep ``--sweep`` (MLflow at ``--tracking-uri``), from the
files the run names rather than through the pipeline's nodes:

- its pickled model (``data/06_models/<dataset>/trained_model.pkl/<run_id>/``) predicts the
  test split of the ingest version it names (``data/03_primary/<dataset>/test.parquet/
  <ingest_version>/``) in one pass (a network: one forward in eval mode; a classical model: its
  estimator), and the mean squared error against the clean labels, in float64, is compared
  with the logged ``final_test_mse``;
- no row of that test split is among its training labels (``noisy_train`` at the run's
  ``noisy_train_version``);
- its split seed and noise seed (``data.ingest.split_seed``, ``data.noise.seed``) equal its
  trial's seed.

Prints one row per method: runs, the largest relative difference between the re-scored and
the logged MSE, test rows found among the training labels, runs whose seeds differ from their
trial's, and the median wall-clock seconds of a run and of a classical fit (``fit_seconds``).
Exits 1 if any check fails (relative difference above ``--rtol``).

Run from the project folder the sweep ran in (the project installed):
``python benchmarks/rescore_sweep.py --sweep wine_models [--tracking-uri sqlite:///mlflow.db]``
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import torch

from biv_pipeline.classical import ClassicalModel
from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import LABEL


def version_file(layer: str, dataset: str, name: str, version: str) -> Path:
    """``data/<layer>/<dataset>/<name>/<version>/<name>``: one saved version of a dataset."""
    return Path("data") / layer / dataset / name / version / name


def rescored_mse(model: object, test: pd.DataFrame) -> float:
    """The clean test MSE of ``model`` on ``test``, predicted in one pass."""
    features = test[feature_columns(test)]
    if isinstance(model, ClassicalModel):
        prediction = model.predict(features.to_numpy(np.float64))
    else:
        with torch.no_grad():
            x = torch.tensor(features.to_numpy(np.float32))
            prediction = model.eval()(x).double().numpy()
    return float(np.mean((prediction - test[LABEL].to_numpy(np.float64)) ** 2))


def check_run(run: pd.Series) -> dict[str, object]:
    """The second path's findings for one run."""
    dataset = run["params.data.dataset"]
    model = pickle.loads(
        version_file("06_models", dataset, "trained_model.pkl", run["tags.run_id"]).read_bytes()
    )
    test = pd.read_parquet(
        version_file("03_primary", dataset, "test.parquet", run["tags.ingest_version"])
    )
    train = pd.read_parquet(
        version_file(
            "05_model_input", dataset, "noisy_train.parquet", run["tags.noisy_train_version"]
        )
    )
    logged = run["metrics.final_test_mse"]
    seed = str(run["tags.seed"])
    seeds = (str(run["params.data.ingest.split_seed"]), str(run["params.data.noise.seed"]))
    return {
        "method": run["tags.method"],
        "relative_difference": abs(rescored_mse(model, test) - logged) / logged,
        "shared_rows": len(train.index.intersection(test.index)),
        "seed_mismatch": seeds != (seed, seed),
        "seconds": (run["end_time"] - run["start_time"]).total_seconds(),
        "fit_seconds": run.get("metrics.fit_seconds", np.nan),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", required=True)
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--rtol", type=float, default=1e-6)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    runs = mlflow.search_runs(
        search_all_experiments=True,
        filter_string=f"tags.sweep = '{args.sweep}' and attributes.status = 'FINISHED'",
    )
    checks = pd.DataFrame([check_run(run) for _, run in runs.iterrows()])
    table = checks.groupby("method", sort=True).agg(
        runs=("relative_difference", "size"),
        max_relative_difference=("relative_difference", "max"),
        shared_rows=("shared_rows", "sum"),
        seed_mismatches=("seed_mismatch", "sum"),
        median_run_s=("seconds", "median"),
        median_fit_s=("fit_seconds", "median"),
    )
    print(f"sweep {args.sweep}: {len(checks)} FINISHED runs re-scored")
    print(table.to_string(float_format=lambda value: f"{value:.3g}"))
    failed = (
        (checks["relative_difference"] > args.rtol).sum()
        + checks["shared_rows"].gt(0).sum()
        + checks["seed_mismatch"].sum()
    )
    print("every run agrees" if not failed else f"{failed} failed checks")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
