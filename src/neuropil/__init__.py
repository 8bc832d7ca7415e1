"""neuropil: a self-hostable archive for neurophysiology data that speaks the DANDI REST API.

The package is layered; the file list reads from the bottom up:

* :mod:`neuropil.core` - small typed values shared by server, client and streaming code
  (digests, byte ranges, identifiers, asset paths, URL signing);
* :mod:`neuropil.storage` - blob storage behind one interface (local filesystem, memory, ...);
* :mod:`neuropil.db` - SQLAlchemy models, engine set-up and Alembic migrations;
* :mod:`neuropil.services` - keyword-only service functions owning permissions and transactions;
* :mod:`neuropil.jobs` - the durable background job queue (in-process workers by default);
* :mod:`neuropil.api` - thin FastAPI handlers speaking the DANDI REST API;
* :mod:`neuropil.client` - the HTTP client layer; :mod:`neuropil.cli` - the ``neuropil`` command.
"""

from neuropil._version import __version__
from neuropil.client.archive import Archive

__all__ = ["Archive", "__version__"]
