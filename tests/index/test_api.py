"""The public surface of :mod:`neuropil.index`."""

from __future__ import annotations

import neuropil.index


def test_public_names_are_sorted_and_importable() -> None:
    names = neuropil.index.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(neuropil.index, name).__doc__, name
