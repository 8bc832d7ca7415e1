"""Failed sign-in attempts, counted per account and per client address, in the database.

Every attempt counts as a failure from the moment it starts and is forgiven when it
succeeds, so a burst of concurrent guesses is limited as it arrives, not after the slow
password checks have finished. A key (an account name, an address) with ``limit``
failures inside the last ``window`` seconds is refused with
:class:`~neuropil.errors.TooManyRequests` (429, ``Retry-After``) before any password is
hashed.

The counts live in the archive's database (``signin_failures``), so every server process
on one database shares one budget: ``serve --workers N`` and N machines allow ``limit``
failures, not N times as many. An attempt increments its key's count and reads the total
in one transaction, and is refused (rolled back) when the total passes the limit; the
increment is one ``INSERT ... ON CONFLICT DO UPDATE``, so concurrent attempts in any
processes are admitted up to the limit exactly. Keys are stored as digests.

The window slides in ``SLOTS`` steps: a failure counts for between ``window * (1 - 1/SLOTS)``
and ``window`` seconds (14 to 15 minutes by default). Times are the wall clock
of each process, so several machines need roughly synchronized clocks (NTP).

The per-account limit is the tighter one (guessing one person's password); the per-address
limit stops one client from trying many accounts. An attacker can keep one account's
sign-in refused by failing on purpose; the refusal lasts ``window`` seconds at most and
the account's API key keeps working, which is the usual trade of account throttling.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.config import Settings
from neuropil.db.engine import Database
from neuropil.errors import NotAuthenticated, TooManyRequests

#: Steps of the sliding window: counts are kept per slot of ``window / SLOTS`` seconds.
SLOTS = 15


@dataclass(frozen=True)
class Budget:
    """``limit`` failures per ``window`` seconds."""

    limit: int
    window: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError(f"a sign-in budget needs limit >= 1 and window > 0, not {self}")

    @property
    def slot(self) -> float:
        """Seconds per slot of the sliding window."""
        return self.window / SLOTS


#: Per account: ten wrong passwords in 15 minutes.
ACCOUNT_BUDGET = Budget(10, 15 * 60)
#: Per client address: fifty failures in 15 minutes (a lab behind one NAT address).
ADDRESS_BUDGET = Budget(50, 15 * 60)

_INCREMENT = sa.text(
    "INSERT INTO signin_failures (scope, key_hash, slot, failures) "
    "VALUES (:scope, :key_hash, :slot, 1) "
    "ON CONFLICT (scope, key_hash, slot) DO UPDATE SET failures = signin_failures.failures + 1"
)
_DECREMENT = sa.text(
    "UPDATE signin_failures SET failures = failures - 1 "
    "WHERE scope = :scope AND key_hash = :key_hash AND slot = :slot AND failures > 0"
)
_RECENT = sa.text(
    "SELECT slot, failures FROM signin_failures "
    "WHERE scope = :scope AND key_hash = :key_hash AND slot >= :oldest ORDER BY slot"
)
_CLEAR = sa.text("DELETE FROM signin_failures WHERE scope = :scope AND key_hash = :key_hash")
_PRUNE = sa.text("DELETE FROM signin_failures WHERE scope = :scope AND slot < :oldest")


class FailureCounter:
    """Sliding-window failure counts of one scope (``"account"``, ``"address"``), each call
    inside the caller's session."""

    def __init__(self, scope: str, budget: Budget) -> None:
        self.scope = scope
        self.budget = budget

    def _row(self, key: str, slot: int | None = None) -> dict[str, object]:
        digest = hashlib.sha256(f"{self.scope}\n{key}".encode()).hexdigest()
        return {"scope": self.scope, "key_hash": digest, "slot": slot}

    def slot(self, now: float) -> int:
        return int(now // self.budget.slot)

    def _oldest(self, now: float) -> int:
        return self.slot(now) - SLOTS + 1

    def retry_after(self, session: Session, key: str, now: float, *, own: int = 0) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` if it may now; ``own`` failures
        of the counts are the caller's own attempt, recorded in this transaction."""
        params = {**self._row(key), "oldest": self._oldest(now)}
        rows = [(int(s), int(n)) for s, n in session.execute(_RECENT, params)]
        excess = sum(n for _, n in rows) - own - self.budget.limit + 1
        if excess <= 0:
            return None
        for slot, n in rows:  # the oldest failures expire first
            excess -= n
            if excess <= 0:
                return max(1, math.ceil((slot + SLOTS) * self.budget.slot - now))
        raise AssertionError("unreachable: the rows hold the excess")

    def record(self, session: Session, key: str, now: float) -> int:
        """Count one failure of ``key``; the slot it went to (for :meth:`forgive`)."""
        slot = self.slot(now)
        session.execute(_INCREMENT, self._row(key, slot))
        return slot

    def forgive(self, session: Session, key: str, slot: int) -> None:
        """Take back one failure of ``key`` in ``slot`` (the attempt succeeded after all)."""
        session.execute(_DECREMENT, self._row(key, slot))

    def clear(self, session: Session, key: str) -> None:
        session.execute(_CLEAR, self._row(key))

    def prune(self, session: Session, now: float) -> None:
        """Drop the slots that no longer count, of every key."""
        session.execute(_PRUNE, {"scope": self.scope, "oldest": self._oldest(now)})


#: Seconds between two prunings of old slots by one process.
PRUNE_EVERY = 60.0


class SigninLimiter:
    """The per-account and per-address counters of the archive's database."""

    def __init__(
        self,
        db: Database,
        *,
        account: Budget = ACCOUNT_BUDGET,
        address: Budget = ADDRESS_BUDGET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.accounts = FailureCounter("account", account)
        self.addresses = FailureCounter("address", address)
        self._clock = clock
        self._next_prune = 0.0

    @classmethod
    def for_settings(cls, settings: Settings, db: Database) -> SigninLimiter:
        """The budgets of ``NEUROPIL_SIGNIN_FAILURES_PER_ACCOUNT`` / ``..._PER_ADDRESS``."""
        return cls(
            db,
            account=Budget(settings.signin_failures_per_account, ACCOUNT_BUDGET.window),
            address=Budget(settings.signin_failures_per_address, ADDRESS_BUDGET.window),
        )

    def _counters(self, account: str | None, address: str) -> list[tuple[FailureCounter, str]]:
        # Always the address first: concurrent transactions lock rows in one order.
        found = [(self.addresses, address)]
        return found + ([(self.accounts, account)] if account is not None else [])

    def _check(self, session: Session, keys: list[tuple[FailureCounter, str]], own: int) -> None:
        now = self._clock()
        for counter, key in keys:
            wait = counter.retry_after(session, key, now, own=own)
            if wait is None:
                continue
            if counter is self.addresses:
                raise TooManyRequests(
                    f"Too many failed sign-in attempts from your address; try again in {wait} s.",
                    retry_after=wait,
                )
            raise TooManyRequests(
                f"Too many failed sign-in attempts for this account; try again in {wait} s "
                "(or sign in with your API key at /login/token).",
                retry_after=wait,
            )

    def _admit(self, keys: list[tuple[FailureCounter, str]]) -> list[int]:
        """Count the attempt as a failure of every key, or refuse it (429) counting nothing."""
        with self.db.read() as session:  # a refusal writes nothing (a flood takes no lock)
            self._check(session, keys, own=0)
        now = self._clock()
        with self.db.write() as session:  # raising rolls the increments back
            slots = [counter.record(session, key, now) for counter, key in keys]
            self._check(session, keys, own=1)
            if now >= self._next_prune:
                self._next_prune = now + PRUNE_EVERY
                for counter in (self.addresses, self.accounts):
                    counter.prune(session, now)
        return slots

    @contextmanager
    def attempt(self, *, account: str | None, address: str) -> Iterator[None]:
        """Guard one password check: refused (429) when over budget; counted as a failure
        if the body raises :class:`NotAuthenticated` (a wrong password or key)."""
        account = account.strip().lower() if account is not None else None
        keys = self._counters(account, address)
        slots = self._admit(keys)
        try:
            yield
        except NotAuthenticated:
            raise  # the failure stays counted
        except BaseException:
            self._forgive(keys, slots, clear=False)  # not the caller's failure (busy, a bug)
            raise
        self._forgive(keys, slots, clear=True)

    def _forgive(
        self, keys: list[tuple[FailureCounter, str]], slots: list[int], *, clear: bool
    ) -> None:
        with self.db.write() as session:
            for (counter, key), slot in zip(keys, slots, strict=True):
                if clear and counter is self.accounts:
                    counter.clear(session, key)  # the right password: the account starts over
                else:
                    counter.forgive(session, key, slot)
