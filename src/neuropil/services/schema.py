"""dandischema checks, with errors in DANDI's ``{"field", "message"}`` shape.

A message names the fix where the schema knows it: the allowed values of a missing or
mistyped field, and the list form of a list field given a string
(``license``: ``It is a list, e.g. license: ["spdx:CC0-1.0"] (allowed values: ...)``).

The server validates at the schema version it reports (``DANDI_SCHEMA_VERSION``), the way
dandi-archive does: ``dandischema.metadata.validate(md, schema_key=..., json_validation=True)``
on metadata completed with everything publishing would add. JSON-schema validation of
other schema versions would download the schema from GitHub, so metadata that declares
another version is checked with the pydantic models only; nothing here reaches a network.
Whatever the input, these functions return errors rather than raise.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable
from typing import Any

import dandischema.exceptions
import dandischema.models
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


# -- what to write instead ----------------------------------------------------------------------
#: How many allowed values a message lists before it says "..." (roleName has dozens).
MAX_CHOICES = 12


@functools.cache
def _model_schema(schema_key: str) -> dict[str, Any] | None:
    model = getattr(dandischema.models, schema_key, None)
    if not isinstance(model, type) or not issubclass(model, pydantic.BaseModel):
        return None
    return model.model_json_schema()


def _resolve(root: dict[str, Any], node: Any) -> dict[str, Any] | None:
    """``node`` with ``$ref`` followed and a one-of-a-kind ``anyOf`` (``X | None``) opened."""
    for _ in range(10):
        if not isinstance(node, dict):
            return None
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
            continue
        options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
        if "anyOf" in node and len(options) == 1:
            node = options[0]
            continue
        return node
    return None


def _node(schema_key: str, field: str) -> dict[str, Any] | None:
    """The JSON schema of ``field`` (``contributor.0.roleName``) in a model."""
    root = _model_schema(schema_key)
    if root is None:
        return None
    node = _resolve(root, root)
    for part in field.split(".") if field else []:
        if node is None:
            return None
        options = [_resolve(root, o) for o in node.get("anyOf", node.get("oneOf", []))]
        named = [o for o in options if o is not None and o.get("title") == part]
        if named:  # pydantic names the member of a union it tried (contributor.0.Person)
            node = named[0]
        elif node.get("type") == "array":
            node = _resolve(root, node.get("items"))
        else:
            node = _resolve(root, node.get("properties", {}).get(part))
    return node


def _choices(root_key: str, node: dict[str, Any]) -> list[str]:
    values = node.get("enum")
    if values is None and node.get("type") == "array":
        root = _model_schema(root_key) or {}
        item = _resolve(root, node.get("items")) or {}
        values = item.get("enum")
    return [str(v) for v in values] if isinstance(values, list) else []


def fix_hint(schema_key: str, field: str, *, type_error: bool = False) -> str:
    """What to write for ``field``: its allowed values and, for a list, its form (``""``
    when the schema says nothing useful)."""
    node = _node(schema_key, field) if field else None
    if node is None:
        return ""
    choices = sorted(_choices(schema_key, node))
    listed = ", ".join(choices[:MAX_CHOICES]) + (", ..." if len(choices) > MAX_CHOICES else "")
    name = field.rsplit(".", 1)[-1]
    if node.get("type") == "array" and (type_error or choices):
        example = json.dumps(choices[:1] or ["..."])
        text = f"It is a list, e.g. {name}: {example}"
        return text + (f" (allowed values: {listed})." if choices else ".")
    return f"Allowed values: {listed}." if choices else ""


def _with_hint(message: str, hint: str) -> str:
    return f"{message.rstrip('.')}. {hint}" if hint else message


def _jsonschema_error(error: Any, schema_key: str) -> dict[str, str]:
    path = [str(p) for p in error.path]
    message = str(error.message)
    if error.validator == "required" and isinstance(error.validator_value, list):
        # "'x' is a required property" is reported on the parent; name the field itself.
        named = [k for k in error.validator_value if error.message.startswith(f"{k!r} ")]
        if named:
            path.append(str(named[0]))
    field = ".".join(path)
    if error.validator in ("required", "type", "minItems"):
        hint = fix_hint(schema_key, field, type_error=error.validator == "type")
        message = _with_hint(message, hint)
    return {"field": field, "message": message}


def _pydantic_error(error: Any, schema_key: str = "Dandiset") -> dict[str, str]:
    field = _field(error.get("loc") or ())
    message = str(error.get("msg", ""))
    kind = error.get("type")
    if kind in ("list_type", "missing", "too_short"):
        message = _with_hint(message, fix_hint(schema_key, field, type_error=kind == "list_type"))
    return {"field": field, "message": message}


def collect_errors(
    exc: dandischema.exceptions.ValidationError, schema_key: str = "Dandiset"
) -> Errors:
    if isinstance(exc, dandischema.exceptions.JsonschemaValidationError):
        return [_jsonschema_error(e, schema_key) for e in exc.errors]
    if isinstance(exc, dandischema.exceptions.PydanticValidationError):
        return [_pydantic_error(e, schema_key) for e in exc.errors]
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
        return collect_errors(exc, schema_key) or [{"field": "", "message": "invalid metadata"}]
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
