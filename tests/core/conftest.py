"""A migrated SQLite database file per test, copied from one migrated once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuropil.db.engine import Database, sqlite_url
from neuropil.db.migrate import upgrade


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "neuropil.sqlite"
    database = Database(sqlite_url(path))
    upgrade(database)
    database.dispose()  # the last connection checkpoints the WAL into the main file
    return path


@pytest.fixture
def db(migrated_file: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "neuropil.sqlite"
    shutil.copyfile(migrated_file, path)
    database = Database(sqlite_url(path))
    yield database
    database.dispose()
