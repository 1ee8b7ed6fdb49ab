"""The value types of the parameter blocks, declared once for pydantic to check.

Every type is strict: a bool is not a number, a string is not a float, a float is not an
integer (an integer is a float). Ranges are part of the type, so the message of a bad value
names the rule (``noise.p: input should be less than or equal to 1; got 1.5``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from biv_pipeline.errors import ParameterError, closest_name

# Every block refuses keys it does not declare (a misspelt key is an error, not a default).
BLOCK_CONFIG = ConfigDict(extra="forbid")
# numpy's generators and torch.manual_seed both take seeds in [0, 2**32)
MAX_SEED = 2**32 - 1
AUTO = "auto"  # a value the project resolves itself (per dataset, model, batch or device)

Flag = Annotated[bool, Field(strict=True)]
Text = Annotated[str, Field(strict=True, min_length=1)]
Real = Annotated[float, Field(strict=True, allow_inf_nan=False)]
PositiveReal = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
NonNegativeReal = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(strict=True, ge=0, le=1)]
OpenFraction = Annotated[float, Field(strict=True, gt=0, lt=1)]  # in (0, 1)
Count = Annotated[int, Field(strict=True, ge=1)]
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)]


def checked_by(check: Callable[[Any], None]) -> AfterValidator:
    """Run a framework-free check (one that raises ParameterError) after the type check, so
    the core and the contract share one rule and one message."""

    def validate(value: object) -> object:
        check(value)
        return value

    return AfterValidator(validate)


def or_auto(kind: Any) -> Any:
    """``kind`` or the string ``auto``; a bad value gets ``kind``'s rule plus "or 'auto'"
    in one message (a plain union would report each alternative separately)."""
    return or_words(kind, AUTO)


def or_words(kind: Any, *words: str) -> Any:
    """``kind`` or one of the strings ``words``; a bad value gets ``kind``'s rule plus
    "or 'auto' or ..." in one message."""
    adapter = TypeAdapter(kind)
    allowed = " or ".join(repr(word) for word in words)

    def validate(value: object) -> object:
        if isinstance(value, str) and value in words:
            return value
        try:
            return adapter.validate_python(value)
        except ValidationError as error:
            rule = error.errors()[0]["msg"]
            raise PydanticCustomError(
                "value_or_auto", "{rule}, or {allowed}", {"rule": rule, "allowed": allowed}
            ) from None

    return Annotated[Literal[words] | kind, PlainValidator(validate)]


UNKNOWN_KEY_ERRORS = ("extra_forbidden", "unexpected_keyword_argument")
SHOWN_VALUE_CHARS = 60  # a bad value longer than this is cut in the message


def dotted_name(location: Sequence[str | int], prefix: str = "") -> str:
    """``("noise", "components", 0)`` -> ``noise.components[0]`` (after ``prefix``)."""
    name = prefix
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else f"{'.' if name else ''}{part}"
    return name


def describe_validation_error(
    error: ValidationError,
    prefix: str = "",
    known_names: Callable[[tuple[str | int, ...]], Sequence[str]] | None = None,
) -> str:
    """One line for the first problem pydantic found: the dotted field, the rule, the value.

    ``known_names(parent location)`` lists the valid keys beside an unknown one, for the
    "did you mean" hint. A rule of a block's own (``__post_init__``) is shown as written.
    """
    problems = error.errors()
    first = problems[0]
    location = tuple(first["loc"])
    field = dotted_name(location, prefix)
    if first["type"] in UNKNOWN_KEY_ERRORS:
        close = closest_name(str(location[-1]), known_names(location[:-1]) if known_names else ())
        hint = f"; did you mean {dotted_name((*location[:-1], close), prefix)}?" if close else ""
        line = f"{field}: unknown parameter{hint}"
    elif isinstance(first.get("ctx", {}).get("error"), ParameterError):
        line = str(first["ctx"]["error"])  # a block's own rule, written out in full
    elif first["type"] == "missing":
        line = f"{field}: required but missing"
    else:
        value = first["input"]
        shown = repr(value)
        if isinstance(value, float) and math.isnan(value):  # fails every range, say why
            shown = "nan, which is not a number"
        if len(shown) > SHOWN_VALUE_CHARS:
            shown = shown[:SHOWN_VALUE_CHARS] + "..."
        message = first["msg"].removeprefix("Value error, ")
        line = f"{field}: {message[0].lower()}{message[1:]}; got {shown}"
    more = len(problems) - 1
    return f"{line} (and {more} more problem{'s' * (more > 1)})" if more else line


def field_names(block: Any) -> tuple[str, ...]:
    """The keys a pydantic model or pydantic dataclass declares."""
    fields = getattr(block, "__pydantic_fields__", None) or getattr(block, "model_fields", {})
    return tuple(fields)
