"""The server keeps built tables in the store (``neuropil.services.tables``): in-process tests
of what a request cannot see: which object is kept, when it is reused, and its collection."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from neuropil.config import Settings
from neuropil.db.migrate import upgrade
from neuropil.services import auth, gc, tables
from neuropil.services.context import Context, make_context
from neuropil.services.dandisets import create_dandiset, delete_dandiset
from neuropil.services.urls import Urls


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
