"""The server keeps built tables in the store (``neuropil.services.tables``): in-process tests
of what a request cannot see: which object is kept, when it is reused, and its collection."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from neuropil.config import Settings
from neuropil.db.migrate import upgrade
from neuropil.db.models import AssetBlob, User
from neuropil.services import assets, auth, gc, indexes, table_build, tables
from neuropil.services.context import Context, make_context
from neuropil.services.dandisets import create_dandiset, delete_dandiset
from neuropil.services.urls import Urls
from neuropil.storage import blob_key


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    ctx = make_context(Settings(data_dir=tmp_path / "data", storage="memory"))
    upgrade(ctx.db)
    return ctx


def test_a_table_is_kept_reused_and_collected_with_its_version(ctx: Context) -> None:
    user, _ = auth.create_user(ctx, username="owner")
    info = create_dandiset(ctx, user=user, name="kept", metadata={})
    ident, urls = info.dandiset.identifier, Urls("http://archive.test", ctx.store)

    def files() -> tables.VersionTable:
        return tables.version_table(
            ctx, user=user, identifier=ident, version="draft", name="files", urls=urls
        )

    first = files()
    key = tables.cache_key(info.draft.id, "files")
    kept = ctx.store.stat(key)
    assert kept is not None and first.rows == []
    again = files()
    assert again.digest == first.digest
    assert ctx.store.stat(key) == kept  # read, not rebuilt
    ctx.store.put("tables/stray.json", b"{}")
    delete_dandiset(ctx, user=user, identifier=ident)
    report = gc.collect(ctx, grace=timedelta(0))
    assert report.tables == 2
    assert list(ctx.store.list(tables.PREFIX)) == []


def add_nwb(ctx: Context, user: User, ident: str, path: str, subject: str) -> None:
    """An NWB asset of session ``s`` of ``subject``, on a blob with a final index verdict."""
    blob_id = str(uuid.uuid4())
    etag = f"{hashlib.md5(blob_id.encode()).hexdigest()}-1"
    with ctx.db.write() as s:
        digest = hashlib.sha256(blob_id.encode()).hexdigest()
        s.add(AssetBlob(blob_id=blob_id, key=blob_key(blob_id), etag=etag, sha256=digest, size=1))
    ctx.store.put(indexes.status_key(blob_id), indexes.IndexStatus("not-hdf5", "", etag).to_json())
    metadata = {
        "path": path,
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": [{"schemaKey": "Participant", "identifier": subject}],
        "wasGeneratedBy": [{"schemaKey": "Session", "identifier": "s"}],
    }
    assets.create_asset(
        ctx, user=user, identifier=ident, version="draft", metadata=metadata, blob_id=blob_id
    )


def counting(counts: Counter[str], fn: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[fn.__name__] += 1
        return fn(*args, **kwargs)

    return counted


class Draft:
    """A draft of its own whose tables are read as ``owner`` through the service."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.user, _ = auth.create_user(ctx, username="owner")
        info = create_dandiset(ctx, user=self.user, name="reuse", metadata={})
        self.ident, self.pk = info.dandiset.identifier, info.draft.id

    def add(self, path: str, subject: str) -> None:
        add_nwb(self.ctx, self.user, self.ident, path, subject)

    def read(self) -> list[tables.VersionTable]:
        urls = Urls("http://archive.test", self.ctx.store)
        return [
            tables.version_table(
                self.ctx, user=self.user, identifier=self.ident, version="draft", name=n, urls=urls
            )
            for n in ("files", "sessions")
        ]

    def from_scratch(self) -> list[tables.VersionTable]:
        for obj in list(self.ctx.store.list(f"{tables.PREFIX}v{self.pk}/")):
            self.ctx.store.delete(obj.key)  # the tables and what their builds learnt
        return self.read()


def same(built: list[tables.VersionTable]) -> list[Any]:
    return [(t.rows, t.digest) for t in built]


def test_a_rebuild_computes_only_what_is_new(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    draft = Draft(ctx)
    counts: Counter[str] = Counter()
    for name in ("facts_of", "session_row", "_verdict", "_metadata"):
        monkeypatch.setattr(table_build, name, counting(counts, getattr(table_build, name)))
    for i in range(4):
        draft.add(f"sub-{i}/sub-{i}_ses-s.nwb", subject=str(i))
    draft.read()
    assert counts == {"facts_of": 8, "session_row": 4, "_verdict": 4}
    counts.clear()
    draft.add("sub-0/sub-0_ses-s_ophys.nwb", subject="0")  # joins session 0
    rebuilt = draft.read()
    # Its metadata read by asset id, once per table; the one session it joins made again.
    assert counts == {"_metadata": 2, "facts_of": 2, "session_row": 1, "_verdict": 1}
    assert [t.rows[0]["files"] for t in rebuilt[1:]] == [2]
    assert same(draft.from_scratch()) == same(rebuilt)


def test_a_record_kept_before_rows_were_reused_lends_its_verdicts(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = Draft(ctx)
    draft.add("sub-0/sub-0_ses-s.nwb", subject="0")
    draft.read()
    for name in ("files", "sessions"):  # as the previous version kept them: no learnt object
        key, learnt = tables.cache_key(draft.pk, name), tables.learnt_key(draft.pk, name)
        raw = json.loads(b"".join(ctx.store.read(key)))
        raw.pop("members")
        if name == "sessions":
            raw["known"] = json.loads(b"".join(ctx.store.read(learnt)))["known"]
            ctx.store.delete(learnt)
        ctx.store.put(key, json.dumps(raw).encode())
    counts: Counter[str] = Counter()
    for name in ("facts_of", "_verdict"):
        monkeypatch.setattr(table_build, name, counting(counts, getattr(table_build, name)))
    draft.add("sub-0/sub-0_ses-s_ophys.nwb", subject="0")
    rebuilt = draft.read()
    # Manifest rows are reused (1 new), sessions facts are read again (2), one index read.
    assert counts == {"facts_of": 3, "_verdict": 1}
    assert [t.rows[0]["files"] for t in rebuilt[1:]] == [2]
    assert same(draft.from_scratch()) == same(rebuilt)
