"""A sweep's grid as data groups (one ingest + noise run each) and trials (one training each).

A ``seed`` value seeds the split, the noise and the training. Axes of the data (``noise.*``,
``ingest.*``, the dataset) make new data groups; every other axis reuses the group's labels.
``loss`` and ``model`` make the methods (:mod:`biv_pipeline.methods`), every other axis the
settings. A model and loss that a run would refuse (``biv`` for a classical model, which has
no batches) is not planned: :func:`refused_methods` says which and why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from biv_pipeline.methods import method_name
from biv_pipeline.parameters.training import TrainingConfig, batchless_refusal
from biv_pipeline.run_record import (
    AXIS_PREFIX,
    CLEAN,
    METHOD_TAG,
    PLANNED_SEEDS_TAG,
    SEED_TAG,
    SETTING_TAG,
    TRIAL_TAG,
)
from biv_pipeline.sweeps.spec import SweepSpec
from biv_pipeline.tracking.contract import FINGERPRINT_TAG, SWEEP_TAG

DEFAULT_SETTING = "default"
DATA_AXES_PREFIXES = ("noise.", "ingest.")
DATA_AXES = ("dataset", "data_dir", "image_size", "seed")
NOT_SETTINGS = ("loss", "model", "seed")  # the methods' axes and the seeds
SEED_KEYS = ("seed", "noise.seed", "ingest.split_seed")
FINGERPRINT_LENGTH = 16  # hex digits of the parameters' SHA-256 kept in the tag


def fingerprint(params: dict[str, Any]) -> str:
    """A short hash of a trial's parameters: the same parameters, the same fingerprint."""
    canonical = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:FINGERPRINT_LENGTH]


@dataclass(frozen=True)
class Trial:
    """One training run: a method on the labels of one data group."""

    key: str
    method: str
    seed: int
    setting: str
    axes: dict[str, Any]
    params: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """Hash of the resolved parameters (base, overrides, this trial's values)."""
        return fingerprint(self.params)

    def tags(self, sweep: str, planned_seeds: list[int]) -> dict[str, str]:
        """The MLflow tags that identify this trial."""
        tags = {
            SWEEP_TAG: sweep,
            TRIAL_TAG: self.key,
            METHOD_TAG: self.method,
            SEED_TAG: str(self.seed),
            SETTING_TAG: self.setting,
            FINGERPRINT_TAG: self.fingerprint,
            PLANNED_SEEDS_TAG: ",".join(map(str, planned_seeds)),
        }
        tags.update({f"{AXIS_PREFIX}{name}": str(value) for name, value in self.axes.items()})
        return tags


@dataclass
class DataGroup:
    """Trials that share one ingest + noise run (same seed and data parameters)."""

    key: str
    params: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)


def _is_data_axis(axis: str) -> bool:
    return axis in DATA_AXES or axis.startswith(DATA_AXES_PREFIXES)


def _with_seed(flat: dict[str, Any], seed: int) -> dict[str, Any]:
    return {**flat, **dict.fromkeys(SEED_KEYS, seed)}


def _key(values: dict[str, Any]) -> str:
    return ",".join(f"{name}={values[name]}" for name in sorted(values)) or DEFAULT_SETTING


def _combinations(grid: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    combos: list[dict[str, Any]] = [{}]
    for axis, values in grid.items():
        combos = [{**combo, axis: value} for combo in combos for value in values]
    yield from combos


def planned_seeds(spec: SweepSpec) -> list[int]:
    """The seeds every (setting, method) of the sweep should have."""
    return list(spec.grid.get("seed", [spec.base.get("seed", 0)]))


def _methods(spec: SweepSpec) -> list[dict[str, Any]]:
    """The (model and) loss values of each method: the grid's ``model`` x ``loss``."""
    models = {"model": spec.grid["model"]} if "model" in spec.grid else {}
    return list(_combinations({**models, "loss": spec.grid["loss"]}))


def _refusal(params: dict[str, Any]) -> str | None:
    """Why a run with these parameters would refuse its model and loss (None: it would not)."""
    epsilon = params.get("epsilon", TrainingConfig.__pydantic_fields__["epsilon"].default)
    return batchless_refusal(str(params.get("model")), params["loss"], epsilon)


def refused_methods(spec: SweepSpec) -> dict[str, str]:
    """The methods of the grid left out of the plan, each with the reason a run would give."""
    refused = {}
    for setting in _combinations({k: v for k, v in spec.grid.items() if k not in NOT_SETTINGS}):
        for values in _methods(spec):
            params = {**spec.base, **setting, **values}
            reason = _refusal(params)
            if reason:
                refused[_method(spec, params)] = reason
    return refused


def _method(spec: SweepSpec, params: dict[str, Any]) -> str:
    return method_name(params.get("model"), params["loss"], "model" in spec.grid)


def expand(spec: SweepSpec) -> list[DataGroup]:
    """All data groups and their trials, in a deterministic order."""
    setting_axes = {k: v for k, v in spec.grid.items() if k not in NOT_SETTINGS}
    groups: dict[str, DataGroup] = {}
    for seed in planned_seeds(spec):
        for setting in _combinations(setting_axes):
            data_axes = {k: v for k, v in setting.items() if _is_data_axis(k)}
            group_key = f"seed={seed}|{_key(data_axes)}"
            group = groups.setdefault(
                group_key,
                DataGroup(group_key, _with_seed({**spec.base, **data_axes}, seed)),
            )
            for values in _methods(spec):
                params = _with_seed({**spec.base, **setting, **values}, seed)
                if _refusal(params):
                    continue
                method = _method(spec, params)
                key = f"{method}|seed={seed}|{_key(setting)}"
                group.trials.append(Trial(key, method, seed, _key(setting), setting, params))
        if spec.clean_baseline:
            clean = _with_seed({**spec.base, "noise.enabled": False}, seed)
            key = f"{CLEAN}|seed={seed}"
            trial = Trial(key, CLEAN, seed, CLEAN, {}, {**clean, "loss": "mse"})
            groups[key] = DataGroup(key, clean, [trial])
    return list(groups.values())
