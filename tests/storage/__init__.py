"""Tests of the blob-store backends: one contract (:mod:`neuropil.testing.storage`) that each
backend passes."""

import pytest

# The contract holds the assertions of every backend's tests; let pytest explain their failures.
pytest.register_assert_rewrite("neuropil.testing")
