"""A small Dandiset with a known tree, seeded over the API (for client tests)."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuropil.client.upload_files import upload_file
from neuropil.http.transport import Transport

#: asset path -> size: two subjects, a nested folder, a top-level file.
TREE: dict[str, int] = {
    "README.txt": 120,
    "sub-01/sub-01_ses-a.nwb": 20_000,
    "sub-01/sub-01_ses-b.nwb": 30_000,
    "sub-02/sub-02_ses-a.nwb": 10_000,
    "sub-02/extra/notes.txt": 300,
}


def publishable_metadata(description: str) -> dict[str, Any]:
    """Everything a draft needs besides its assets to validate as a publishable dandiset
    (``name`` is set separately): DANDI's minimal description, license and contributor."""
    return {
        "description": description,
        "license": ["spdx:CC-BY-4.0"],
        "contributor": [
            {
                "schemaKey": "Person",
                "name": "Doe, Jane",
                "email": "jane.doe@example.org",
                "roleName": ["dcite:Author", "dcite:ContactPerson"],
                "includeInCitation": True,
            }
        ],
    }


METADATA = publishable_metadata("Seeded by neuropil's client tests.")


@dataclass
class Seeded:
    """A Dandiset on a server: its id, the bytes of each asset and the asset ids."""

    identifier: str
    name: str
    content: dict[str, bytes]
    asset_ids: dict[str, str]

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.content[path]).hexdigest()


def create_dandiset(transport: Transport, name: str | None = None) -> tuple[str, str]:
    name = name or f"client test {uuid.uuid4().hex[:10]}"
    data = transport.post_json("dandisets/", {"name": name, "metadata": METADATA})
    return str(data["identifier"]), name


def add_asset(transport: Transport, identifier: str, tmp: Path, path: str, data: bytes) -> str:
    src = tmp / "src" / identifier / path
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    asset = upload_file(transport, dandiset_id=identifier, path=src, asset_path=path)
    return str(asset["asset_id"])


def seed(api_url: str, token: str, tmp: Path, tree: dict[str, int] | None = None) -> Seeded:
    """Create a Dandiset and upload random files of the given sizes into its draft."""
    with Transport(api_url, token) as t:
        identifier, name = create_dandiset(t)
        content = {p: os.urandom(n) for p, n in (tree or TREE).items()}
        ids = {p: add_asset(t, identifier, tmp, p, data) for p, data in content.items()}
    return Seeded(identifier, name, content, ids)


def tree_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative posix path -> bytes)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
