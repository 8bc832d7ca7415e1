"""Clients for the session's archive (the same fixtures as the API tests)."""

from tests.api.conftest import admin, alice, anon

__all__ = ["admin", "alice", "anon"]
