"""Does the clean-MSE estimate from noisy test labels agree with the clean test MSE, on a table
that declares its own label noise?

Makes a declared table from the Wine CSVs in a throw-away copy of the project: each row gets a
std from the project's bimodal mixture (uniform variances, mean 0.05 and 10 label variances,
p = 0.5, the default noise block), a noisy quality drawn with it, and the clean quality as
``clean_label``. Then runs ``kedro sweep`` over mse, iv, biv and cutoff x ``--seeds`` seeds
(each seed its own split and training seed; the declared labels are the table's, the same for
every seed) and ``kedro run --pipelines=report``, and prints per loss how often
``final_test_mse_clean_est`` lies within 2.5 standard errors of ``final_test_mse`` (the clean
test MSE), and the paired difference biv - mse on the clean labels with its Student-t 95%
interval, followed by the report's Markdown table.

Run: ``python benchmarks/declared_labels_check.py [--seeds 10] [--epochs 20] [--keep DIR]``
(from the repository root, with the project installed; about 10 minutes on a 2-core VM).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import yaml
from scipy import stats

from biv_pipeline.noise import NoiseConfig, resolve_mixture, sample_variances

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
LAYERS = ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting")  # fmt: skip
WINE_FILES = ("winequality-red.csv", "winequality-white.csv")
LOSSES = ["mse", "iv", "biv", "cutoff"]
SWEEP = "declared_wine"
DATASET = "wine_declared"
TABLE_SEED = 2107  # the declared table's stds and noisy labels (the same for every seed)
WITHIN_SE = 2.5  # the estimate should lie within this many standard errors of the truth


def declared_wine(folder: Path) -> Path:
    """The Wine rows (red then white) with ``sd``, ``noisy_quality`` and ``quality``."""
    wine = pd.concat([pd.read_csv(DATA / "wine" / name, sep=";") for name in WINE_FILES])
    rng = np.random.default_rng(TABLE_SEED)
    bimodal = NoiseConfig(components=[[0.05, 0.0008], [10.0, 30.0]], p=0.5)
    _, variance = sample_variances(resolve_mixture(bimodal), len(wine), rng)
    std = np.sqrt(variance * wine["quality"].var(ddof=0))  # label variances -> raw units
    wine["noisy_quality"] = wine["quality"] + std * rng.standard_normal(len(wine))
    wine["sd"] = std
    path = folder / "declared" / "wine.csv"
    path.parent.mkdir(parents=True)
    wine.to_csv(path, index=False)
    return path


def make_project(root: Path, seeds: int, epochs: int) -> Path:
    """A copy of the project declaring the table in conf/local, with the sweep file."""
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf")
    (root / "src").mkdir()
    for layer in LAYERS:
        (root / "data" / layer).mkdir(parents=True)
    declared_wine(root / "raw")
    declaration = {
        "kind": "csv",
        "files": ["declared/wine.csv"],
        "label": "noisy_quality",
        "std": "sd",
        "clean_label": "quality",
        "split": [4000, 2497],  # Wine's
    }
    local = {"datasets": {DATASET: declaration}}
    (root / "conf" / "local" / "parameters_datasets.yml").write_text(yaml.safe_dump(local))
    spec = {
        "name": SWEEP,
        "description": "Wine with a declared bimodal std (p = 0.5) and its clean quality",
        "base": {"dataset": DATASET, "data_dir": str(root / "raw"), "epochs": epochs},
        "grid": {"loss": LOSSES, "seed": list(range(seeds))},
    }
    path = root / "sweep.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def kedro(root: Path, *args: str) -> None:
    environment = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    environment["MLFLOW_DISABLE_TELEMETRY"] = "true"
    subprocess.run([sys.executable, "-m", "kedro", *args], cwd=root, check=True, env=environment)


def runs(root: Path) -> pd.DataFrame:
    """The sweep's training runs: method, seed and the final scores."""
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    found = mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.sweep='{SWEEP}'")
    found = found[found["tags.method"].notna()]
    columns = {"tags.method": "method", "tags.seed": "seed", "tags.headline_metric": "headline"}
    for name in ("test_mse", "test_mse_clean_est", "test_mse_clean_est_se", "test_mse_noisy"):
        columns[f"metrics.final_{name}"] = name
    table = found[list(columns)].rename(columns=columns)
    return table.assign(seed=table["seed"].astype(int)).sort_values(["method", "seed"])


def t_interval(values: pd.Series) -> tuple[float, float, float]:
    """Mean and Student-t 95% interval."""
    mean, n = float(values.mean()), len(values)
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def summary(table: pd.DataFrame) -> str:
    lines = [
        f"{'loss':<8}{'runs':>5}{'within 2.5 SE':>15}{'test_mse':>10}{'clean_est':>11}"
        f"{'SE':>8}{'noisy':>8}"
    ]
    for method in LOSSES:
        rows = table[table["method"] == method]
        gap = (rows["test_mse_clean_est"] - rows["test_mse"]).abs()
        within = int((gap <= WITHIN_SE * rows["test_mse_clean_est_se"]).sum())
        lines.append(
            f"{method:<8}{len(rows):>5}{f'{within}/{len(rows)}':>15}"
            f"{rows['test_mse'].mean():>10.4f}{rows['test_mse_clean_est'].mean():>11.4f}"
            f"{rows['test_mse_clean_est_se'].mean():>8.4f}{rows['test_mse_noisy'].mean():>8.3f}"
        )
    wide = table.pivot(index="seed", columns="method", values="test_mse")
    mean, low, high = t_interval(wide["biv"] - wide["mse"])
    lines.append(
        f"paired biv - mse on the clean test labels ({len(wide)} seeds): "
        f"{mean:+.4f} [{low:+.4f}, {high:+.4f}] (Student-t 95%)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="make the project here and keep it")
    options = parser.parse_args()
    root = options.keep or Path(tempfile.mkdtemp(prefix="declared-labels-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        spec = make_project(root, options.seeds, options.epochs)
        kedro(root, "sweep", str(spec))
        kedro(root, "run", "--pipelines=report", "--params", f"sweep={SWEEP}")
        table = runs(root)
        print(summary(table))
        print()
        print((root / "data/08_reporting/sweeps" / SWEEP / "results.md").read_text())
    finally:
        if options.keep is None:
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
