"""Check real answers against the server's OpenAPI document (issue 16: "the document
describes real status codes and bodies").

:func:`document` fetches ``/api/docs/openapi.json`` once per server; :meth:`Document.check`
finds the operation a response answered (its method and path, matched against the document's
path templates) and asserts that the document declares the response's status and, when it
has a body, its media type, and that a JSON body is valid against the schema declared for it
(JSON Schema 2020-12, the ``$ref`` to ``#/components/schemas/...`` resolved in the document).
Tests that exercise answers the fuzzer never reaches (other callers' 403s, a manifest of a
published version, an index still being built) call it on their responses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

#: Where the document is, for references into it (any absolute URI would do).
DOCUMENT_URI = "https://neuropil.invalid/api/docs/openapi.json"


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _media(value: str) -> str:
    return value.split(";")[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _pointer(*parts: str) -> str:
    """A JSON Pointer (RFC 6901) to the value at ``parts``."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Document:
    """An OpenAPI document, and the operations of real requests in it."""

    doc: dict[str, Any]

    @functools.cached_property
    def _registry(self) -> Registry:
        return Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(self.doc))

    def validator(self, *location: str) -> jsonschema.Draft202012Validator:
        """A validator of the schema at ``location`` in the document (keys from its root),
        whose references resolve in the document."""
        schema = {"$ref": f"{DOCUMENT_URI}#{_pointer(*location)}"}
        return jsonschema.Draft202012Validator(
            schema,
            registry=self._registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )

    def operation(self, method: str, path: str) -> tuple[tuple[str, str], dict[str, Any]]:
        """The operation ``method path`` is (a concrete path): its method and path template,
        and its declaration."""
        found = [t for t in self.doc["paths"] if _pattern(t).fullmatch(path)]
        # Literal segments beat parameters (``assets/paths/`` over ``assets/{asset_id}/``).
        found.sort(key=lambda t: t.count("{"))
        assert found, f"{path} is no path of the OpenAPI document"
        template = found[0]
        operations = self.doc["paths"][template]
        assert method.lower() in operations, f"{method} {template} is not in the document"
        return (method.upper(), template), operations[method.lower()]

    def check(self, response: httpx.Response) -> None:
        """Assert that the document declares ``response``'s status and media type, and
        that a JSON body fits the schema declared for it."""
        request = response.request
        path = urlsplit(str(request.url)).path
        (method, template), operation = self.operation(request.method, path)
        label = f"{request.method} {template}"
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, (
            f"{label} answered {response.status_code}, which the document does not declare "
            f"(it declares {sorted(operation['responses'])}): {response.text[:200]}"
        )
        has_body = request.method != "HEAD" and bool(response.content)
        if not has_body:
            return
        content = declared.get("content", {})
        media = {_media(m): m for m in content}
        actual = _media(response.headers.get("content-type", ""))
        assert actual in media, (
            f"{label} answered {response.status_code} with {actual}; "
            f"the document declares {sorted(media) or 'no body'}"
        )
        declared_media = media[actual]
        partial = response.status_code == 206  # a byte range of a document is no document
        if partial or not _is_json(actual) or "schema" not in content[declared_media]:
            return
        location = ("paths", template, method.lower(), "responses", str(response.status_code))
        validator = self.validator(*location, "content", declared_media, "schema")
        errors = list(validator.iter_errors(response.json()))
        assert not errors, (
            f"{label} answered {response.status_code} with a body the document's schema "
            "refuses:\n"
            + "\n".join(
                f"  at {'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:10]
            )
            + f"\nbody: {response.text[:500]}"
        )


@functools.cache
def document(api_url: str) -> Document:
    """The OpenAPI document of the server at ``api_url`` (``.../api``), fetched once."""
    r = httpx.get(f"{api_url.rstrip('/')}/docs/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    return Document(r.json())
