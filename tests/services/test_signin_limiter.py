"""The sign-in limiter's shared counts, on a real SQLite file and a real PostgreSQL database.

Two :class:`SigninLimiter` objects on one database stand for two server processes; a
settable clock moves the sliding window. The HTTP side (two processes of
``serve --workers 2``) is in ``tests/test_deployment.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from neuropil.db.engine import Database, sqlite_url
from neuropil.db.migrate import upgrade
from neuropil.errors import NotAuthenticated, TooManyRequests
from neuropil.services.signin_limiter import SLOTS, Budget, SigninLimiter
from tests.support import postgres

WINDOW = 900.0
STEP = WINDOW / SLOTS


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # on a slot boundary

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(sqlite_url(tmp_path / "limiter.sqlite"))
        upgrade(database)
        yield database
        database.dispose()
        return
    postgres.require()
    with postgres.fresh_database() as url:
        database = Database(url)
        upgrade(database)
        yield database
        database.dispose()


def limiter(db: Database, clock: Clock, account: int = 3, address: int = 5) -> SigninLimiter:
    return SigninLimiter(
        db, account=Budget(account, WINDOW), address=Budget(address, WINDOW), clock=clock
    )


def fail(lim: SigninLimiter, account: str | None, address: str) -> None:
    with pytest.raises(NotAuthenticated), lim.attempt(account=account, address=address):
        raise NotAuthenticated("wrong password")


def refused(lim: SigninLimiter, account: str | None, address: str) -> TooManyRequests:
    with pytest.raises(TooManyRequests) as info, lim.attempt(account=account, address=address):
        raise AssertionError("admitted")
    return info.value


def rows(db: Database) -> list[tuple[str, str, int]]:
    with db.read() as s:
        query = "SELECT scope, key_hash, failures FROM signin_failures ORDER BY scope, slot"
        return [(r[0], r[1], int(r[2])) for r in s.execute(sa.text(query))]


def test_two_processes_share_one_budget(db: Database) -> None:
    clock = Clock()
    one, two = limiter(db, clock), limiter(db, clock)
    fail(one, "alice", "10.0.0.1")
    fail(two, "Alice ", "10.0.0.2")  # the account name is normalized
    fail(one, "alice", "10.0.0.3")
    exc = refused(two, "alice", "10.0.0.4")
    assert "for this account" in exc.message
    assert exc.retry_after == WINDOW  # the first failure is the oldest, and on a slot boundary
    refused(one, "alice", "10.0.0.5")  # either process refuses; refusals count nothing
    assert sum(n for scope, _, n in rows(db) if scope == "account") == 3
    with one.attempt(account="bob", address="10.0.0.4"):  # other accounts are unaffected
        pass


def test_the_address_budget_spans_accounts(db: Database) -> None:
    clock = Clock()
    one, two = limiter(db, clock), limiter(db, clock)
    for i in range(5):
        fail((one, two)[i % 2], f"user{i}", "10.0.0.9")
    assert "from your address" in refused(one, "someone", "10.0.0.9").message
    with two.attempt(account="someone", address="10.0.0.10"):
        pass


def test_success_clears_the_account_and_forgives_the_attempt(db: Database) -> None:
    clock = Clock()
    lim = limiter(db, clock)
    fail(lim, "alice", "10.0.0.1")
    fail(lim, "alice", "10.0.0.1")
    with lim.attempt(account="alice", address="10.0.0.1"):
        pass
    assert [(scope, n) for scope, _, n in rows(db)] == [("address", 2)]
    with pytest.raises(RuntimeError), lim.attempt(account="carol", address="10.0.0.1"):
        raise RuntimeError("not the caller's failure (the server was busy)")
    assert sorted(n for _, _, n in rows(db)) == [0, 2]


def test_the_window_slides(db: Database) -> None:
    clock = Clock()
    lim = limiter(db, clock)
    fail(lim, "alice", "10.0.0.1")
    clock.now += 5 * STEP
    fail(lim, "alice", "10.0.0.2")
    fail(lim, "alice", "10.0.0.3")
    clock.now += WINDOW - 5 * STEP - 1  # the first failure is a second short of a window old
    assert refused(lim, "alice", "10.0.0.4").retry_after == 1
    clock.now += 1
    fail(lim, "alice", "10.0.0.4")  # it expired: room for one more
    assert refused(lim, "alice", "10.0.0.5").retry_after == 5 * STEP


def test_old_slots_are_pruned_and_keys_are_digests(db: Database) -> None:
    clock = Clock()
    lim = limiter(db, clock)
    fail(lim, "alice", "10.0.0.1")
    assert all(len(key) == 64 and "alice" not in key for _, key, _ in rows(db))
    clock.now += WINDOW + STEP + 60
    fail(lim, "bob", "10.0.0.2")  # the first attempt of a minute prunes
    assert [n for _, _, n in rows(db)] == [1, 1]


def test_concurrent_attempts_are_admitted_up_to_the_limit(db: Database) -> None:
    """Attempts racing in two 'processes' (limiters) and many threads: exactly the budget."""
    if db.is_sqlite:
        pytest.skip("SQLite serializes writers: the race needs PostgreSQL")
    clock = Clock()
    limiters = [limiter(db, clock, account=5, address=1000) for _ in range(2)]
    start = threading.Barrier(20)

    def guess(i: int) -> bool:
        start.wait()
        try:
            fail(limiters[i % 2], "alice", f"10.0.1.{i}")
        except TooManyRequests:
            return False
        return True

    with ThreadPoolExecutor(20) as pool:
        admitted = list(pool.map(guess, range(20)))
    assert sum(admitted) == 5
