"""The read-ahead policy: geometric growth on a stream, an immediate drop on a jump."""

from __future__ import annotations

import pytest

from neuropil.stream import ReadAhead


def stream(policy: ReadAhead, start: int, reads: int, blocks_per_read: int = 1) -> list[int]:
    """Feed ``reads`` sequential misses; return the window after each."""
    windows = []
    pos = start
    for _ in range(reads):
        last = pos + blocks_per_read - 1
        windows.append(policy.advise(pos, last))
        pos = last + 1 + policy.window  # the next miss is right after the fetched window
    return windows


def test_grows_geometrically_on_a_stream_up_to_the_cap() -> None:
    policy = ReadAhead(max_blocks=32)
    assert stream(policy, 10, 8) == [0, 1, 2, 4, 8, 16, 32, 32]


def test_a_stream_of_large_reads_fetches_at_least_one_read_ahead() -> None:
    policy = ReadAhead(max_blocks=256)
    assert stream(policy, 0, 3, blocks_per_read=40) == [0, 40, 80]


def test_a_random_read_drops_the_window_at_once() -> None:
    policy = ReadAhead(max_blocks=64)
    stream(policy, 0, 8)
    assert policy.window == 64
    assert policy.advise(5, 5) == 0  # backwards: a jump
    stream(policy, 100, 8)
    assert policy.advise(10_000, 10_000) == 0  # far forwards: a jump too


def test_a_miss_inside_the_last_window_continues_the_stream() -> None:
    """Read-ahead stops at the first cached block, so the stream may miss again inside
    what the last fetch was meant to cover."""
    policy = ReadAhead(max_blocks=64)
    policy.advise(0, 0)
    policy.advise(1, 1)  # window 1: blocks 1..2 fetched
    assert policy.sequential(2)
    assert not policy.sequential(1)
    assert not policy.sequential(4)


def test_min_blocks_is_kept_after_a_jump() -> None:
    policy = ReadAhead(max_blocks=8, min_blocks=2)
    assert policy.advise(0, 0) == 2
    assert policy.advise(3, 3) == 4
    assert policy.advise(100, 100) == 2


def test_a_miss_near_the_last_fetch_grows_the_window() -> None:
    """Metadata of one HDF5 object lies in a few nearby blocks, read out of order."""
    policy = ReadAhead(max_blocks=64, near_blocks=4)
    assert policy.advise(100, 100) == 0  # blocks 100..100
    assert policy.advise(103, 103) == 1  # 2 past the last fetch: near, grows
    assert policy.advise(99, 99) == 2  # just before it: near too
    assert policy.advise(500, 500) == 0  # far: a jump
    assert ReadAhead(max_blocks=64).advise(0, 0) == 0
    assert not ReadAhead(max_blocks=64).near(3)  # nothing fetched yet, nothing is near


@pytest.mark.parametrize(
    "kwargs", [{"max_blocks": 1, "min_blocks": 2}, {"factor": 0.5}, {"near_blocks": -1}]
)
def test_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReadAhead(**kwargs)  # type: ignore[arg-type]
