"""SQLAlchemy models.

The shapes follow the DANDI Archive's data model (dandisets, versions, assets, blobs,
uploads) so API objects map one-to-one; unique constraints have the last word on races.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from neuropil.db.types import BinaryText, JSONDoc, UTCDateTime, utcnow


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UserStatus(enum.StrEnum):
    INCOMPLETE = "INCOMPLETE"
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class EmbargoStatus(enum.StrEnum):
    OPEN = "OPEN"
    EMBARGOED = "EMBARGOED"
    UNEMBARGOING = "UNEMBARGOING"


class VersionStatus(enum.StrEnum):
    PENDING = "Pending"
    VALIDATING = "Validating"
    VALID = "Valid"
    INVALID = "Invalid"
    PUBLISHING = "Publishing"
    PUBLISHED = "Published"


class AssetStatus(enum.StrEnum):
    PENDING = "Pending"
    VALIDATING = "Validating"
    VALID = "Valid"
    INVALID = "Invalid"


def _enum(e: type[enum.StrEnum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


#: The username prefix of review-link accounts (:class:`ReviewGrant`). It holds spaces, which
#: no sign-up or ``users add`` accepts, so no person's account ever has it.
REVIEW_LINK_USERNAME = "review link "


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    name: Mapped[str] = mapped_column(sa.String(300), default="")
    is_admin: Mapped[bool] = mapped_column(default=False)
    status: Mapped[UserStatus] = mapped_column(_enum(UserStatus), default=UserStatus.PENDING)
    #: For web sign-in (a later feature); API clients use tokens.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    token: Mapped[ApiToken | None] = relationship(back_populates="user", uselist=False)

    @property
    def is_review_link(self) -> bool:
        """An account that exists only behind one review link: it reads, never writes."""
        return self.username.startswith(REVIEW_LINK_USERNAME)

    @property
    def is_approved(self) -> bool:
        if self.is_review_link:
            return False
        return self.is_admin or self.status == UserStatus.APPROVED


class ApiToken(Base):
    """One API token per user, stored as its sha256 (the key itself is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="token")


class SigninFailure(Base):
    """Failed web sign-ins of one key (an account, a client address) in one time slot.

    Shared by every server process on the database, so N processes allow one budget, not N
    (``services/signin_limiter.py``). The key is stored as a digest: no names or addresses.
    """

    __tablename__ = "signin_failures"
    __table_args__ = (sa.Index("ix_signin_failures_scope_slot", "scope", "slot"),)

    scope: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: Unix time divided by the slot's length (a fifteenth of the budget's window).
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column()


dandiset_owners = sa.Table(
    "dandiset_owners",
    Base.metadata,
    sa.Column("dandiset_id", sa.ForeignKey("dandisets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Dandiset(Base):
    __tablename__ = "dandisets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    embargo_status: Mapped[EmbargoStatus] = mapped_column(
        _enum(EmbargoStatus), default=EmbargoStatus.OPEN
    )
    embargo_end_date: Mapped[date | None] = mapped_column(default=None)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owners: Mapped[list[User]] = relationship(secondary=dandiset_owners, lazy="selectin")
    versions: Mapped[list[Version]] = relationship(
        back_populates="dandiset", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def identifier(self) -> str:
        return f"{self.id:06d}"


class ReviewGrant(Base):
    """Read-only access to an embargoed dandiset for one reviewer (migration 0008).

    A grant names an account, or it is a *review link*: a bearer token (stored as its
    sha256) that stands for an account of its own, made with the link and deleted with it
    (:data:`REVIEW_LINK_USERNAME`). Either expires at ``expires`` if set.
    See ``docs/design/embargo.md``.
    """

    __tablename__ = "review_grants"
    __table_args__ = (sa.UniqueConstraint("dandiset_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: sha256 of a review link's token; ``None`` for a grant to a named account.
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True, default=None)
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    @property
    def is_link(self) -> bool:
        return self.token_hash is not None


class Version(Base):
    """A draft or a published version.

    A published version is inserted with status ``Publishing``; the publish transaction ends
    by setting it to ``Valid``, which seals it: from then on database triggers (migration
    0003) refuse any UPDATE or DELETE of the row and any change to its ``version_assets``
    and ``asset_paths`` rows.
    """

    __tablename__ = "versions"
    __table_args__ = (sa.UniqueConstraint("dandiset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(300))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDoc)
    status: Mapped[VersionStatus] = mapped_column(
        _enum(VersionStatus), default=VersionStatus.PENDING
    )
    validation_errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    doi: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    #: The notes given at the last publish request (DANDI keeps them on the draft too).
    release_notes: Mapped[str] = mapped_column(sa.String(5000), default="", server_default="")
    #: ``assetsSummary`` aggregated from the valid assets when validation last finished, so
    #: reads never aggregate thousands of assets; ``None`` until then.
    assets_summary: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, default=None)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dandiset: Mapped[Dandiset] = relationship(back_populates="versions")

    @property
    def is_draft(self) -> bool:
        return self.version == "draft"


class AssetBlob(Base):
    """Deduplicated content: one row per distinct dandi-etag across the whole archive."""

    __tablename__ = "asset_blobs"

    blob_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    etag: Mapped[str] = mapped_column(sa.String(40), unique=True)
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True, default=None)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    embargoed: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Asset(Base):
    """An immutable asset: any change to path, blob or metadata makes a new asset id.

    Only ``status``/``validation_errors`` change after creation, and only until the asset
    is published: a trigger refuses any UPDATE or DELETE of a row with ``published`` true.
    """

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    path: Mapped[str] = mapped_column(sa.String(512))
    blob_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("asset_blobs.blob_id"), index=True, default=None
    )
    #: A ``zarr_archives`` row (a snapshot for published assets); blob xor zarr. No foreign
    #: key: adding one would rebuild the table on SQLite and drop its triggers.
    zarr_id: Mapped[str | None] = mapped_column(sa.String(36), index=True, default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDoc)
    status: Mapped[AssetStatus] = mapped_column(
        _enum(AssetStatus), default=AssetStatus.PENDING, index=True
    )
    validation_errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    published: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    blob: Mapped[AssetBlob | None] = relationship(lazy="joined")
    zarr: Mapped[ZarrArchive | None] = relationship(
        primaryjoin="foreign(Asset.zarr_id) == ZarrArchive.zarr_id", viewonly=True
    )


class VersionAsset(Base):
    """Membership of an asset in a version; the path is copied here for indexed listing."""

    __tablename__ = "version_assets"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "path"),
        sa.Index("ix_version_assets_version_path_lower", "version_id", "path_lower"),
        # Covers order=path listings and unanchored globs without touching the table.
        sa.Index(
            "ix_version_assets_version_path_cover", "version_id", "path", "asset_id", "path_lower"
        ),
    )

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    path: Mapped[str] = mapped_column(BinaryText)
    path_lower: Mapped[str] = mapped_column(BinaryText)


class AssetPath(Base):
    """The folder tree of a version with aggregate sizes: ``""`` is the root.

    Drives ``asset_count``/``size``, the ``/assets/paths/`` browser and file-vs-folder
    conflict checks.
    """

    __tablename__ = "asset_paths"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "path"),
        sa.Index("ix_asset_paths_version_parent", "version_id", "parent", "path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(BinaryText)
    parent: Mapped[str | None] = mapped_column(BinaryText)
    aggregate_files: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    aggregate_size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assets.id", ondelete="CASCADE"), default=None
    )


class BlobClaim(Base):
    """A dandiset entitled to an embargoed blob because its bytes were uploaded for it
    (migration 0008): any other dandiset may use the blob only if the caller can read one
    that holds it. An upload whose bytes match an embargoed blob the uploader may not see is
    not answered with 409 (that would tell them the blob exists): they send the bytes, and
    validation hands them the existing blob with a claim for their dandiset.
    """

    __tablename__ = "blob_claims"

    blob_id: Mapped[str] = mapped_column(
        sa.ForeignKey("asset_blobs.blob_id", ondelete="CASCADE"), primary_key=True
    )
    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(Base):
    """A multipart upload in progress; deleted when validated or collected."""

    __tablename__ = "uploads"

    upload_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    multipart_id: Mapped[str] = mapped_column(sa.String(200))
    etag: Mapped[str] = mapped_column(sa.String(40), index=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    embargoed: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ZarrStatus(enum.StrEnum):
    PENDING = "Pending"
    UPLOADED = "Uploaded"
    INGESTING = "Ingesting"
    COMPLETE = "Complete"


class ZarrArchive(Base):
    """A Zarr archive: a folder of keys whose bytes live under ``zarr/<zarr_id>/``.

    A live Zarr belongs to one dandiset and changes in place (its files are the store's
    listing). A snapshot (``snapshot_of`` set) is what a published version serves: its files
    are ``zarr_snapshot_files`` rows, its bytes content-addressed objects shared by all
    snapshots of one Zarr; once ``Complete`` the triggers of migration 0006 seal it.
    See docs/design/zarr.md.
    """

    __tablename__ = "zarr_archives"
    __table_args__ = (
        sa.Index(
            "uq_zarr_archives_dandiset_name",
            "dandiset_id",
            "name",
            unique=True,
            sqlite_where=sa.text("snapshot_of IS NULL"),
            postgresql_where=sa.text("snapshot_of IS NULL"),
        ),
    )

    zarr_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(BinaryText)
    status: Mapped[ZarrStatus] = mapped_column(_enum(ZarrStatus), default=ZarrStatus.PENDING)
    checksum: Mapped[str | None] = mapped_column(sa.String(80), default=None)
    file_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: The live Zarr a snapshot was taken from (no foreign key: the live one may be deleted
    #: while published snapshots of it stay).
    snapshot_of: Mapped[str | None] = mapped_column(sa.String(36), index=True, default=None)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ZarrSnapshotFile(Base):
    """One file of a Zarr snapshot: its key, md5 and size (the md5 addresses its bytes)."""

    __tablename__ = "zarr_snapshot_files"

    zarr_id: Mapped[str] = mapped_column(
        sa.ForeignKey("zarr_archives.zarr_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(BinaryText, primary_key=True)
    md5: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int] = mapped_column(sa.BigInteger)


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """A durable background job (sha256 of a new blob, ...), claimed by a worker."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    #: Jobs with the same dedup key are queued at most once at a time.
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    state: Mapped[JobState] = mapped_column(_enum(JobState), default=JobState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


# -- search index (migration 0004) ----------------------------------------------------------
# Written only by database triggers, in the transaction of the write they follow: no code
# path can forget them. See docs/design/search.md.

#: Tables that exist on one backend only: PostgreSQL keeps its documents as ``tsvector``
#: columns; SQLite keeps them in FTS5 virtual tables, which SQLAlchemy cannot describe.
_POSTGRESQL_ONLY = {"backend": "postgresql"}
#: SQLite FTS5 virtual tables and the shadow tables FTS5 creates for each of them.
SQLITE_FTS_TABLES = ("search_dandiset_fts", "search_asset_fts")
_FTS5_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")


class SearchWord(Base):
    """The distinct words of the asset paths of each dandiset's draft, with how many assets
    hold each: a dandiset matches a word of its files without visiting its assets."""

    __tablename__ = "search_words"
    __table_args__ = (sa.Index("ix_search_words_word_dandiset", "word", "dandiset_id"),)

    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), primary_key=True
    )
    word: Mapped[str] = mapped_column(BinaryText, primary_key=True)
    n: Mapped[int] = mapped_column()


class SearchFacet(Base):
    """Species, approach, technique, variable and file type values of the assets of each
    dandiset's draft, with how many assets hold each: facet counts and operator filters."""

    __tablename__ = "search_facets"
    # dandiset_id last: facet counts over a set of dandisets read only this index.
    __table_args__ = (sa.Index("ix_search_facets_facet_value", "facet", "value", "dandiset_id"),)

    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[str] = mapped_column(BinaryText, primary_key=True)
    n: Mapped[int] = mapped_column()


class SearchFacetSet(Base):
    """A distinct combination of the reported facet values of a draft (migration 0009):
    facet counts count matching dandisets per combination, then expand the few combinations
    to their values, instead of joining a row per dandiset and value."""

    __tablename__ = "search_facet_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``signature`` on SQLite, its md5 on PostgreSQL (B-tree entries are limited in size).
    key: Mapped[str] = mapped_column(BinaryText, unique=True)
    #: The values as canonical JSON text: ``[["approach", "..."], ["species", "..."]]``.
    signature: Mapped[str] = mapped_column(sa.Text)


class SearchFacetSetValue(Base):
    """The values of a facet combination."""

    __tablename__ = "search_facet_set_values"

    set_id: Mapped[int] = mapped_column(
        sa.ForeignKey("search_facet_sets.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[str] = mapped_column(BinaryText, primary_key=True)


class SearchDandisetFacets(Base):
    """The facet combination of each dandiset whose draft has reported facet values."""

    __tablename__ = "search_dandiset_facets"

    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    set_id: Mapped[int] = mapped_column(sa.ForeignKey("search_facet_sets.id", ondelete="CASCADE"))


class SearchDandiset(Base):
    """PostgreSQL only: the weighted ``tsvector`` of each dandiset's draft metadata."""

    __tablename__ = "search_dandisets"
    __table_args__ = (
        sa.Index("ix_search_dandisets_document", "document", postgresql_using="gin"),
        {"info": _POSTGRESQL_ONLY},
    )

    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), primary_key=True
    )
    #: Description and keywords, kept for result snippets (``ts_headline``).
    description: Mapped[str] = mapped_column(sa.Text)
    document: Mapped[Any] = mapped_column(postgresql.TSVECTOR)


class SearchAsset(Base):
    """PostgreSQL only: the ``tsvector`` of each asset of a draft (path and metadata values)."""

    __tablename__ = "search_assets"
    __table_args__ = (
        sa.Index("ix_search_assets_document", "document", postgresql_using="gin"),
        {"info": _POSTGRESQL_ONLY},
    )

    dandiset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dandisets.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    document: Mapped[Any] = mapped_column(postgresql.TSVECTOR)


def tables_on(dialect: str) -> set[str]:
    """The model tables that exist on a backend (``"sqlite"`` or ``"postgresql"``)."""
    return {
        name
        for name, table in Base.metadata.tables.items()
        if table.info.get("backend", dialect) == dialect
    }


def schema_filter(dialect: str) -> Any:
    """An Alembic ``include_object`` hook for comparing the models with a database.

    It leaves out, with reason: tables of the other backend (the search documents exist on
    PostgreSQL only), and SQLite's FTS5 virtual tables with their shadow tables, which
    SQLAlchemy cannot describe and migration 0004 creates by hand.
    """
    fts = {t + s for t in SQLITE_FTS_TABLES for s in ("", *_FTS5_SHADOWS)}

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ != "table":
            return True
        if reflected and dialect == "sqlite" and name in fts:
            return False
        return name in tables_on(dialect) or reflected

    return include
