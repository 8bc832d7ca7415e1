"""The search engine through a real server, on SQLite (FTS5) and PostgreSQL (tsvector).

Every write is followed by a search with no wait in between: the index is kept by database
triggers in the transaction of the write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.helpers import (
    assets_url,
    create_dandiset,
    draft_url,
    random_bytes,
    upload_asset,
    upload_blob,
)
from tests.api.publishing import DANDISET_METADATA, publish_and_wait, publishable_dandiset
from tests.conftest import Archive
from tests.search.helpers import (
    ECEPHYS,
    MOUSE,
    RAT,
    SPIKES,
    asset_md,
    find,
    ids,
    paths,
    set_embargoed,
    word,
)


def test_metadata_writes_are_searchable_at_once(alice: httpx.Client, anon: httpx.Client) -> None:
    name, desc, kw, new = word(), word(), word(), word()
    ident = create_dandiset(
        alice, f"Recordings {name}", {"description": f"About {desc}.", "keywords": [kw]}
    )
    for w in (name, desc, kw, ident, f"DANDI:{ident}"):
        assert ids(find(anon, w)) == [ident], w
    md = alice.get(f"{draft_url(ident)}").json()
    md["description"] = f"Now about {new}."
    r = alice.put(draft_url(ident), json={"metadata": md, "name": "renamed"})
    assert r.status_code == 200, r.text
    assert ids(find(anon, desc)) == []
    assert ids(find(anon, name)) == []
    assert ids(find(anon, new)) == [ident]
    assert find(anon, new)["results"][0]["name"] == "renamed"
    assert alice.delete(f"dandisets/{ident}/").status_code == 204
    assert find(anon, new)["count"] == 0


def test_asset_writes_are_searchable_at_once(alice: httpx.Client, anon: httpx.Client) -> None:
    w, w2 = word(), word()
    ident = create_dandiset(alice)
    path = f"sub-{w}/sub-{w}_ses-1_ecephys.nwb"
    asset = upload_asset(alice, ident, path, random_bytes(100), asset_md(MOUSE))
    upload_asset(alice, ident, "other/file.nwb", random_bytes(50), asset_md(MOUSE))
    body = find(anon, w)
    assert ids(body) == [ident]
    hit = body["results"][0]
    assert hit["asset_count"] == 1
    assert hit["assets"] == [{"path": path, "asset_id": asset["asset_id"], "size": 100}]
    # A rename makes a new asset; the old path is gone from the results at once.
    new_path = f"sub-{w2}/data.nwb"
    r = alice.put(
        f"{assets_url(ident)}{asset['asset_id']}/",
        json={"metadata": {**asset_md(MOUSE), "path": new_path}, "blob_id": asset["blob"]},
    )
    assert r.status_code == 200, r.text
    renamed = r.json()["asset_id"]
    assert find(anon, w)["count"] == 0
    assert paths(find(anon, w2), ident) == [new_path]
    assert alice.delete(f"{assets_url(ident)}{renamed}/").status_code == 204
    assert find(anon, w2)["count"] == 0
    # The other asset is still there, found by its path words.
    assert paths(find(anon, f'"other/file" {ident}'), ident) == ["other/file.nwb"]


def test_publish_reports_the_published_version(alice: httpx.Client, anon: httpx.Client) -> None:
    w = word()
    ident = publishable_dandiset(alice, {f"{w}/data.bin": 1000})
    assert find(anon, w)["results"][0]["version"] == "draft"
    version = publish_and_wait(alice, ident)
    hit = find(anon, w)["results"][0]
    assert (hit["identifier"], hit["version"]) == (ident, version)
    assert [a["path"] for a in hit["assets"]] == [f"{w}/data.bin"]
    # The draft changes: the published version no longer holds what the draft holds.
    md = {**DANDISET_METADATA, "description": f"changed {w}"}
    assert alice.put(draft_url(ident), json={"metadata": md, "name": "x"}).status_code == 200
    assert find(anon, w)["results"][0]["version"] == "draft"


@pytest.fixture
def zoo(alice: httpx.Client) -> tuple[str, str, str]:
    """Two dandisets sharing a word: one of mouse NWB recordings, one of rat images."""
    w = word()
    mice = create_dandiset(alice, f"mice {w}")
    upload_asset(
        alice,
        mice,
        "sub-1/sub-1_ecephys.nwb",
        random_bytes(10),
        asset_md(MOUSE, approach=[ECEPHYS], measurementTechnique=[SPIKES]),
    )
    upload_asset(alice, mice, "sub-1/notes.nwb", random_bytes(11), asset_md(MOUSE))
    rats = create_dandiset(alice, f"rats {w}")
    upload_asset(
        alice, rats, "sub-2/photo.png", random_bytes(12), asset_md(RAT, encodingFormat="image/png")
    )
    return w, mice, rats


def test_value_operators(anon: httpx.Client, zoo: tuple[str, str, str]) -> None:
    w, mice, rats = zoo

    def found(q: str) -> list[str]:
        return sorted(ids(find(anon, f"{w} {q}")))

    assert found("species:mouse") == [mice]
    assert found('species:"mus musculus"') == [mice]
    assert found("species:Rattus") == [rats]
    assert found("species:mouse species:rat") == sorted([mice, rats])  # either
    assert found("species:zebrafish") == []
    assert found("approach:electro") == [mice]
    assert found("technique:spike") == [mice]
    assert found("file_type:nwb") == [mice]
    assert found("file_type:image") == [rats]
    assert found("file_type:image/png") == [rats]
    assert found("species:mouse file_type:image") == []  # different operators: both


def test_free_text_finds_asset_metadata_and_lists_the_matching_assets(
    anon: httpx.Client, zoo: tuple[str, str, str]
) -> None:
    w, mice, rats = zoo
    assert ids(find(anon, f"{w} rattus")) == [rats]
    body = find(anon, f"{w} ecephys")
    assert ids(body) == [mice]
    assert paths(body, mice) == ["sub-1/sub-1_ecephys.nwb"]
    # An operator alone lists the assets it selects.
    body = find(anon, f"species:mouse {w}")
    assert paths(body, mice) == ["sub-1/notes.nwb", "sub-1/sub-1_ecephys.nwb"]
    assert body["results"][0]["asset_count"] == 2


def test_facets(anon: httpx.Client, zoo: tuple[str, str, str]) -> None:
    w, _, _ = zoo
    facets = find(anon, w)["facets"]
    assert set(facets) == {"species", "approach", "technique", "file_type"}
    assert facets["species"] == [
        {"value": "Mus musculus - House mouse", "count": 1},
        {"value": "Rattus norvegicus - Norway rat", "count": 1},
    ]
    assert facets["approach"] == [{"value": "electrophysiological approach", "count": 1}]
    assert facets["technique"] == [{"value": "spike sorting technique", "count": 1}]
    assert facets["file_type"] == [
        {"value": "application/x-nwb", "count": 1},
        {"value": "image/png", "count": 1},
    ]
    narrowed = find(anon, f"{w} species:rat")["facets"]
    assert narrowed["species"] == [{"value": "Rattus norvegicus - Norway rat", "count": 1}]


def test_owner_and_date_operators(
    alice: httpx.Client, admin: httpx.Client, anon: httpx.Client
) -> None:
    w = word()
    mine = create_dandiset(alice, w)
    theirs = create_dandiset(admin, w)
    assert ids(find(anon, f"{w} owner:alice")) == [mine]
    assert ids(find(anon, f"{w} owner:ADMIN")) == [theirs]
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    assert sorted(ids(find(anon, f"{w} created_after:{today}"))) == sorted([mine, theirs])
    assert ids(find(anon, f"{w} created_before:{today}")) == []
    assert ids(find(anon, f"{w} created_after:{tomorrow}")) == []
    assert len(ids(find(anon, f"{w} modified_before:{tomorrow} modified_after:{today}"))) == 2
    # Operators alone, without free text, work too (newest first).
    assert ids(find(anon, f"owner:alice created_after:{today}"))[0] == mine


def test_visibility(archive: Archive, alice: httpx.Client, admin: httpx.Client) -> None:
    w = word()
    ident = create_dandiset(alice, w)
    upload_asset(alice, ident, f"{w}.nwb", random_bytes(10))
    set_embargoed(archive, ident)
    bob = archive.server.add_user(f"bob{w}")
    with httpx.Client(base_url=archive.api_url + "/") as anon:
        assert find(anon, w)["count"] == 0
        assert find(anon, "")["facets"] is not None
        assert anon.get("dandisets/", params={"search": w}).json()["count"] == 0
    with httpx.Client(
        base_url=archive.api_url + "/", headers={"Authorization": f"token {bob}"}
    ) as other:
        assert find(other, w)["count"] == 0
    assert ids(find(alice, w)) == [ident]  # the owner
    assert ids(find(admin, w)) == [ident]


def test_words_in_an_embargoed_dandisets_files_count_for_its_readers_only(
    archive: Archive, alice: httpx.Client, anon: httpx.Client
) -> None:
    common, hidden = word(), word()
    secret = create_dandiset(alice, f"{common} secret")
    upload_asset(alice, secret, f"sub-{hidden}/a.nwb", random_bytes(10))
    set_embargoed(archive, secret)
    public = create_dandiset(alice, f"{common} {hidden} public")
    assert ids(find(anon, f"{common} {hidden}")) == [public]
    assert sorted(ids(find(alice, f"{common} {hidden}"))) == sorted([public, secret])


def test_ranking(alice: httpx.Client, anon: httpx.Client) -> None:
    w = word()
    in_files = create_dandiset(alice, "plain one")
    upload_asset(alice, in_files, f"{w}/a.nwb", random_bytes(10))
    in_description = create_dandiset(alice, "plain two", {"description": f"A study of {w}."})
    in_name = create_dandiset(alice, f"The {w} dataset")
    assert ids(find(anon, w)) == [in_name, in_description, in_files]
    scores = [h["score"] for h in find(anon, w)["results"]]
    assert scores == sorted(scores, reverse=True)


def test_several_words_each_in_the_document_or_the_files(
    alice: httpx.Client, anon: httpx.Client
) -> None:
    """Every word must occur, each in the dandiset's metadata or its files, whichever
    other words a file of the archive holds (PostgreSQL narrows the documents by the words
    no file holds: the answers must not change)."""
    common, in_docs, in_paths, nowhere = word(), word(), word(), word()
    both_in_doc = create_dandiset(alice, f"{common} {in_docs} {in_paths}")
    split = create_dandiset(alice, f"{common} {in_docs}")
    upload_asset(alice, split, f"sub-{in_paths}/a.nwb", random_bytes(10))
    only_common = create_dandiset(alice, f"{common} only")
    # in_paths is held by a file: the documents are checked for it one by one.
    assert ids(find(anon, f"{common} {in_paths}")) == [both_in_doc, split]
    # No file holds in_docs: only documents holding it (and common) can match.
    assert sorted(ids(find(anon, f"{common} {in_docs}"))) == sorted([both_in_doc, split])
    assert sorted(ids(find(anon, f"{in_docs} {in_paths} {common}"))) == sorted([both_in_doc, split])
    assert ids(find(anon, f"{common} {nowhere}")) == []
    # A file's word alone, with a document's word no file holds.
    assert ids(find(anon, f"{in_paths} only")) == []
    assert ids(find(anon, f"{common} only")) == [only_common]
    listed = anon.get("dandisets/", params={"search": f"{common} {in_paths}"}).json()
    assert sorted(r["identifier"] for r in listed["results"]) == sorted([both_in_doc, split])


def test_prefixes_and_phrases(alice: httpx.Client, anon: httpx.Client) -> None:
    w = word()
    ident = create_dandiset(alice, f"{w} hippocampal place cells")
    assert ids(find(anon, f"{w} hippocamp")) == [ident]  # a word prefix
    assert ids(find(anon, f'{w} "place cells"')) == [ident]
    assert ids(find(anon, f'{w} "cells place"')) == []  # a phrase keeps its order


@pytest.mark.parametrize(
    "text",
    [
        "*",
        "NEAR(",
        "OR",
        "'",
        "%",
        "a OR b",
        "x' OR '1'='1",
        "NEAR(a b, 2)",
        "^",
        "-",
        "AND",
        "NOT",
        ":*",
        "&|!",
        "\\",
        "_",
        "(",
        ")",
        "{col}:",
        '"a:*B"',
        "''",
        '"NEAR(x y)"',
    ],
)
def test_syntax_of_the_engines_is_harmless(
    alice: httpx.Client, anon: httpx.Client, text: str
) -> None:
    w = word()
    ident = create_dandiset(alice, f"{w} 50% {text} done")
    body = find(anon, f"{w} {text}")
    assert ids(body) == [ident]
    r = anon.get("dandisets/", params={"search": f"{w} {text}"})
    assert r.status_code == 200, r.text
    assert [d["identifier"] for d in r.json()["results"]] == [ident]


def test_an_unbalanced_quote_is_a_400_that_says_what_to_fix(anon: httpx.Client) -> None:
    r = anon.get("search/", params={"q": 'mouse "visual'})
    assert r.status_code == 400
    assert "unbalanced double quote" in r.json()


def test_bad_queries_are_400(anon: httpx.Client) -> None:
    r = anon.get("search/", params={"q": "specie:mouse"})
    assert r.status_code == 400
    assert "Did you mean species:?" in r.json() and "file_type:" in r.json()
    r = anon.get("dandisets/", params={"search": "created_after:yesterday"})
    assert r.status_code == 400
    assert "YYYY-MM-DD" in r.json()
    assert anon.get("search/", params={"q": "x", "page_size": 0}).status_code == 400
    assert anon.get("search/", params={"q": "x", "page": "abc"}).status_code == 400


def test_pagination_and_shape(alice: httpx.Client, anon: httpx.Client) -> None:
    w = word()
    made = [create_dandiset(alice, f"{w} {i}") for i in range(3)]
    first = find(anon, w, page_size=2)
    assert set(first) == {"count", "page", "page_size", "results", "facets"}
    assert first["count"] == 3 and len(first["results"]) == 2
    second = find(anon, w, page_size=2, page=2)
    assert sorted(ids(first) + ids(second)) == sorted(made)
    hit = second["results"][0]
    assert set(hit) == {
        "identifier",
        "name",
        "version",
        "score",
        "snippet",
        "asset_count",
        "assets",
    }


def test_dandi_list_search_keeps_its_order(alice: httpx.Client, anon: httpx.Client) -> None:
    w = word()
    b = create_dandiset(alice, f"b {w}")
    a = create_dandiset(alice, f"a {w}", {"description": f"{w} {w} {w}"})
    listed = anon.get("dandisets/", params={"search": w}).json()
    assert [d["identifier"] for d in listed["results"]] == [b, a]  # created, as DANDI
    listed = anon.get("dandisets/", params={"search": w, "ordering": "name"}).json()
    assert [d["identifier"] for d in listed["results"]] == [a, b]
    # Operators work there too.
    upload_blob(alice, a, random_bytes(5))
    upload_asset(alice, a, "x.nwb", random_bytes(6), {"wasAttributedTo": [MOUSE]})
    listed = anon.get("dandisets/", params={"search": f"{w} species:mouse"}).json()
    assert [d["identifier"] for d in listed["results"]] == [a]


def test_each_hit_of_a_page_lists_its_own_assets(alice: httpx.Client, anon: httpx.Client) -> None:
    """The assets of every hit come from one statement per attempt for the whole page:
    each hit still gets its own — those holding both words, else either, else none."""
    w, both, split, meta_only = word(), word(), word(), word()
    a = create_dandiset(alice, f"{w} {both}")
    upload_asset(alice, a, f"{w}/{both}_1.nwb", random_bytes(8), asset_md(MOUSE))
    upload_asset(alice, a, f"{w}/other.nwb", random_bytes(8), asset_md(MOUSE))
    upload_asset(alice, a, f"x/{both}_2.nwb", random_bytes(8), asset_md(MOUSE))
    b = create_dandiset(alice, f"{w} {split}")  # the words are in the name, each file has one
    upload_asset(alice, b, f"{split}/a.nwb", random_bytes(8), asset_md(RAT))
    upload_asset(alice, b, "y/b.nwb", random_bytes(8), asset_md(RAT))
    c = create_dandiset(alice, f"{w} {meta_only}")  # files hold neither word
    upload_asset(alice, c, "z/c.nwb", random_bytes(8), asset_md(RAT))
    body = find(anon, w, page_size=10)
    assert sorted(ids(body)) == sorted([a, b, c])
    assert paths(body, a) == sorted([f"{w}/{both}_1.nwb", f"{w}/other.nwb"])
    assert paths(body, b) == []  # no file holds w
    assert paths(body, c) == []
    body = find(anon, f"{w} {both}")
    assert paths(body, a) == [f"{w}/{both}_1.nwb"]  # both words in one file
    body = find(anon, f"{w} {split}")
    assert paths(body, b) == [f"{split}/a.nwb"]  # either word, as none holds both
    body = find(anon, f"{w} species:rat")
    assert sorted(ids(body)) == sorted([b, c])
    assert paths(body, b) == sorted([f"{split}/a.nwb", "y/b.nwb"])  # the operator selects
    assert paths(body, c) == ["z/c.nwb"]
    assert {h["identifier"]: h["asset_count"] for h in body["results"]} == {b: 2, c: 1}
