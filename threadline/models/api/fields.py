"""Field types and limits shared by request models (API.md §1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

METADATA_MAX_BYTES = 16 * 1024
METADATA_MAX_DEPTH = 10


class RequestModel(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped.

    A field's docstring is its description in the OpenAPI document.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


def _reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _reject_surrogates(value: str) -> str:
    """JSON can escape half of a UTF-16 pair (``"\\ud800"``); such a string cannot be stored as UTF-8."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired surrogates") from None
    return value


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """At most ``METADATA_MAX_BYTES`` as compact JSON, nested at most ``METADATA_MAX_DEPTH`` deep."""
    _check_json_value(value, depth=1)
    try:
        # allow_nan=False: NaN and Infinity are not JSON.
        serialised = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired surrogates") from None
    if len(serialised) > METADATA_MAX_BYTES:
        raise ValueError(f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    return value


def _check_json_value(value: Any, *, depth: int) -> None:
    """Nesting depth, and strings free of NUL as everywhere else (PostgreSQL text cannot hold it)."""
    if isinstance(value, str):
        _reject_nul(value)
    elif isinstance(value, dict | list):
        if depth > METADATA_MAX_DEPTH:
            raise ValueError(f"must be nested at most {METADATA_MAX_DEPTH} levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _reject_nul(key)
            _check_json_value(item, depth=depth + 1)


Text = Annotated[str, AfterValidator(_reject_nul), AfterValidator(_reject_surrogates)]
"""Any string the client sends: NUL characters and unpaired surrogates are refused everywhere."""

Metadata = Annotated[
    dict[str, Any],
    AfterValidator(_check_metadata),
    Field(description="Free-form JSON object: at most 16 KiB serialised and 10 levels deep."),
]


def _stripped(max_length: int, *, min_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def _stripped_schema(max_length: int, *, min_length: int) -> WithJsonSchema:
    """JSON Schema's lengths would count the whitespace that is stripped before the limits apply, so the
    published schema states the rule in words rather than promise a ``maxLength`` the service exceeds."""
    return WithJsonSchema(
        {
            "type": "string",
            "description": (
                f"{min_length} to {max_length} characters once surrounding whitespace is removed."
            ),
        }
    )


JsonObject = Metadata
"""A JSON object field of a scaffolded resource: held to the same limits as ``metadata``."""


def _in_utc(value: datetime) -> datetime:
    """Answers are always in UTC (API.md §1), however the time was sent."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a time that exists in UTC") from None


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""A point in time sent by a client: an offset is required (a naive time is ambiguous), stored in UTC."""

StoredInt = Annotated[int, Strict(), Field(ge=-(2**31), le=2**31 - 1)]
"""A whole number that fits an SQL ``INTEGER`` everywhere; strict, so JSON's ``true`` is not ``1``."""


# Names and titles: surrounding whitespace is removed first, then the length is checked.
PersonName = Annotated[
    str, _stripped(100, min_length=0), AfterValidator(_reject_nul), _stripped_schema(100, min_length=0)
]
KeyName = Annotated[
    str, _stripped(100, min_length=1), AfterValidator(_reject_nul), _stripped_schema(100, min_length=1)
]
WorkspaceName = Annotated[
    str, _stripped(100, min_length=1), AfterValidator(_reject_nul), _stripped_schema(100, min_length=1)
]
ConversationTitle = Annotated[
    str, _stripped(200, min_length=0), AfterValidator(_reject_nul), _stripped_schema(200, min_length=0)
]
