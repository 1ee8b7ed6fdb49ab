"""The parameter contract: every key a run accepts, its type and range, checked once before
any node runs (``check_parameters``).

The blocks are declared with pydantic: ``ingest`` and ``report`` here, ``noise`` in
:mod:`biv_pipeline.noise`, the top-level training keys in :mod:`biv_pipeline.parameters.training`.
An unknown key at any depth stops with "did you mean" from the closest valid name; rules that
tie fields together live in each block's ``__post_init__``. Framework-free and light: no
torch, MLflow or scipy, so a bad ``--params`` is named within Kedro's start-up time.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError, create_model
from pydantic import dataclasses as pydantic_dataclasses

from biv_pipeline.data.image_limits import check_image_size, check_max_bad_fraction
from biv_pipeline.errors import ParameterError, closest_name
from biv_pipeline.noise import NoiseConfig
from biv_pipeline.parameters.training import UNRESOLVED_TYPES, TrainingConfig
from biv_pipeline.parameters.types import (
    BLOCK_CONFIG,
    Count,
    Flag,
    OpenFraction,
    PositiveReal,
    Seed,
    Text,
    checked_by,
    describe_validation_error,
    field_names,
)
from biv_pipeline.run_record import CLEAN

# the synthetic problem: x_0 and x_1 enter non-linearly, so at least two features; a split
# needs a training and a test row
MIN_SYNTHETIC_FEATURES = 2
MIN_SYNTHETIC_SAMPLES = 2


@pydantic_dataclasses.dataclass(frozen=True, config=BLOCK_CONFIG)
class IngestConfig:
    """The ``ingest`` parameter block (see ``conf/base/parameters_ingest.yml``)."""

    train_size: Count | None = None
    test_size: Count | None = None
    split_seed: Seed = 7159
    normalize: Flag = True
    download: Flag = True
    synthetic_samples: Annotated[int, Field(strict=True, ge=MIN_SYNTHETIC_SAMPLES)] = 5000
    synthetic_features: Annotated[int, Field(strict=True, ge=MIN_SYNTHETIC_FEATURES)] = 8
    synthetic_seed: Seed = 0
    # read by the catalog's image_cache (conf/base/catalog.yml); default in conf/base/globals.yml
    cache_dir: Text | None = None
    decode_workers: Count | None = None
    max_bad_fraction: Annotated[float, Field(strict=True), checked_by(check_max_bad_fraction)] = (
        0.01
    )


@pydantic_dataclasses.dataclass(frozen=True, config=BLOCK_CONFIG)
class ReportConfig:
    """The ``report`` parameter block (see ``conf/base/parameters_report.yml``)."""

    confidence: OpenFraction = 0.95
    baseline: Text = "mse"
    methods: list[Text] = Field(default_factory=lambda: [CLEAN, "mse", "iv", "biv", "cutoff"])
    digits: Count = 4
    panel_size: Annotated[list[PositiveReal], Field(min_length=2, max_length=2)] = Field(
        default_factory=lambda: [5.0, 3.5]
    )
    panel_columns: Count = 3


def _training_fields() -> dict[str, Any]:
    """The top-level training keys as a user writes them (``auto`` allowed where resolved)."""
    return {
        name: (UNRESOLVED_TYPES.get(name, info.rebuild_annotation()), info.default)
        for name, info in TrainingConfig.__pydantic_fields__.items()
    }


ProjectParameters: type[BaseModel] = create_model(
    "ProjectParameters",
    __config__=BLOCK_CONFIG,
    __doc__="Every parameter of every pipeline (conf/base/parameters*.yml), as given.",
    dataset=(Text, ...),
    data_dir=(Text, ...),
    tag=(str | int | float | None, None),
    run_tags=(dict[str, Any], {}),
    datasets=(dict[str, dict[str, Any]], {}),
    image_size=(Annotated[int, Field(strict=True), checked_by(check_image_size)], 200),
    ingest=(IngestConfig, IngestConfig()),
    noise=(NoiseConfig, ...),
    sweep=(Text | None, None),
    # read by conf/base/mlflow.yml and the catalog through ${runtime_params:...}
    mlflow_tracking_uri=(Text | None, None),
    report=(ReportConfig, ReportConfig()),
    **_training_fields(),
)
BLOCKS: dict[str, Any] = {"ingest": IngestConfig, "noise": NoiseConfig, "report": ReportConfig}
FREE_FORM = ("datasets", "run_tags")  # keys below these are the user's own names


def known_names(location: tuple[str | int, ...]) -> tuple[str, ...]:
    """The valid keys at ``location`` (``()``: top level; ``("noise",)``: the noise block)."""
    if not location:
        return field_names(ProjectParameters)
    block = BLOCKS.get(str(location[0]))
    return field_names(block) if block is not None and len(location) == 1 else ()


def check_dotted_key(key: str) -> None:
    """Raise ParameterError unless ``key`` (``noise.p``, ``lr``) names a parameter."""
    location: tuple[str, ...] = ()
    for part in key.split("."):
        if location and location[0] in FREE_FORM:
            return
        names = known_names(location)
        if part not in names:
            close = closest_name(part, names)
            hint = f"; did you mean {'.'.join((*location, close))}?" if close else ""
            raise ParameterError(f"{key}: unknown parameter{hint}")
        location = (*location, part)


def check_parameters(parameters: dict[str, Any]) -> None:
    """Raise ParameterError with one line for the first key, type, range or rule broken."""
    try:
        ProjectParameters.model_validate(parameters)
    except ValidationError as error:
        raise ParameterError(describe_validation_error(error, known_names=known_names)) from None


def parse_block(name: str, values: dict[str, Any]) -> Any:
    """The typed block ``name`` (ingest, noise or report) from its values, or ParameterError
    with one line naming the dotted field (``noise.p``)."""
    try:
        return BLOCKS[name](**values)
    except ValidationError as error:
        raise ParameterError(
            describe_validation_error(error, name, lambda location: known_names((name, *location)))
        ) from None
