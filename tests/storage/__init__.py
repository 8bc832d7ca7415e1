"""Tests of the blob-store backends: one contract (kit.py) that each backend passes."""

import pytest

# kit.py holds the assertions of every backend's tests; let pytest explain their failures.
pytest.register_assert_rewrite("tests.storage.kit")
