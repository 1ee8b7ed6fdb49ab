"""A sweep file (``conf/base/sweeps/*.yml``): name, base parameters, grid, clean baseline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from biv_pipeline.errors import ParameterError
from biv_pipeline.parameters.contract import check_dotted_key
from biv_pipeline.parameters.dotted_keys import flatten
from biv_pipeline.parameters.training import LOSSES, MODEL_NAMES

SPEC_KEYS = ("name", "base", "grid", "clean_baseline", "description")
SWEEP_FILES = Path("conf/base/sweeps")  # the project's sweep files, from the project root


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file; ``base`` has dotted keys, ``grid`` maps dotted names to lists."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    clean_baseline: bool = False
    description: str = ""

    def with_overrides(self, overrides: dict[str, Any]) -> SweepSpec:
        """The same sweep with some base parameters replaced (dotted keys)."""
        return SweepSpec(
            self.name,
            {**self.base, **overrides},
            self.grid,
            self.clean_baseline,
            self.description,
        )


def load_spec(path: Path) -> SweepSpec:
    """Read and check a sweep file; one-line errors name the file and the bad key."""
    if not path.is_file():
        raise ParameterError(f"sweep file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise ParameterError(f"{path} is not valid YAML{line}: {error}") from None
    if not isinstance(raw, dict):
        raise ParameterError(
            f"{path} must be a mapping with name, base, grid, ...; got a {type(raw).__name__}"
        )
    unknown = set(raw) - set(SPEC_KEYS)
    if unknown:
        raise ParameterError(f"{path}: unknown keys {sorted(unknown)}; allowed: {SPEC_KEYS}")
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict) or "loss" not in grid:
        raise ParameterError(f"{path}: grid must map parameter names to lists and include loss")
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ParameterError(f"{path}: grid.{axis} must be a non-empty list; got {values!r}")
    for key in [*grid, *flatten(raw.get("base") or {})]:
        try:
            check_dotted_key(key)
        except ParameterError as error:
            raise ParameterError(f"{path}: {error}") from None
    bad_losses = [loss for loss in grid["loss"] if loss not in LOSSES]
    if bad_losses:
        raise ParameterError(f"{path}: grid.loss must use {', '.join(LOSSES)}; got {bad_losses}")
    bad_models = [model for model in grid.get("model", []) if model not in MODEL_NAMES]
    if bad_models:
        raise ParameterError(
            f"{path}: grid.model must use {', '.join(MODEL_NAMES)}; got {bad_models}"
        )
    return SweepSpec(
        name=str(raw.get("name") or path.stem),
        base=flatten(raw.get("base") or {}),
        grid=grid,
        clean_baseline=bool(raw.get("clean_baseline", False)),
        description=str(raw.get("description", "")),
    )


def sweep_file_named(name: str, folder: Path = SWEEP_FILES) -> Path | None:
    """The sweep file in ``folder`` whose sweep is called ``name`` (its ``name:``, else its
    file name), or None; files that do not parse are passed over."""
    for path in sorted(folder.glob("*.yml")):
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        named = raw.get("name") if isinstance(raw, dict) else None
        if str(named or path.stem) == name:
            return path
    return None
