"""Property-based calls of every operation in the OpenAPI document of a real server
(schemathesis): no call answers a server error (5xx), and every answer has a status, a content
type and a body that the document declares for that operation.

Each backend gets a server of its own, with an approved user whose token every call carries, so
the write operations run past authentication. Random identifiers only meet 404s, so the
calls mix generated path parameters with those of seeded objects (a dandiset with an asset, an
upload in progress, a Zarr archive, a published version for the manifests), and mutate valid
request bodies and query strings (the document declares the bodies as any JSON object and
leaves the query strings undeclared).

No operation is left out. Those where one random call would change what every later call
meets run last, each on objects of its own (:data:`LAST`):

- ``PUT /api/dandisets/{identifier}/users/`` may remove every owner (``[]``): all writes to
  the dandiset would be 403s from then on;
- ``POST .../versions/{version}/publish/`` locks the draft while its job runs (423s);
- ``DELETE /api/dandisets/{identifier}/`` deletes the dandiset and its assets;
- ``POST /api/auth/token/`` replaces the caller's token: every later call would be a 401.

Deletions of other objects run after everything else too, since they remove seeded objects.

Bounded: a few examples per operation (no shrinking, no example database, a fixed seed) and a
``timeout`` mark: about 500 calls per backend.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.helpers import (
    ETAG,
    client,
    create_dandiset,
    etag_of,
    random_bytes,
    upload_asset,
)
from tests.api.publishing import publish_and_wait, publishable_dandiset
from tests.support import postgres
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: Generated calls per operation and generation mode (valid input, invalid input).
MAX_EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PUBLISH = ("POST", "/api/dandisets/{identifier}/versions/{version}/publish/")
#: Operations run after all others, on a dandiset of their own, in this order.
LAST = [
    ("PUT", "/api/dandisets/{identifier}/users/"),
    PUBLISH,
    ("DELETE", "/api/dandisets/{identifier}/"),
    ("POST", "/api/auth/token/"),
]
UPLOAD = random_bytes(2000)


@dataclass
class Target:
    server: ServerProcess
    token: str
    #: Path parameter values of real objects the token's user owns.
    seeded: dict[str, str]
    #: A dandiset of its own for each operation of :data:`LAST` that takes one.
    spare: dict[tuple[str, str], str]
    #: A published version (identifier, version): its manifests are YAML and JSON-LD.
    published: tuple[str, str]


def _seed(server: ServerProcess, token: str) -> Target:
    with client(server.api_url, token) as c:
        identifier = create_dandiset(c, "fuzzed")
        asset = upload_asset(c, identifier, "sub-1/f.bin", random_bytes(1000))
        pending = c.post(
            "uploads/initialize/",
            json={
                "contentSize": len(UPLOAD),
                "digest": {"algorithm": ETAG, "value": etag_of(UPLOAD)},
                "dandiset": identifier,
            },
        )
        assert pending.status_code == 200, pending.text
        zarr = c.post("zarr/", json={"name": "z.zarr", "dandiset": identifier})
        assert zarr.status_code == 200, zarr.text
        spare = {key: create_dandiset(c, "spare") for key in LAST if "{identifier}" in key[1]}
        spare[PUBLISH] = publishable_dandiset(c)  # a publish that succeeds locks it
        released = publishable_dandiset(c)
        published = (released, publish_and_wait(c, released))
    seeded = {
        "identifier": identifier,
        "version": "draft",
        "asset_id": asset["asset_id"],
        "blob_id": asset["blob"],
        "upload_id": pending.json()["upload_id"],
        "zarr_id": zarr.json()["zarr_id"],
    }
    return Target(server, token, seeded, spare, published)


@pytest.fixture(scope="module")
def target(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data = tmp_path_factory.mktemp(f"fuzz-{backend}") / "data"
    if backend == "postgres":
        with postgres.fresh_database() as url:
            yield from _serve(ServerProcess(data, database_url=url))
    else:
        yield from _serve(ServerProcess(data))


def _serve(server: ServerProcess) -> Iterator[Target]:
    token = server.add_user("fuzzer")
    with server:
        yield _seed(server, token)


# -- what the calls aim at ---------------------------------------------------------------------
def _bodies(t: Target) -> dict[tuple[str, str], Any]:
    """A valid body for each operation that takes one."""
    s = t.seeded
    md5 = base64.b64encode(hashlib.md5(b"").digest()).decode()
    assets = "/api/dandisets/{identifier}/versions/{version}/assets/"
    return {
        ("POST", "/api/dandisets/"): {"name": "fuzzed", "metadata": {"description": "d"}},
        ("PUT", "/api/dandisets/{identifier}/versions/{version}/"): {
            "name": "fuzzed",
            "metadata": {"name": "fuzzed", "description": "d", "license": ["spdx:CC0-1.0"]},
        },
        ("POST", assets): {"blob_id": s["blob_id"], "metadata": {"path": "sub-2/g.bin"}},
        ("PUT", assets + "{asset_id}/"): {
            "blob_id": s["blob_id"],
            "metadata": {"path": "sub-1/f.bin", "note": "changed"},
        },
        ("POST", "/api/uploads/initialize/"): {
            "contentSize": len(UPLOAD),
            "digest": {"algorithm": ETAG, "value": etag_of(UPLOAD)},
            "dandiset": s["identifier"],
        },
        ("POST", "/api/uploads/{upload_id}/complete/"): {
            "parts": [{"part_number": 1, "size": len(UPLOAD), "etag": "0" * 32}]
        },
        ("POST", "/api/blobs/digest/"): {"algorithm": ETAG, "value": etag_of(UPLOAD)},
        ("POST", "/api/zarr/"): {"name": "y.zarr", "dandiset": s["identifier"]},
        ("POST", "/api/zarr/{zarr_id}/files/"): [{"path": "a/0", "base64md5": md5}],
        ("DELETE", "/api/zarr/{zarr_id}/files/"): [{"path": "a/0"}],
        ("PUT", "/api/dandisets/{identifier}/users/"): [{"username": "fuzzer"}],
        PUBLISH: {},
    }


def _queries(t: Target) -> dict[tuple[str, str], dict[str, str]]:
    """Valid query strings of the operations that read one (the document declares none)."""
    version = "/api/dandisets/{identifier}/versions/{version}/"
    page = {"page": "1", "page_size": "5"}
    return {
        ("GET", "/api/dandisets/"): {
            **page,
            "search": "fuzz",
            "ordering": "-modified",
            "user": "me",
            "draft": "true",
            "empty": "false",
            "embargoed": "false",
        },
        ("GET", "/api/dandisets/{identifier}/versions/"): {**page, "order": "created"},
        ("GET", version + "assets/"): {
            **page,
            "metadata": "true",
            "path": "sub-1",
            "order": "path",
            "zarr": "false",
        },
        ("GET", version + "assets/paths/"): {**page, "path_prefix": "sub-1"},
        ("GET", version + "assets/{asset_id}/download/"): {"content_disposition": "inline"},
        ("GET", "/api/assets/{asset_id}/download/"): {"content_disposition": "inline"},
        ("GET", version + "tables/{name}/"): {"format": "csv"},
        ("GET", "/api/zarr/"): {**page, "dandiset": t.seeded["identifier"], "name": "z.zarr"},
        ("GET", "/api/zarr/{zarr_id}/files/"): {"prefix": "a/", "limit": "10", "download": "0"},
        ("GET", "/api/search/"): {**page, "q": "fuzz species:mouse created_after:2020-01-01"},
        ("GET", "/api/uploads/"): {"dandiset": t.seeded["identifier"], "etag": etag_of(UPLOAD)},
    }


def _json() -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=20)
        | st.sampled_from(["", "999999", "draft", "0" * 32 + "-1", "../x", "a" * 300])
    )
    return st.recursive(
        leaves,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c),
        max_leaves=4,
    )


def _often(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` three times in four, else ``other``."""
    return st.integers(0, 3).flatmap(lambda i: usual if i else other)


def _mutated(value: Any) -> st.SearchStrategy[Any]:
    """``value`` with some of its parts replaced by any JSON, or left out."""
    if isinstance(value, dict):
        parts = {k: _often(_mutated(v), _json() | st.just(_MISSING)) for k, v in value.items()}
        return st.fixed_dictionaries(parts).map(
            lambda d: {k: v for k, v in d.items() if v is not _MISSING}
        )
    if isinstance(value, list):
        items = st.one_of([_mutated(v) for v in value])
        return _often(st.tuples(*map(_mutated, value)).map(list), st.lists(items, max_size=3))
    return _often(st.just(value), _json())


def _mutated_query(value: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    text = st.text(max_size=30) | st.sampled_from(
        ["", "-1", "0", "1e9", "99999999999999999999", "999999", "x"]
    )
    parts = {k: _often(st.just(v), text | st.just(_MISSING)) for k, v in value.items()}
    return st.fixed_dictionaries(parts).map(
        lambda d: {k: v for k, v in d.items() if v is not _MISSING}
    )


_MISSING = object()


def _real_path(operation: Any, t: Target) -> dict[str, str]:
    names = [p.name for p in operation.path_parameters]
    real = {**t.seeded, "name": "dandiset.yaml" if "/manifests/" in operation.path else "files"}
    real["identifier"] = t.spare.get((operation.method.upper(), operation.path), real["identifier"])
    if "/manifests/" in operation.path:
        real["identifier"], real["version"] = t.published
    return {name: real[name] for name in names if name in real}


def _strategy(operation: Any, mode: GenerationMode, t: Target) -> st.SearchStrategy[Any]:
    """Generated cases; in the positive mode also cases on seeded objects, with a mutated
    valid body and query string."""
    generated = operation.as_strategy(mode)
    if mode is GenerationMode.NEGATIVE:
        return generated
    key = (operation.method.upper(), operation.path)
    body = _bodies(t).get(key)
    query = _queries(t).get(key)
    path = _real_path(operation, t)
    aimed = st.tuples(
        _mutated(body) if body is not None else st.just(None),
        _mutated_query(query) if query else st.just(None),
    ).flatmap(
        lambda bq: operation.as_strategy(
            mode,
            path_parameters=path or None,
            **({"body": bq[0]} if bq[0] is not None else {}),
            **({"query": bq[1]} if bq[1] is not None else {}),
        )
    )
    return generated | aimed


def _negatable(operation: Any) -> bool:
    """Whether anything of the operation's input can be invalid (path parameters are any
    string, so they cannot)."""
    return bool(operation.body) or bool(operation.query)


def _order(schema: Any) -> list[Any]:
    """Reads, then writes (a changed asset gets a new id), then deletions, then :data:`LAST`."""
    operations = [result.ok() for result in schema.get_all_operations()]
    rank = {key: i for i, key in enumerate(LAST)}
    phase = {"GET": 0, "HEAD": 0, "DELETE": 2}

    def key(o: Any) -> tuple[int, int]:
        label = (o.method.upper(), o.path)
        return (3, rank[label]) if label in rank else (phase.get(label[0], 1), 0)

    return sorted(operations, key=key)


def _refresh(t: Target) -> None:
    """The seeded dandiset's current asset (writes replace it with a new id)."""
    with client(t.server.api_url, t.token) as c:
        r = c.get(f"dandisets/{t.seeded['identifier']}/versions/draft/assets/")
        assert r.status_code == 200, r.text
        if r.json()["results"]:
            t.seeded["asset_id"] = r.json()["results"][0]["asset_id"]


# -- the test ---------------------------------------------------------------------------------
def _summary(case: Any, response: Any, exc: BaseException) -> str:
    failures = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    titles = sorted({getattr(f, "title", type(f).__name__) for f in failures})
    return (
        f"{case.operation.label}: {response.status_code} {titles}\n"
        f"  {case.as_curl_command()}\n  -> {response.content[:300]!r}"
    )


class Run:
    """Calls cases on the target, keeping each answer's status and each failed check."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {target.token}"
        self.failures: dict[str, str] = {}
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def __call__(self, case: Any) -> None:
        response = case.call(
            base_url=self.target.server.url,
            session=self.session,
            timeout=60,
            allow_redirects=False,  # the download's own answer (302), not the blob's
        )
        label = case.operation.label
        self.statuses[label][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:
            self.failures.setdefault(
                f"{label} {response.status_code}", _summary(case, response, exc)
            )

    def valid(self, operation: Any) -> None:
        """The operation on the seeded objects, with its valid body and query string."""
        key = (operation.method.upper(), operation.path)
        body = _bodies(self.target).get(key)
        path = _real_path(operation, self.target)
        if len(path) < len(operation.path_parameters):
            return  # an object this test does not seed: generated calls only
        self(
            operation.Case(
                path_parameters=path,
                query=_queries(self.target).get(key),
                **({"body": body, "media_type": "application/json"} if body is not None else {}),
            )
        )

    def generated(self, operation: Any, mode: GenerationMode) -> None:
        @seed(16)
        @given(case=_strategy(operation, mode, self.target))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            self(case)

        try:
            call()
        except Unsatisfiable:  # no invalid input for this operation after all
            assert mode is GenerationMode.NEGATIVE, operation.label


def test_no_server_errors_and_answers_fit_the_document(target: Target) -> None:
    schema = schemathesis.openapi.from_url(f"{target.server.api_url}/docs/openapi.json")
    run = Run(target)
    operations = _order(schema)
    for operation in operations:
        if operation.method.upper() == "DELETE":
            _refresh(target)
        run.valid(operation)
        run.generated(operation, GenerationMode.POSITIVE)
        if _negatable(operation):
            run.generated(operation, GenerationMode.NEGATIVE)

    statuses = run.statuses
    print("\n".join(f"{k}: {dict(v)}" for k, v in statuses.items()))  # shown on failure
    log = target.server.log()
    assert not run.failures, "\n".join(run.failures.values()) + f"\n\nserver log:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-5000:]
    # Every operation was called, and the calls went past authentication into the services.
    assert {o.label for o in operations} <= set(statuses)
    refused = [label for label, counts in statuses.items() if counts[401]]
    assert refused in ([], ["POST /api/auth/token/"]), dict(statuses)  # the token worked
    written = [
        label
        for label, counts in statuses.items()
        if label.split()[0] in {"POST", "PUT", "DELETE"} and any(200 <= c < 300 for c in counts)
    ]
    assert len(written) >= 10, dict(statuses)
