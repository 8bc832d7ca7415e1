"""Manifests of published versions: ``dandiset.yaml``, ``assets.yaml``, ``dandiset.jsonld``
and ``assets.jsonld`` under ``dandisets/{id}/{version}/`` in the blob store (DANDI's key
layout). The publish job writes them before it commits the version, so a committed
version always has them; the API serves them at ``.../versions/{v}/manifests/{name}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

from neuropil.core.ids import DRAFT
from neuropil.db.models import User
from neuropil.errors import NotFound
from neuropil.services import visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row
from neuropil.storage import BlobStore, ObjectInfo

MANIFESTS = {
    "dandiset.yaml": "application/x-yaml",
    "assets.yaml": "application/x-yaml",
    "dandiset.jsonld": "application/ld+json",
    "assets.jsonld": "application/ld+json",
}

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def manifest_key(identifier: str, version: str, name: str) -> str:
    return f"dandisets/{identifier}/{version}/{name}"


def _yaml(obj: Any) -> bytes:
    out: bytes = yaml.dump(
        obj, Dumper=_Dumper, allow_unicode=True, sort_keys=False, encoding="utf-8"
    )
    return out


def _yaml_list(items: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A YAML sequence with one item per line, each in flow style (JSON is YAML).

    Block-style YAML of 10,000 assets costs libyaml several seconds, most of a publish;
    this costs about what the JSON does, and every YAML parser reads the same objects.
    """
    empty = True
    for item in items:
        empty = False
        yield b"- " + _json(item) + b"\n"
    if empty:
        yield b"[]\n"


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _json_items(items: list[dict[str, Any]]) -> bytes:
    return b"[" + b",".join(_json(a) for a in items) + b"]"


def render(dandiset: dict[str, Any], assets: list[dict[str, Any]]) -> dict[str, bytes]:
    """The four manifests of a version, by file name."""
    return {
        "dandiset.yaml": _yaml(dandiset),
        "assets.yaml": b"".join(_yaml_list(assets)),
        "dandiset.jsonld": _json(dandiset),
        "assets.jsonld": _json_items(assets),
    }


def write(
    store: BlobStore,
    identifier: str,
    version: str,
    dandiset: dict[str, Any],
    assets: list[dict[str, Any]],
) -> None:
    """Store the manifests (each put is atomic and durable)."""
    for name, data in render(dandiset, assets).items():
        store.put(manifest_key(identifier, version, name), data)


def find(
    ctx: Context, *, user: User | None, identifier: str, version: str, name: str
) -> tuple[str, ObjectInfo]:
    """The key and object of a manifest, or :class:`NotFound` saying why not."""
    if name not in MANIFESTS:
        raise NotFound(f"No manifest {name!r}; manifests are {', '.join(MANIFESTS)}.")
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        visibility.require_readable(s, user, dandiset)
    if version == DRAFT:
        raise NotFound("Manifests are written when a version is published; a draft has none.")
    key = manifest_key(dandiset.identifier, version, name)
    info = ctx.store.stat(key)
    if info is None:
        raise NotFound(f"Version {version!r} of dandiset {identifier} has no {name}.")
    return key, info
