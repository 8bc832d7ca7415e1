"""Draft metadata, validation state and publishing, over DANDI's API (neuropil or DANDI).

The official client offers ``wait_until_valid()`` and ``publish()`` but prints none of the
reasons a draft is not publishable; here every state carries its per-field errors, and a
metadata update that the server refuses raises :class:`MetadataRejected` listing each field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from neuropil.errors import (
    BadRequest,
    NeuropilError,
    RemoteBadRequest,
    RemoteConflict,
    RemoteError,
    RemoteLocked,
)
from neuropil.http.transport import Transport

#: What the server says of an asset whose validation has not run yet (DANDI's wording).
BEING_VALIDATED = "asset is currently being validated, please wait."
#: Statuses after which waiting longer changes nothing until the draft changes.
SETTLED = ("Valid", "Invalid", "Published")


@dataclass(frozen=True)
class FieldError:
    """One schema error: ``field`` is a path into the metadata (``contributor.0.name``);
    ``path`` is the asset's path for asset errors."""

    field: str
    message: str
    path: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.field or '(metadata)'}: {self.message}"


@dataclass(frozen=True)
class VersionState:
    """``…/versions/{v}/info/``: the status and every error that stands in the way."""

    version: str
    status: str
    version_errors: list[FieldError] = field(default_factory=list)
    asset_errors: list[FieldError] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def validating(self) -> bool:
        """Validation has not finished: the draft or one of its assets is still pending."""
        return self.status not in SETTLED or any(
            e.message == BEING_VALIDATED for e in self.asset_errors
        )

    @property
    def publishable(self) -> bool:
        return self.status == "Valid" and not self.asset_errors

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionState:
        return cls(
            version=str(data.get("version") or ""),
            status=str(data.get("status") or ""),
            version_errors=_field_errors(data.get("version_validation_errors")),
            asset_errors=_field_errors(data.get("asset_validation_errors")),
            metadata=dict(data.get("metadata") or {}),
        )


class MetadataRejected(BadRequest):
    """The server refused a metadata update; ``errors`` names every field."""

    def __init__(self, errors: list[FieldError], message: str) -> None:
        super().__init__(message)
        self.errors = errors


class NotPublishable(BadRequest):
    """The draft cannot be published (invalid, unchanged or still validating)."""

    def __init__(self, message: str, state: VersionState | None = None) -> None:
        super().__init__(message)
        self.state = state


def _field_errors(raw: object) -> list[FieldError]:
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, Mapping):
            path = item.get("path")
            out.append(
                FieldError(
                    str(item.get("field") or ""),
                    str(item.get("message") or ""),
                    str(path) if path else None,
                )
            )
        else:
            out.append(FieldError("", str(item)))
    return out


def version_state(transport: Transport, identifier: str, version: str = "draft") -> VersionState:
    data = transport.get_json(f"dandisets/{identifier}/versions/{version}/info/")
    return VersionState.from_json(data)


def wait_until_validated(
    transport: Transport,
    identifier: str,
    *,
    timeout: float = 120.0,
    interval: float = 0.25,
    on_poll: Callable[[VersionState], None] | None = None,
) -> VersionState:
    """Poll the draft until its validation has settled (Valid, Invalid or Published, and no
    asset still being validated); returns that state. Raises ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while True:
        state = version_state(transport, identifier)
        if on_poll is not None:
            on_poll(state)
        if not state.validating:
            return state
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"dandiset {identifier}'s draft is still {state.status} after {timeout:.0f} s"
            )
        time.sleep(interval)


def set_metadata(
    transport: Transport, identifier: str, metadata: Mapping[str, Any], *, name: str | None = None
) -> VersionState:
    """Replace the draft's metadata (``PUT …/versions/draft/``); computed fields are ignored
    by the server. Raises :class:`MetadataRejected` with every field the server names."""
    md = dict(metadata)
    body = {"name": name or md.get("name") or "", "metadata": md}
    response = transport.request(
        "PUT", f"dandisets/{identifier}/versions/draft/", json=body, ok=(400,)
    )
    if response.status_code == 400:
        errors, message = _rejection(response)
        raise MetadataRejected(errors, message)
    return VersionState.from_json(response.json())


def _rejection(response: httpx.Response) -> tuple[list[FieldError], str]:
    """neuropil answers ``{"detail", "errors": [{"field", "message"}]}``; DANDI a string,
    a list of strings, or DRF's ``{"field": [messages]}``."""
    try:
        body: Any = response.json()
    except ValueError:
        return [], response.text[:500] or "the server refused the metadata"
    errors: list[FieldError] = []
    message = "the metadata does not fit the schema"
    if isinstance(body, str):
        message = body
    elif isinstance(body, list):
        errors = _field_errors(body)
    elif isinstance(body, Mapping):
        if isinstance(body.get("detail"), str):
            message = body["detail"]
        if isinstance(body.get("errors"), list):
            errors = _field_errors(body["errors"])
        else:
            errors = [
                FieldError(str(k), "; ".join(map(str, v)) if isinstance(v, list) else str(v))
                for k, v in body.items()
                if k != "detail"
            ]
    return errors, message


def publish(
    transport: Transport,
    identifier: str,
    *,
    release_notes: str | None = None,
    wait: bool = True,
    timeout: float = 600.0,
    interval: float = 0.25,
) -> str | None:
    """Publish the draft; with ``wait`` return the new version once it exists (else None).

    Raises :class:`NotPublishable` when the server refuses (with its reason: invalid assets,
    nothing changed since the last version, validation not finished) or, with ``wait``, when
    the draft leaves ``Publishing`` without a new version (with its state), and
    :class:`~neuropil.errors.RemoteLocked` when a publish of this dandiset is already running.
    """
    path = f"dandisets/{identifier}/versions/draft/publish/"
    body = {"release_notes": release_notes} if release_notes else None
    before = _latest_published(transport, identifier) if wait else None
    try:
        transport.request("POST", path, json=body)
    except RemoteLocked as exc:
        raise RemoteLocked(
            f"dandiset {identifier} is being published already",
            status_code=exc.status_code,
            url=exc.url,
        ) from exc
    except (RemoteBadRequest, RemoteConflict) as exc:
        raise NotPublishable(_reason(exc), _state_or_none(transport, identifier)) from exc
    if not wait:
        return None
    deadline = time.monotonic() + timeout
    while True:
        state = version_state(transport, identifier)
        if state.status == "Published":
            latest = _latest_published(transport, identifier)
            if latest is not None and latest != before:
                return latest
        elif state.status != "Publishing":
            raise NotPublishable(
                f"publishing dandiset {identifier} did not finish: its draft is {state.status}",
                state,
            )
        if time.monotonic() >= deadline:
            raise TimeoutError(f"dandiset {identifier} is still publishing after {timeout:.0f} s")
        time.sleep(interval)


def _latest_published(transport: Transport, identifier: str) -> str | None:
    data = transport.get_json(f"dandisets/{identifier}/")
    published = data.get("most_recent_published_version") if isinstance(data, dict) else None
    return str(published["version"]) if isinstance(published, dict) else None


def _state_or_none(transport: Transport, identifier: str) -> VersionState | None:
    try:
        return version_state(transport, identifier)
    except NeuropilError:
        return None


def _reason(exc: RemoteError) -> str:
    """The server's sentence, without the ``POST url -> 400:`` prefix."""
    text = str(exc)
    _, sep, rest = text.partition(": ")
    return rest if sep and " -> " in text.split(": ")[0] else text
