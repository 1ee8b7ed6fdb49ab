"""Which parameters make a ``noisy_train``: its recipe, and a key of it stored with the labels.

The recipe is what shapes the noisy labels: the dataset, its raw-data folder (resolved), its
table declaration (less the training defaults ``lr`` and ``model``), the ``ingest`` settings
that shape the split (not ``download``, ``cache_dir``, ``decode_workers`` or
``max_bad_fraction``) and the whole ``noise`` block, as validated. The noise pipeline stores
its key in the labels' provenance (``labels_key``); a train-only run reads labels whose key is
its own. Not to be confused with a sweep trial's ``fingerprint`` (every parameter of a trial).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from biv_pipeline.data.table_declaration import TableDeclaration
from biv_pipeline.parameters.contract import parse_block
from biv_pipeline.parameters.dotted_keys import flatten

LABELS_KEY = "labels_key"  # key of noisy_train's provenance: labels_key(its recipe)
KEY_LENGTH = 16  # hex digits of the recipe's SHA-256
# the ingest settings that change which rows and values the labels have
INGEST_FIELDS = (
    "train_size",
    "test_size",
    "split_seed",
    "normalize",
    "synthetic_samples",
    "synthetic_features",
    "synthetic_seed",
)
TRAINING_DEFAULTS = ("lr", "model")  # of a declaration: they shape training, not labels
SHOWN_DIFFERENCES = 3  # per version, in a message


def labels_recipe(
    dataset: str,
    data_dir: str,
    ingest: Mapping[str, Any],
    noise: Mapping[str, Any],
    source: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The recipe in dotted keys (``noise.p``, ``ingest.split_seed``, ``source.features``)."""
    recipe = {
        "dataset": dataset,
        "data_dir": str(Path(data_dir).resolve()),
        "ingest": {name: ingest.get(name) for name in INGEST_FIELDS},
        "noise": dict(noise),
    }
    if source is not None:
        recipe["source"] = {k: v for k, v in source.items() if k not in TRAINING_DEFAULTS}
    return json.loads(json.dumps(flatten(recipe)))  # tuples as lists, as the parquet keeps them


def labels_key(recipe: Mapping[str, Any]) -> str:
    """A short hash of a recipe: the same recipe, the same key."""
    canonical = json.dumps(recipe, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:KEY_LENGTH]


def recipe_of_provenance(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe of existing labels, from the provenance saved with them."""
    return labels_recipe(
        str(provenance.get("dataset")),
        str(provenance.get("data_dir")),
        provenance.get("ingest") or {},
        provenance.get("noise") or {},
        provenance.get("source"),
    )


def validated_block(name: str, values: Any) -> dict[str, Any]:
    """The ``ingest`` or ``noise`` block as validated, in plain JSON values, the same whether
    it comes from raw parameters, from Kedro's typed ones or from labels' provenance."""
    raw = asdict(values) if is_dataclass(values) else dict(values or {})
    return json.loads(json.dumps(asdict(parse_block(name, raw))))


def noise_block(values: Any) -> dict[str, Any]:
    """The ``noise`` block as validated, in plain JSON values (see :func:`validated_block`)."""
    return validated_block("noise", values)


def recipe_of_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe of the labels a run with these (raw) parameters makes."""
    # the registry loads pandas: not when `kedro --help` or a bad parameter imports this module
    from biv_pipeline.data.registry import BUILTIN_DATASETS  # noqa: PLC0415

    dataset = str(parameters["dataset"])
    declared = (parameters.get("datasets") or {}).get(dataset)
    source = None
    if dataset not in BUILTIN_DATASETS and declared is not None:
        source = TableDeclaration.from_mapping(dataset, declared).describe()
    return labels_recipe(
        dataset,
        str(parameters["data_dir"]),
        validated_block("ingest", parameters.get("ingest")),
        noise_block(parameters.get("noise")),
        source,
    )


def key_of_provenance(provenance: Mapping[str, Any]) -> str:
    """The stored key of existing labels (computed from their recipe if they predate it)."""
    return provenance.get(LABELS_KEY) or labels_key(recipe_of_provenance(provenance))


def differences(theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> str:
    """How a recipe differs from ours, in a few words: ``noise.seed=1 (here 7159), ...``."""
    keys = sorted(set(theirs) | set(ours), key=lambda key: (key.startswith("source."), key))
    changed = [key for key in keys if theirs.get(key) != ours.get(key)]
    shown = [f"{key}={_shown(theirs.get(key))} (here {_shown(ours.get(key))})" for key in changed]
    more = len(shown) - SHOWN_DIFFERENCES
    return ", ".join(shown[:SHOWN_DIFFERENCES]) + (f" and {more} more" if more > 0 else "")


def _shown(value: Any) -> str:
    return "null" if value is None else str(value)
