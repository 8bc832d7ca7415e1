"""``POST .../versions/draft/publish/``: DANDI's preconditions, the job, the new version."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.api.helpers import (
    add_asset,
    all_pages,
    assets_url,
    client,
    create_dandiset,
    draft_url,
    random_bytes,
    upload_blob,
    wait_for,
)
from tests.api.publishing import (
    DANDISET_METADATA,
    asset_metadata,
    info,
    publish,
    publish_and_wait,
    publishable_dandiset,
    wait_status,
    wait_until_valid,
)
from tests.support import postgres
from tests.support.server import ServerProcess

VERSION_RE = re.compile(r"0\.\d{6}\.\d{4}")


def test_publish_makes_a_linked_immutable_version(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = publishable_dandiset(alice, {"sub-01/a.bin": 2000, "sub-02/b.bin": 3000})
    r = publish(alice, ident, release_notes="First release.")
    assert r.status_code == 202, r.text
    assert r.json()["status"] in ("Publishing", "Published")
    wait_status(anon, ident, "Published")
    versions = anon.get(f"dandisets/{ident}/versions/", params={"order": "-created"}).json()
    assert [v["version"] for v in versions["results"]][1:] == ["draft"]
    name = versions["results"][0]["version"]
    assert VERSION_RE.fullmatch(name)
    pub = info(anon, ident, name)
    assert pub["status"] == "Valid"
    assert pub["release_notes"] == "First release."
    assert pub["asset_count"] == 2 and pub["size"] == 5000
    md = pub["metadata"]
    assert md["version"] == name
    assert md["id"] == f"NEUROPIL:{ident}/{name}"
    assert md["releaseNotes"] == "First release."
    assert md["publishedBy"]["schemaKey"] == "PublishActivity"
    assert md["datePublished"]
    assert "doi" not in md  # no DOI prefix configured
    assert md["assetsSummary"]["numberOfFiles"] == 2
    assert md["assetsSummary"]["numberOfBytes"] == 5000
    assert md["citation"].endswith(f"/dandiset/{ident}/{name}")
    # The draft: Published until it changes, with the release notes of the last publish.
    draft = info(anon, ident)
    assert draft["status"] == "Published"
    assert draft["release_notes"] == "First release."
    detail = anon.get(f"dandisets/{ident}/").json()
    assert detail["most_recent_published_version"]["version"] == name
    # Assets are linked, not copied: the same ids, now carrying publication metadata.
    draft_assets = {a["path"]: a["asset_id"] for a in all_pages(anon, assets_url(ident))}
    pub_url = f"dandisets/{ident}/versions/{name}/assets/"
    pub_assets = {a["path"]: a["asset_id"] for a in all_pages(anon, pub_url)}
    assert pub_assets == draft_assets
    for aid in pub_assets.values():
        amd = anon.get(f"assets/{aid}/").json()
        assert amd["publishedBy"]["schemaKey"] == "PublishActivity"
        assert amd["datePublished"]
        assert anon.get(f"{pub_url}{aid}/validation/").json() == {
            "status": "Valid",
            "validation_errors": [],
        }
    # Publishing again with no change: 400.
    again = publish(alice, ident)
    assert again.status_code == 400
    assert "no changes" in again.text


def test_a_changed_draft_publishes_a_new_version(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = publishable_dandiset(alice)
    first = publish_and_wait(alice, ident, releaseNotes="one")
    md = anon.get(draft_url(ident)).json()
    md["description"] = "A second, better description."
    r = alice.put(draft_url(ident), json={"metadata": md, "name": md["name"]})
    assert r.status_code == 200 and r.json()["status"] == "Pending"
    wait_until_valid(alice, ident)
    second = publish_and_wait(alice, ident)
    assert second != first and VERSION_RE.fullmatch(second)
    # Same minute: DANDI's rule moves the second a minute on.
    assert second > first
    assert info(anon, ident, first)["metadata"]["description"] != "A second, better description."
    assert info(anon, ident, second)["metadata"]["description"] == "A second, better description."
    assert info(anon, ident, first)["release_notes"] == "one"
    assert info(anon, ident, second)["release_notes"] == ""


def test_release_notes_from_the_query(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = publishable_dandiset(alice)
    r = alice.post(f"{draft_url(ident)}publish/", params={"release_notes": "from the query"})
    assert r.status_code == 202, r.text
    wait_status(anon, ident, "Published")
    name = anon.get(f"dandisets/{ident}/versions/", params={"order": "-created"}).json()
    assert info(anon, ident, name["results"][0]["version"])["release_notes"] == "from the query"


def test_publish_permissions(alice: httpx.Client, admin: httpx.Client, anon: httpx.Client) -> None:
    ident = publishable_dandiset(admin)
    assert anon.post(f"{draft_url(ident)}publish/").status_code == 401
    r = alice.post(f"{draft_url(ident)}publish/")
    assert r.status_code == 403
    assert info(anon, ident)["status"] == "Valid"
    assert anon.get(f"dandisets/{ident}/versions/").json()["count"] == 1


def test_publish_refuses_bad_input(alice: httpx.Client) -> None:
    ident = publishable_dandiset(alice)
    too_long = publish(alice, ident, release_notes="x" * 5001)
    assert too_long.status_code == 400 and "5000" in too_long.text
    not_text = publish(alice, ident, release_notes=["a"])
    assert not_text.status_code == 400
    assert alice.post(f"{draft_url(ident)}publish/", json=[1]).status_code == 400
    assert alice.post(f"dandisets/{ident}/versions/0.230101.1200/publish/").status_code == 405
    assert alice.post("dandisets/999999/versions/draft/publish/").status_code == 404
    assert info(alice, ident)["status"] == "Valid"  # nothing happened


def test_publish_of_an_invalid_draft_names_the_invalid_assets(alice: httpx.Client) -> None:
    ident = create_dandiset(alice, metadata=DANDISET_METADATA)
    good = upload_blob(alice, ident, random_bytes(500))
    assert add_asset(alice, ident, "good.bin", good, asset_metadata()).status_code == 200
    # No encodingFormat and a subject that is not a list: the asset cannot be published.
    bad_md = {"wasAttributedTo": "mouse 1"}
    assert add_asset(alice, ident, "sub-x/bad.bin", good, bad_md).status_code == 200
    found = wait_status(alice, ident, "Valid", "Invalid")
    assert found["status"] == "Valid"  # the dandiset's own metadata is fine
    errors = wait_until_asset_errors(alice, ident)
    assert {e["path"] for e in errors} == {"sub-x/bad.bin"}
    assert {"encodingFormat", "wasAttributedTo"} <= {e["field"] for e in errors}
    r = publish(alice, ident)
    assert r.status_code == 400
    assert "sub-x/bad.bin" in r.text and "good.bin" not in r.text
    # An invalid dandiset: the 400 names the fields.
    other = create_dandiset(alice)
    assert add_asset(alice, other, "x.bin", good, asset_metadata()).status_code == 200
    wait_status(alice, other, "Invalid")
    r = publish(alice, other)
    assert r.status_code == 400
    assert "description" in r.text


def wait_until_asset_errors(c: httpx.Client, ident: str) -> list[dict[str, str]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        errors = info(c, ident)["asset_validation_errors"]
        pending = [e for e in errors if "please wait" in e["message"]]
        if errors and not pending:
            return list(errors)
        time.sleep(0.05)
    raise AssertionError("asset validation did not finish")


def test_a_dandiset_with_published_versions_cannot_be_deleted(alice: httpx.Client) -> None:
    ident = publishable_dandiset(alice)
    publish_and_wait(alice, ident)
    r = alice.delete(f"dandisets/{ident}/")
    assert r.status_code == 403
    assert alice.get(f"dandisets/{ident}/").status_code == 200


# -- a server whose jobs can be held back ----------------------------------------------------
@pytest.fixture
def held(tmp_path: Path, fresh_database: str | None) -> Iterator[tuple[ServerProcess, str]]:
    """A server (with a DOI prefix) on each backend, and an approved user's token."""
    env = {"NEUROPIL_DOI_PREFIX": "10.80507"}
    server = ServerProcess(tmp_path / "data", database_url=fresh_database, env=env)
    token = server.add_user("owner")
    yield server, token
    server.stop()


def test_locked_while_publishing_and_the_job_survives_a_restart(
    held: tuple[ServerProcess, str],
) -> None:
    server, token = held
    server.start()
    with client(server.api_url, token) as c:
        ident = publishable_dandiset(c)
    # Restart without job workers: the publish job waits in the queue, the draft stays locked.
    server.stop()
    server.extra_env["NEUROPIL_JOB_WORKERS"] = "0"
    server.start()
    with client(server.api_url, token) as c:
        assert publish(c, ident).status_code == 202
        assert info(c, ident)["status"] == "Publishing"
        again = publish(c, ident)
        assert again.status_code == 423
        md = c.get(draft_url(ident)).json()
        md["description"] = "changed while publishing"
        assert c.put(draft_url(ident), json={"metadata": md, "name": md["name"]}).status_code == 423
        blob = upload_blob(c, ident, random_bytes(10))
        assert add_asset(c, ident, "late.bin", blob, asset_metadata()).status_code == 423
        assert c.delete(f"dandisets/{ident}/").status_code == 403
    # Workers back: the queued job publishes, with the configured DOI.
    server.stop()
    server.extra_env["NEUROPIL_JOB_WORKERS"] = "2"
    server.start()
    with client(server.api_url, token) as c:
        wait_status(c, ident, "Published")
        name = c.get(f"dandisets/{ident}/versions/", params={"order": "-created"}).json()
        version = name["results"][0]["version"]
        md = info(c, ident, version)["metadata"]
        assert md["doi"] == f"10.80507/neuropil.{ident}/{version}"
        assert md["citation"].endswith(f"https://doi.org/10.80507/neuropil.{ident}/{version}")


def test_pending_and_validating_drafts_are_409(held: tuple[ServerProcess, str]) -> None:
    server, token = held
    server.extra_env["NEUROPIL_JOB_WORKERS"] = "0"
    server.start()
    with client(server.api_url, token) as c:
        ident = create_dandiset(c, metadata=DANDISET_METADATA)
        assert info(c, ident)["status"] == "Pending"  # nobody validates on this server
        r = publish(c, ident)
        assert r.status_code == 409
        assert "pending" in r.text.lower()


@pytest.mark.postgres
def test_the_publish_job_locks_the_dandiset_before_its_draft(tmp_path: Path) -> None:
    # Every writer of a dandiset locks the dandiset, then its version. A publish job that
    # locked the draft first deadlocked with a writer holding the dandiset: its new version
    # row waits for a share lock on the dandiset (a foreign key). Here the draft is held
    # when the job runs: the job must be waiting for it already holding the dandiset, so
    # that a writer of the dandiset waits for the job, not the other way round.
    postgres.require()
    with postgres.fresh_database() as url:
        server = ServerProcess(tmp_path / "data", database_url=url)
        token = server.add_user("owner")
        server.start()
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with client(server.api_url, token) as owner:
                ident = publishable_dandiset(owner)
            server.extra_env["NEUROPIL_JOB_WORKERS"] = "0"  # the job waits for the restart
            server.restart()
            with client(server.api_url, token) as owner:
                assert publish(owner, ident).status_code == 202
            number = int(ident)
            with engine.connect() as holder:
                holder.execute(
                    sa.text(
                        "SELECT id FROM versions WHERE dandiset_id = :n AND version = 'draft'"
                        " FOR UPDATE"
                    ),
                    {"n": number},
                )
                del server.extra_env["NEUROPIL_JOB_WORKERS"]
                server.restart()  # the job runs, and meets the held draft

                def job_waits() -> bool:
                    with engine.connect() as c:
                        return bool(
                            c.scalar(
                                sa.text(
                                    "SELECT count(*) FROM pg_stat_activity WHERE"
                                    " datname = current_database() AND wait_event_type = 'Lock'"
                                )
                            )
                        )

                wait_for(job_waits, timeout=60)
                with engine.connect() as writer, pytest.raises(sa.exc.OperationalError):
                    writer.execute(
                        sa.text("SELECT id FROM dandisets WHERE id = :n FOR UPDATE NOWAIT"),
                        {"n": number},
                    )
                holder.commit()
            with client(server.api_url) as anon:
                wait_status(anon, ident, "Published")
        finally:
            engine.dispose()
            server.stop()
