"""Check real answers against the server's OpenAPI document (issue 16: "the document
describes real status codes and bodies").

:func:`document` fetches ``/api/docs/openapi.json`` once per server; :meth:`Document.check`
finds the operation a response answered (its method and path, matched against the document's
path templates) and asserts that the document declares the response's status and, when it
has a body, its media type. Tests that exercise answers the fuzzer never reaches (other
callers' 403s, a manifest of a published version, an index still being built) call it on
their responses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _media(value: str) -> str:
    return value.split(";")[0].strip().lower()


@dataclass(frozen=True)
class Document:
    """An OpenAPI document, and the operations of real requests in it."""

    doc: dict[str, Any]

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
        """Assert that the document declares ``response``'s status and media type."""
        request = response.request
        path = urlsplit(str(request.url)).path
        (_, template), operation = self.operation(request.method, path)
        label = f"{request.method} {template}"
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, (
            f"{label} answered {response.status_code}, which the document does not declare "
            f"(it declares {sorted(operation['responses'])}): {response.text[:200]}"
        )
        has_body = request.method != "HEAD" and bool(response.content)
        if not has_body:
            return
        media = {_media(m) for m in declared.get("content", {})}
        actual = _media(response.headers.get("content-type", ""))
        assert actual in media, (
            f"{label} answered {response.status_code} with {actual}; "
            f"the document declares {sorted(media) or 'no body'}"
        )


@functools.cache
def document(api_url: str) -> Document:
    """The OpenAPI document of the server at ``api_url`` (``.../api``), fetched once."""
    r = httpx.get(f"{api_url.rstrip('/')}/docs/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    return Document(r.json())
