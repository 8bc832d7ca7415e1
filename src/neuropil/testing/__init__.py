"""Test kits that code outside neuropil uses to prove it fits neuropil's interfaces.

:mod:`neuropil.testing.storage` holds the blob-store contract: a third-party
:class:`~neuropil.storage.BlobStore` (S3, a cloud bucket, ...) subclasses its
:class:`~neuropil.testing.storage.BlobStoreContract` in a test module and passes the same tests
neuropil's own backends pass. The kits import pytest, which neuropil itself does not need:
install ``neuropil[testing]``. Nothing in neuropil imports this package (a contract in
``pyproject.toml`` says so), and it imports only what it tests: the storage interface and the
foundation (``neuropil.core``, ``neuropil.errors``).
"""
