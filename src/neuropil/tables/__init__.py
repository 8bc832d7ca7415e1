"""The tables of a Dandiset version as data frames: a file manifest and experiment metadata.

Shared by the server, which builds and serves them (:mod:`neuropil.services.tables`,
``GET .../versions/{version}/tables/{files,sessions}/``), and the client, which reads them
(:func:`neuropil.archive_info`) or, from a server without the endpoint, builds the same rows
from asset metadata. Pure functions over dicts; ``docs/design/tables.md`` says what comes
from where.

* :mod:`.columns` - the columns of each table, declared once;
* :mod:`.facts` - subject and session fields from asset metadata, and the manifest row;
* :mod:`.contents` - devices, electrodes, units, planes, series from a LINDI index;
* :mod:`.sessions` - the rows of the sessions table;
* :mod:`.formats` - JSON, CSV and Parquet bytes.
"""

from neuropil.tables.columns import FILES, SEP, SESSIONS, TABLES, Column
from neuropil.tables.contents import NwbContents, read_contents
from neuropil.tables.facts import AssetFacts, facts_of, file_row, is_nwb, manifest_facts
from neuropil.tables.sessions import SessionFile, session_row, session_rows, sessions_of

__all__ = [
    "FILES",
    "SEP",
    "SESSIONS",
    "TABLES",
    "AssetFacts",
    "Column",
    "NwbContents",
    "SessionFile",
    "facts_of",
    "file_row",
    "is_nwb",
    "manifest_facts",
    "read_contents",
    "session_row",
    "session_rows",
    "sessions_of",
]
