"""Settings, read once from the environment and the command line."""

from __future__ import annotations

import json
import os
import re
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

from neuropil.db.engine import sqlite_url


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


#: dandischema's patterns for identifiers (``NEUROPIL:000001``) and DOI prefixes: metadata
#: built from other values could never validate, so such settings are refused at start.
INSTANCE_NAME_PATTERN = re.compile(r"[A-Z][-A-Z]*")
DOI_PREFIX_PATTERN = re.compile(r"10\.\d{4,}")


#: The placeholders a viewer's URL template may use (see ``NEUROPIL_VIEWERS``).
VIEWER_FIELDS = frozenset({"url", "asset_id", "dandiset", "version", "path"})


@dataclass(frozen=True)
class Viewer:
    """An external viewer the file browser links to ("Open with ...")."""

    name: str
    url_template: str


def parse_viewers(text: str) -> list[Viewer]:
    """``NEUROPIL_VIEWERS``: a JSON list of ``{"name", "url_template"}`` objects.

    Refused at start with a message naming the bad entry, so a typo never shows up as a
    broken link on every file page.
    """
    if not text.strip():
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"NEUROPIL_VIEWERS is not valid JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ValueError("NEUROPIL_VIEWERS must be a JSON list of {name, url_template} objects.")
    viewers = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("name", "url_template")
        ):
            raise ValueError(
                f"NEUROPIL_VIEWERS[{i}] needs non-empty string 'name' and 'url_template'."
            )
        fields = {f for _, f, _, _ in string.Formatter().parse(item["url_template"]) if f}
        unknown = fields - VIEWER_FIELDS
        if unknown:
            raise ValueError(
                f"NEUROPIL_VIEWERS[{i}] ({item['name']}) uses unknown placeholders "
                f"{sorted(unknown)}; use {sorted(VIEWER_FIELDS)}."
            )
        viewers.append(Viewer(item["name"], item["url_template"]))
    return viewers


@dataclass
class Settings:
    """Everything a neuropil server needs to know; see ``docs/configuration.md``."""

    data_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("NEUROPIL_DATA", "neuropil-data"))
    )
    #: SQLAlchemy URL; default: SQLite file in the data directory.
    database_url: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_DATABASE_URL") or None
    )
    #: ``local`` (files under the data directory) or ``memory`` (tests).
    storage: str = field(default_factory=lambda: os.environ.get("NEUROPIL_STORAGE", "local"))
    #: Name used in identifiers such as ``NEUROPIL:000001``.
    instance_name: str = field(
        default_factory=lambda: os.environ.get("NEUROPIL_INSTANCE_NAME", "NEUROPIL")
    )
    #: DataCite-style DOI prefix (``10.80507``); published versions then record the DOI
    #: ``<prefix>/<instance name lower>.<id>/<version>``. Nothing is registered anywhere.
    doi_prefix: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_DOI_PREFIX") or None
    )
    #: Seconds a draft waits after its last change before it is validated again, so a
    #: burst of uploads is validated once rather than once per asset.
    validation_delay: float = field(
        default_factory=lambda: _env_float("NEUROPIL_VALIDATION_DELAY", 0.3)
    )
    #: Fixed external base URL (``https://archive.example.org``); default: from each request.
    public_url: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_PUBLIC_URL") or None
    )
    #: Peers whose X-Forwarded-* headers are trusted (a reverse proxy); ``*`` trusts all.
    forwarded_allow_ips: str = field(
        default_factory=lambda: os.environ.get("NEUROPIL_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    )
    job_workers: int = field(default_factory=lambda: _env_int("NEUROPIL_JOB_WORKERS", 2))
    #: Seconds between periodic garbage collections in a running server (0 = never).
    gc_interval: int = field(default_factory=lambda: _env_int("NEUROPIL_GC_INTERVAL", 3600))
    #: Uploads not finished after this many seconds are abandoned and collected.
    upload_expiry: int = field(
        default_factory=lambda: _env_int("NEUROPIL_UPLOAD_EXPIRY", 7 * 24 * 3600)
    )
    #: Presigned part URLs stay valid this long (DANDI: 7 days).
    presign_expiry: int = field(
        default_factory=lambda: _env_int("NEUROPIL_PRESIGN_EXPIRY", 7 * 24 * 3600)
    )
    max_page_size: int = 1000
    default_page_size: int = 100
    secret_key: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_SECRET_KEY") or None
    )
    #: External viewers offered on file pages ("Open with ..."), from ``NEUROPIL_VIEWERS``.
    viewers: list[Viewer] = field(
        default_factory=lambda: parse_viewers(os.environ.get("NEUROPIL_VIEWERS", ""))
    )

    def __post_init__(self) -> None:
        if not INSTANCE_NAME_PATTERN.fullmatch(self.instance_name):
            raise ValueError(
                f"NEUROPIL_INSTANCE_NAME={self.instance_name!r} cannot be used: dandischema "
                "identifiers need upper-case letters and '-' only, e.g. 'NEUROPIL' or 'MY-LAB'."
            )
        if self.doi_prefix is not None and not DOI_PREFIX_PATTERN.fullmatch(self.doi_prefix):
            raise ValueError(
                f"NEUROPIL_DOI_PREFIX={self.doi_prefix!r} is not a DOI prefix; use the form "
                "'10.NNNN' (four or more digits), e.g. '10.80507'."
            )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir.resolve() / "neuropil.db")

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "store"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def signing_secret(self) -> bytes:
        """The HMAC secret for presigned URLs: configured, or kept in the data directory."""
        if self.secret_key:
            return self.secret_key.encode()
        self.ensure_data_dir()
        path = self.data_dir / "secret.key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()
