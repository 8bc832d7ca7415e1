"""Why one file's download stopped: signals between the download modules, never raised to
the caller (:func:`~neuropil.client.download.download_files` reports them per file).

    Exception
    ├── Failed            this file cannot be downloaded now; the partial data is kept
    │   └── DigestMismatch    the bytes are wrong; the partial data is deleted
    └── Aborted           another connection of this file failed, or the run was interrupted
"""

from __future__ import annotations


class Failed(Exception):
    """This file cannot be downloaded now; the partial data is kept for a re-run."""


class DigestMismatch(Failed):
    """The bytes are wrong: the partial data is deleted."""


class Aborted(Exception):
    """Another connection of this file failed, or the whole run was interrupted."""
