"""Shared fixtures: real server processes on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The storage contract (neuropil.testing) holds the assertions of every backend's tests; let
# pytest explain their failures. Registered here, before anything imports it.
pytest.register_assert_rewrite("neuropil.testing")

from tests.support import postgres  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402

os.environ.setdefault("DANDI_NO_ET", "1")  # the official client must not phone home

BACKENDS = ["sqlite", "postgres"]


@dataclass
class Archive:
    """A running server plus an admin and a plain approved user."""

    server: ServerProcess
    admin_token: str
    user_token: str
    backend: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        return self.server.api_url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the backends a ``backends(...)`` mark leaves out (the closest mark wins).

    For tests whose subject does not depend on the database: the permission matrix decides
    in Python, once, for both backends, so its cells run on one; the cells whose answer the
    database computes (listings, search) mark both.
    """
    kept, dropped = [], []
    for item in items:
        mark = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if mark is not None and backend is not None and backend not in mark.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        postgres.require()
    return str(request.param)


class _Archives:
    """The shared servers of a test session (or of an xdist worker), one per backend, made
    on first use and kept until the session ends.

    ``archive`` is parametrized by backend, and pytest tears a parametrized session fixture
    down whenever the next test wants the other parameter: in one process pytest orders the
    tests so that happens once, but an xdist worker runs whole files, each with both
    backends, and started 17 servers per backend in a run. Kept here, each starts once.
    """

    def __init__(self, factory: pytest.TempPathFactory, stack: contextlib.ExitStack) -> None:
        self.factory, self.stack = factory, stack
        self.made: dict[str, Archive] = {}

    def get(self, backend: str) -> Archive:
        if backend not in self.made:
            data = self.factory.mktemp(f"archive-{backend}")
            url = None
            if backend == "postgres":
                url = self.stack.enter_context(postgres.fresh_database())
            server = ServerProcess(data / "data", database_url=url)
            admin = server.add_user("admin", admin=True)
            user = server.add_user("alice")
            self.stack.enter_context(server)  # (stopped before its database is dropped)
            self.made[backend] = Archive(server, admin, user, backend)
        return self.made[backend]


@pytest.fixture(scope="session")
def _archives(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Archives]:
    with contextlib.ExitStack() as stack:
        yield _Archives(tmp_path_factory, stack)


@pytest.fixture(scope="session")
def archive(backend: str, _archives: _Archives) -> Archive:
    """A server shared by a whole test session (per backend); tests make their own dandisets."""
    return _archives.get(backend)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own (SQLite) for tests that kill or restart it."""
    server = ServerProcess(tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def fresh_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """An empty database of each backend for one test: ``None`` for SQLite (the server makes
    its file in its data directory), else the URL of a new PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    postgres.require()
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture
def restartable_server(fresh_database: str | None, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own on each backend, for tests that kill or restart it."""
    server = ServerProcess(tmp_path / "data", database_url=fresh_database)
    yield server
    server.stop()
