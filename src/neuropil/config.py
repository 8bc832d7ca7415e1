"""Settings, read once from the environment and the command line."""

from __future__ import annotations

import json
import os
import re
import secrets
import string
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from neuropil.core.smtp_url import SmtpUrl, tls_context
from neuropil.db.engine import sqlite_url


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


#: dandischema's patterns for identifiers (``NEUROPIL:000001``) and DOI prefixes: metadata
#: built from other values could never validate, so such settings are refused at start.
INSTANCE_NAME_PATTERN = re.compile(r"[A-Z][-A-Z]*")
DOI_PREFIX_PATTERN = re.compile(r"10\.\d{4,}")
#: ``scheme://host[:port][/path]``, as ``NEUROPIL_BLOB_BASE_URL`` must be.
BASE_URL_PATTERN = re.compile(r"https?://[^/?#\s]+(/[^?#\s]*)?")
#: ``s3://bucket[/prefix]``, as ``NEUROPIL_STORAGE_URL`` must be.
S3_URL_PATTERN = re.compile(r"s3://[^/?#\s]+(/[^?#\s]*)?")


#: ``NEUROPIL_JOBS``: the job engines (see ``docs/design/jobs.md``).
JOB_ENGINES = ("inprocess", "procrastinate")

#: The placeholders a viewer's URL template may use (see ``NEUROPIL_VIEWERS``).
VIEWER_FIELDS = frozenset({"url", "asset_id", "dandiset", "version", "path"})


@dataclass(frozen=True)
class Viewer:
    """An external viewer the file browser links to ("Open with ...")."""

    name: str
    url_template: str
    #: Endings of the file paths it opens (``.nwb``, ``.zarr``), any case; empty: every file.
    suffixes: tuple[str, ...] = ()

    def opens(self, path: str) -> bool:
        return not self.suffixes or path.lower().rstrip("/").endswith(self.suffixes)


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
        suffixes = item.get("suffixes", [])
        if not isinstance(suffixes, list) or not all(isinstance(x, str) and x for x in suffixes):
            raise ValueError(
                f"NEUROPIL_VIEWERS[{i}] ({item['name']}): 'suffixes' must be a list of file "
                'endings, e.g. [".nwb"].'
            )
        lowered = tuple(x.lower() for x in suffixes)
        viewers.append(Viewer(item["name"], item["url_template"], lowered))
    return viewers


def parse_smtp_url(text: str) -> SmtpUrl:
    """``NEUROPIL_SMTP_URL``, or a :class:`ValueError` that never repeats the URL (it may
    hold a password)."""
    try:
        return SmtpUrl.parse(text)
    except ValueError as exc:
        raise ValueError(f"NEUROPIL_SMTP_URL cannot be used: {exc}.") from exc


def check_smtp_ca_file(path: Path) -> None:
    """Refuse a ``NEUROPIL_SMTP_CA_FILE`` that could not check any certificate."""
    try:
        tls_context(path)
    except OSError as exc:  # missing, unreadable, or no PEM certificate in it
        reason = exc.strerror or str(exc)
        raise ValueError(
            f"NEUROPIL_SMTP_CA_FILE={str(path)!r} cannot be used: {reason}; give a PEM file "
            "with the certificate of the CA that signed the mail server's certificate."
        ) from exc


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r} is not a yes/no value; use 1 or 0.")


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
    #: ``s3://bucket/prefix``: blobs in an S3-compatible object store instead, reached with
    #: the standard AWS settings (``AWS_ENDPOINT_URL_S3``, credentials, region).
    storage_url: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_STORAGE_URL") or None
    )
    #: With S3: tag embargoed objects ``embargoed=true`` for the bucket policy to refuse them
    #: to anonymous readers (``docs/deployment.md``). ``NEUROPIL_S3_EMBARGO_TAGS=0`` for a
    #: server without object tagging (Garage), whose bucket must then not be public.
    s3_embargo_tags: bool = field(
        default_factory=lambda: _env_flag("NEUROPIL_S3_EMBARGO_TAGS", True)
    )
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
    #: Another origin (``https://blobs.example.org``) that reaches this server, used for blob
    #: URLs: uploaded bytes are then never served from the origin of the web app's sessions.
    blob_base_url: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_BLOB_BASE_URL") or None
    )
    #: Failed web sign-ins allowed per account, and per client address, in 15 minutes
    #: (then 429 with Retry-After; see docs/design/security.md).
    signin_failures_per_account: int = field(
        default_factory=lambda: _env_int("NEUROPIL_SIGNIN_FAILURES_PER_ACCOUNT", 10)
    )
    signin_failures_per_address: int = field(
        default_factory=lambda: _env_int("NEUROPIL_SIGNIN_FAILURES_PER_ADDRESS", 50)
    )
    #: Peers whose X-Forwarded-* headers are trusted (a reverse proxy); ``*`` trusts all.
    forwarded_allow_ips: str = field(
        default_factory=lambda: os.environ.get("NEUROPIL_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    )
    #: The job engine: ``inprocess`` (the archive's ``jobs`` table, run by server threads
    #: and ``neuropil worker``) or ``procrastinate`` (PostgreSQL; only ``neuropil worker``).
    jobs: str = field(default_factory=lambda: os.environ.get("NEUROPIL_JOBS", "inprocess"))
    #: Job threads per server process (``inprocess`` engine only; 0 = none).
    job_workers: int = field(default_factory=lambda: _env_int("NEUROPIL_JOB_WORKERS", 2))
    #: Seconds a running job stays its worker's without a sign of life: a killed worker's
    #: jobs run again elsewhere after this long.
    job_lease: float = field(default_factory=lambda: _env_float("NEUROPIL_JOB_LEASE", 20.0))
    #: Seconds between periodic garbage collections in a running server (0 = never).
    gc_interval: int = field(default_factory=lambda: _env_int("NEUROPIL_GC_INTERVAL", 3600))
    #: Seconds between checks for embargoes that reached their end date (0 = never).
    embargo_check_interval: int = field(
        default_factory=lambda: _env_int("NEUROPIL_EMBARGO_CHECK_INTERVAL", 3600)
    )
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
    #: Whether file pages also offer the built-in viewers (Neurosift for NWB files, vizarr
    #: for OME-Zarr; ``neuropil.web.viewers.DEFAULT_VIEWERS``): ``NEUROPIL_DEFAULT_VIEWERS=0``
    #: turns them off, e.g. for an archive whose files must not be opened by outside sites.
    default_viewers: bool = field(
        default_factory=lambda: _env_flag("NEUROPIL_DEFAULT_VIEWERS", True)
    )
    #: The SMTP server outbound mail goes through (``smtp://host:25``,
    #: ``smtp+starttls://user:pass@host:587``, ``smtps://user:pass@host:465``; see
    #: :mod:`neuropil.core.smtp_url`). Unset: messages are written to ``<data>/mail/``.
    smtp_url: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_SMTP_URL") or None
    )
    #: A PEM file with the CA certificates that the SMTP server's certificate is checked
    #: against, instead of the system's (a mail server with a private CA).
    smtp_ca_file: Path | None = field(default_factory=lambda: _env_path("NEUROPIL_SMTP_CA_FILE"))
    #: The From address of outbound mail; default ``neuropil@`` the host of
    #: ``NEUROPIL_PUBLIC_URL`` (or ``localhost``).
    mail_from: str | None = field(
        default_factory=lambda: os.environ.get("NEUROPIL_MAIL_FROM") or None
    )

    def __post_init__(self) -> None:
        if not INSTANCE_NAME_PATTERN.fullmatch(self.instance_name):
            raise ValueError(
                f"NEUROPIL_INSTANCE_NAME={self.instance_name!r} cannot be used: dandischema "
                "identifiers need upper-case letters and '-' only, e.g. 'NEUROPIL' or 'MY-LAB'."
            )
        if self.blob_base_url is not None and not BASE_URL_PATTERN.fullmatch(self.blob_base_url):
            raise ValueError(
                f"NEUROPIL_BLOB_BASE_URL={self.blob_base_url!r} is not a base URL; use the form "
                "'https://blobs.example.org' (scheme and host, an optional path, no query)."
            )
        if self.storage_url is not None and not S3_URL_PATTERN.fullmatch(self.storage_url):
            raise ValueError(
                f"NEUROPIL_STORAGE_URL={self.storage_url!r} is not a storage URL; use the form "
                "'s3://bucket' or 's3://bucket/prefix'."
            )
        if self.jobs not in JOB_ENGINES:
            raise ValueError(
                f"NEUROPIL_JOBS={self.jobs!r} is not a job engine; use one of "
                f"{', '.join(JOB_ENGINES)}."
            )
        if self.job_lease < 1:
            raise ValueError(f"NEUROPIL_JOB_LEASE={self.job_lease} is too short; use 1 or more.")
        if self.doi_prefix is not None and not DOI_PREFIX_PATTERN.fullmatch(self.doi_prefix):
            raise ValueError(
                f"NEUROPIL_DOI_PREFIX={self.doi_prefix!r} is not a DOI prefix; use the form "
                "'10.NNNN' (four or more digits), e.g. '10.80507'."
            )
        if self.smtp_url is not None:
            parse_smtp_url(self.smtp_url)  # a bad URL is refused at start, not at first mail
        if self.smtp_ca_file is not None:
            check_smtp_ca_file(self.smtp_ca_file)
        if self.mail_from is not None and "@" not in parseaddr(self.mail_from)[1]:
            raise ValueError(
                f"NEUROPIL_MAIL_FROM={self.mail_from!r} is not an e-mail address; use the form "
                "'archive@example.org' or 'Our Archive <archive@example.org>'."
            )

    @property
    def smtp(self) -> SmtpUrl | None:
        """The parsed ``NEUROPIL_SMTP_URL``, ``None`` when mail is written to files."""
        return None if self.smtp_url is None else parse_smtp_url(self.smtp_url)

    @property
    def mail_dir(self) -> Path:
        """Where messages go when no SMTP server is configured."""
        return self.data_dir / "mail"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir.resolve() / "neuropil.db")

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "store"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def signing_secret(self) -> bytes:
        """The HMAC secret for presigned URLs and web sessions: configured, or kept in the
        data directory, so every process on that directory (``serve --workers N``,
        ``neuropil worker``) uses the same one.

        The generated file appears complete or not at all (written aside, then linked into
        place), so processes starting at once never read a half-written secret, and the first
        one's secret wins.
        """
        if self.secret_key:
            return self.secret_key.encode()
        self.ensure_data_dir()
        path = self.data_dir / "secret.key"
        if not path.exists():
            aside = path.with_name(f".secret.key.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))
                    f.flush()
                    os.fsync(f.fileno())
                os.link(aside, path)
            except FileExistsError:
                pass  # another process linked its secret first
            finally:
                aside.unlink(missing_ok=True)
        return path.read_text().strip().encode()
