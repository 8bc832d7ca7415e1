"""Building blocks of the JSON Schemas in the OpenAPI document (OpenAPI 3.1: JSON Schema
2020-12, so ``null`` is a type): scalar schemas, and helpers for objects, lists, DRF pages
and references to component schemas (:mod:`neuropil.api.schemas`)."""

from __future__ import annotations

import enum
from typing import Any

#: A JSON Schema, and the ``properties`` of an object's.
Schema = dict[str, Any]
Properties = dict[str, Schema]

STRING: dict[str, Any] = {"type": "string"}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time"}
URL: dict[str, Any] = {"type": "string", "format": "uri"}
OBJECT: dict[str, Any] = {"type": "object"}
IDENTIFIER: dict[str, Any] = {
    "type": "string",
    "pattern": "^[0-9]{6}$",
    "description": "A dandiset's identifier: six digits.",
}


def ref(name: str) -> dict[str, Any]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or ``null``."""
    if "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = {**schema, "type": [schema["type"], "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def values(e: type[enum.StrEnum]) -> dict[str, Any]:
    """A string that is one of the enumeration's values."""
    return {"type": "string", "enum": [m.value for m in e]}


def obj(
    description: str, properties: dict[str, dict[str, Any]], *, optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An object with ``properties``, all required but the ``optional`` ones."""
    return {
        "type": "object",
        "description": description,
        "required": [k for k in properties if k not in optional],
        "properties": properties,
    }


def page(item: str, *, lazy: bool = False) -> dict[str, Any]:
    """DRF's page of ``item`` objects (:mod:`neuropil.api.pagination`); ``lazy``: ``count``
    is ``null`` after the first page (DANDI's LazyPagination of assets)."""
    return obj(
        f"A page of {item} objects; `next` and `previous` are the neighbouring pages' URLs."
        + (" `count` is given on the first page only." if lazy else ""),
        {
            "count": nullable(COUNT) if lazy else COUNT,
            "next": nullable(URL),
            "previous": nullable(URL),
            "results": array(ref(item)),
        },
    )
