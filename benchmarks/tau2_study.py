"""Does epsilon = tau2_hat help when the given variances miss part of the noise?

Reads the MLflow runs of the three tau2 sweeps (``conf/base/sweeps/tau2_{auto,iv0,hat}.yml``:
the same data groups, so the same noisy labels per dataset, tau2 and seed) and prints, in
Markdown:

1. per dataset and tau2, the final clean test MSE of mse, iv eps=0, biv eps=auto, biv
   eps=tau2_hat and iv eps=tau2_hat (mean over seeds, Student-t interval) and each method's
   paired difference against biv eps=auto on the same labels, with its interval;
2. tau2_hat against the true tau2 per setting: median and mean over seeds, the mean standard
   error, the excess median - tau2, and the excess a linear pilot fit is expected to add (its
   weighted misfit of the clean labels, mu' M mu / A; see ``biv_pipeline.heterogeneity``),
   computed from the clean labels kept in each run's ``noisy_train`` version.

It checks first that the runs of the three sweeps trained on identical labels (equal tau2_hat
per dataset, tau2 and seed). Run from the repository root after the sweeps:
``python benchmarks/tau2_study.py [--tracking-uri sqlite:///mlflow.db] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from biv_pipeline.data.registry import feature_columns
from biv_pipeline.data.schema import LABEL, NOISY
from biv_pipeline.heterogeneity import with_intercept
from biv_pipeline.markdown import format_interval, markdown_table
from biv_pipeline.reporting import mean_interval

SWEEPS = ("tau2_auto", "tau2_iv0", "tau2_hat")
BASELINE = "biv ε=auto"
METHODS = ("mse", "iv ε=0", BASELINE, "biv ε=tau2_hat", "iv ε=tau2_hat")
MEAN_VARIANCE = 5.025  # the bimodal mixture's mean variance: 0.5 * 0.05 + 0.5 * 10
DIGITS = 3
REPO = Path(__file__).resolve().parents[1]


def method_name(loss: str, epsilon: str) -> str:
    """``mse``, or ``<loss> ε=<epsilon>`` with 0.0 written 0."""
    if loss == "mse":
        return loss
    return f"{loss} ε={'0' if epsilon in ('0', '0.0') else epsilon}"


def load_runs(tracking_uri: str) -> pd.DataFrame:
    """The newest done run of every trial of the tau2 sweeps: dataset, tau2, seed, method."""
    mlflow.set_tracking_uri(tracking_uri)
    frames = [
        mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.sweep = '{sweep}'")
        for sweep in SWEEPS
    ]
    runs = pd.concat([frame for frame in frames if not frame.empty], ignore_index=True)
    runs = runs[(runs["status"] == "FINISHED") & runs["metrics.final_test_mse"].notna()]
    runs = runs.sort_values("start_time").groupby(["tags.sweep", "tags.trial"]).tail(1)
    return pd.DataFrame(
        {
            "dataset": runs["tags.axis.dataset"],
            "tau2": runs["tags.axis.noise.tau2"].astype(float),
            "seed": runs["tags.seed"].astype(int),
            "method": [
                method_name(loss, epsilon)
                for loss, epsilon in zip(
                    runs["params.train.loss"], runs["params.train.epsilon"], strict=True
                )
            ],
            "test_mse": runs["metrics.final_test_mse"],
            "tau2_hat": runs["metrics.tau2_hat"],
            "tau2_hat_se": runs["metrics.tau2_hat_se"],
            "epsilon": runs["metrics.epsilon_mean"],
            "version": runs["tags.noisy_train_version"],
        }
    ).reset_index(drop=True)


def check_same_labels(runs: pd.DataFrame) -> int:
    """Raise unless every run of one (dataset, tau2, seed) saw the same tau2_hat (the same
    labels); return the number of such data groups."""
    spread = runs.groupby(["dataset", "tau2", "seed"])["tau2_hat"].agg(["min", "max"])
    unequal = spread[~np.isclose(spread["min"], spread["max"], rtol=1e-12, atol=0)]
    if len(unequal):
        raise SystemExit(f"runs of one data group trained on different labels:\n{unequal}")
    return len(spread)


def results_table(runs: pd.DataFrame, confidence: float) -> str:
    """Mean clean test MSE per method and its paired difference against biv eps=auto."""
    keys = ["dataset", "tau2", "method"]
    scores = mean_interval(runs, keys, "test_mse", confidence)
    wide = runs.pivot_table(index=["dataset", "tau2", "seed"], columns="method", values="test_mse")
    differences = (
        wide.sub(wide[BASELINE], axis=0).drop(columns=BASELINE).stack().rename("difference")
    )
    paired = mean_interval(differences.reset_index(), keys, "difference", confidence)
    epsilon = runs.groupby(keys)["epsilon"].mean().rename("epsilon").reset_index()
    table = scores.merge(paired, on=keys, how="left", suffixes=("", "_d")).merge(epsilon, on=keys)
    rows = []
    for _, row in table.sort_values(keys, key=_order).iterrows():
        rows.append(
            [
                row["dataset"],
                f"{row['tau2'] / MEAN_VARIANCE:g} ({row['tau2']:g})",
                row["method"],
                str(int(row["n"])),
                "" if row["method"] == "mse" else f"{row['epsilon']:.3g}",
                format_interval(row["mean"], row["ci_low"], row["ci_high"], DIGITS),
                "baseline"
                if row["method"] == BASELINE
                else format_interval(row["mean_d"], row["ci_low_d"], row["ci_high_d"], DIGITS),
            ]
        )
    level = f"{confidence:.0%}"
    header = ["dataset", "τ² / mean σ² (τ²)", "method", "seeds", "mean ε", f"test MSE ({level})"]
    return markdown_table([*header, f"Δ vs {BASELINE} ({level})"], rows, right={3, 4})


def _order(column: pd.Series) -> pd.Series:
    if column.name == "method":
        return column.map({method: rank for rank, method in enumerate(METHODS)})
    if column.name == "dataset":
        return column.map({"synthetic": 0, "wine": 1, "bike": 2})
    return column


def expected_excess(noisy_train: pd.DataFrame) -> float:
    """What the linear pilot fit adds to tau2_hat in expectation, mu' M mu / A, from the clean
    labels: the weighted residual sum of squares of the clean labels' WLS fit over A."""
    design = with_intercept(noisy_train[feature_columns(noisy_train)].to_numpy(np.float64))
    clean = noisy_train[LABEL].to_numpy(np.float64)
    weight = 1.0 / noisy_train[NOISY.variance_seen].to_numpy(np.float64)
    gram = design.T @ (weight[:, None] * design)
    misfit = clean - design @ np.linalg.solve(gram, design.T @ (weight * clean))
    leverage = weight * np.einsum("ij,jk,ik->i", design, np.linalg.inv(gram), design)
    return float((weight * misfit**2).sum() / (weight * (1 - leverage)).sum())


def noisy_train_of(dataset: str, version: str) -> pd.DataFrame:
    path = REPO / "data/05_model_input" / dataset / "noisy_train.parquet" / version
    return pd.read_parquet(path / "noisy_train.parquet")


def tau2_table(runs: pd.DataFrame, confidence: float) -> tuple[str, pd.DataFrame]:
    """tau2_hat against the true tau2 per dataset and tau2 (one value per data group)."""
    groups = runs.drop_duplicates(["dataset", "tau2", "seed"]).copy()
    groups["excess_expected"] = [
        expected_excess(noisy_train_of(dataset, version))
        for dataset, version in zip(groups["dataset"], groups["version"], strict=True)
    ]
    summary = mean_interval(groups, ["dataset", "tau2"], "tau2_hat", confidence).merge(
        groups.groupby(["dataset", "tau2"])
        .agg(
            median=("tau2_hat", "median"),
            se=("tau2_hat_se", "mean"),
            expected=("excess_expected", "mean"),
        )
        .reset_index(),
        on=["dataset", "tau2"],
    )
    rows = []
    for _, row in summary.sort_values(["dataset", "tau2"], key=_order).iterrows():
        tau2 = row["tau2"]
        rows.append(
            [
                row["dataset"],
                f"{tau2 / MEAN_VARIANCE:g} ({tau2:g})",
                str(int(row["n"])),
                f"{row['median']:.3g}",
                format_interval(row["mean"], row["ci_low"], row["ci_high"], DIGITS),
                f"{row['se']:.2g}",
                f"{row['median'] - tau2:+.3g}",
                f"{row['expected']:.3g}",
                "-" if tau2 == 0 else f"{row['median'] / tau2:.2f}",
            ]
        )
    header = [
        "dataset",
        "τ² / mean σ² (τ²)",
        "seeds",
        "median τ̂²",
        f"mean τ̂² ({confidence:.0%})",
        "mean SE",
        "excess (median - τ²)",
        "expected excess (linear misfit)",
        "median / τ²",
    ]
    return markdown_table(header, rows, right=set(range(2, 9))), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args()
    runs = load_runs(args.tracking_uri)
    groups = check_same_labels(runs)
    tau2_markdown, summary = tau2_table(runs, args.confidence)
    lines = [
        f"{len(runs)} runs, {groups} data groups; every run of a data group saw the same labels.",
        "",
        results_table(runs, args.confidence),
        "",
        tau2_markdown,
    ]
    top = summary[(summary["dataset"] == "synthetic") & np.isclose(summary["tau2"], 10.05)]
    if len(top):
        median = float(top["median"].iloc[0])
        verdict = "meets" if median >= 0.8 * 10.05 else "misses"
        lines += [
            "",
            f"synthetic, τ² = 2 x mean σ² = 10.05: median τ̂² {median:.3g} = "
            f"{median / 10.05:.2f} τ² ({verdict} the 0.8 τ² floor); excess "
            f"{median - 10.05:+.3g}",
        ]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    if math.isnan(runs["test_mse"].sum()):
        raise SystemExit("a run without a final test MSE was counted")


if __name__ == "__main__":
    main()
