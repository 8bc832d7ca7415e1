"""Tests of the blob-store backends: one contract (:mod:`neuropil.testing.storage`) that each
backend passes."""
