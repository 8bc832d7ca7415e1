"""dandischema checks, with errors in DANDI's ``{"field", "message"}`` shape.

The server validates at the schema version it reports (``DANDI_SCHEMA_VERSION``), the way
dandi-archive does: ``dandischema.metadata.validate(md, schema_key=..., json_validation=True)``
on metadata completed with everything publishing would add. JSON-schema validation of
other schema versions would download the schema from GitHub, so metadata that declares
another version is checked with the pydantic models only; nothing here reaches a network.
Whatever the input, these functions return errors rather than raise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import dandischema.exceptions
import pydantic
from dandischema.consts import ALLOWED_INPUT_SCHEMAS, DANDI_SCHEMA_VERSION
from dandischema.metadata import aggregate_assets_summary, validate
from dandischema.models import Dandiset as DandisetModel

log = logging.getLogger(__name__)

SCHEMA_VERSION = DANDI_SCHEMA_VERSION
Errors = list[dict[str, str]]

#: pydantic error types that mean "not finished yet" rather than "wrong": a draft may lack
#: required fields or hold a name not yet in "Last, First" form; publishing needs them.
INCOMPLETE = frozenset(
    {
        "missing",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "value_error",
        "assertion_error",
    }
)


def _field(loc: Iterable[object]) -> str:
    return ".".join(str(p) for p in loc)


def _jsonschema_error(error: Any) -> dict[str, str]:
    path = [str(p) for p in error.path]
    if error.validator == "required" and isinstance(error.validator_value, list):
        # "'x' is a required property" is reported on the parent; name the field itself.
        named = [k for k in error.validator_value if error.message.startswith(f"{k!r} ")]
        if named:
            path.append(str(named[0]))
    return {"field": ".".join(path), "message": str(error.message)}


def _pydantic_error(error: Any) -> dict[str, str]:
    return {"field": _field(error.get("loc") or ()), "message": str(error.get("msg", ""))}


def collect_errors(exc: dandischema.exceptions.ValidationError) -> Errors:
    if isinstance(exc, dandischema.exceptions.JsonschemaValidationError):
        return [_jsonschema_error(e) for e in exc.errors]
    if isinstance(exc, dandischema.exceptions.PydanticValidationError):
        return [_pydantic_error(e) for e in exc.errors]
    return [{"field": "", "message": str(exc) or type(exc).__name__}]


def check(metadata: dict[str, Any], schema_key: str) -> Errors:
    """Validate ``metadata`` against a dandischema model; ``[]`` when valid."""
    version = metadata.get("schemaVersion")
    try:
        validate(
            metadata,
            schema_key=schema_key,
            json_validation=version == DANDI_SCHEMA_VERSION,
        )
    except dandischema.exceptions.ValidationError as exc:
        return collect_errors(exc) or [{"field": "", "message": "invalid metadata"}]
    except ValueError as exc:  # dandischema's own checks, e.g. an unknown schemaVersion
        return [{"field": "schemaVersion", "message": str(exc)}]
    except Exception as exc:  # odd input must give an error on the object, never a crash
        log.warning("validating %s metadata failed unexpectedly", schema_key, exc_info=True)
        return [{"field": "", "message": f"metadata could not be validated: {exc!r}"}]
    return []


def structural_errors(metadata: dict[str, Any]) -> Errors:
    """Errors in draft metadata that no later edit of other fields could fix: wrong JSON
    types, values outside a vocabulary, unknown keys in a closed object, bad URLs.

    Missing or incomplete fields are left out: a draft may be saved unfinished, and its
    status (Invalid) lists them.
    """
    try:
        DandisetModel(**metadata)
    except pydantic.ValidationError as exc:
        return [_pydantic_error(e) for e in exc.errors() if e.get("type") not in INCOMPLETE]
    except Exception as exc:
        return [{"field": "", "message": f"metadata could not be read: {exc!r}"}]
    return []


def assets_summary(assets: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """dandischema's ``AssetsSummary`` of valid assets' metadata (``path``, ``contentSize``
    and the stored fields suffice). Assets it cannot read are counted but not described."""
    readable: list[dict[str, Any]] = []
    extra_files = extra_bytes = 0
    for md in assets:
        if md.get("schemaVersion") in ALLOWED_INPUT_SCHEMAS and isinstance(
            md.get("encodingFormat"), str
        ):
            readable.append(md)
        else:
            extra_files += 1
            extra_bytes += int(md.get("contentSize") or 0)
    try:
        summary: dict[str, Any] = aggregate_assets_summary(readable)
    except Exception:
        log.warning("aggregating the assets summary failed; counting only", exc_info=True)
        summary = {
            "schemaKey": "AssetsSummary",
            "numberOfBytes": sum(int(m.get("contentSize") or 0) for m in readable),
            "numberOfFiles": len(readable),
        }
    summary["numberOfFiles"] += extra_files
    summary["numberOfBytes"] += extra_bytes
    return summary


def warm_up() -> None:
    """Build the JSON-schema validators once (~0.2 s) before the first request needs them."""
    for key in ("PublishedAsset", "PublishedDandiset"):
        check({"schemaKey": key, "schemaVersion": DANDI_SCHEMA_VERSION}, key)
