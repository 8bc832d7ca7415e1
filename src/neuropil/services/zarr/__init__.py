"""Zarr archives: DANDI's ``/api/zarr/`` (create, upload, ingest), read-only key URLs and
the snapshots that published versions serve. See docs/design/zarr.md.

- :mod:`.layout`: where a Zarr's bytes live in the blob store;
- :mod:`.archives`: the rows (create, list, read, delete) and who may see or change them;
- :mod:`.listing`: the files of a live Zarr (the store) or a snapshot (its rows), one view;
- :mod:`.files`: upload URLs, the signed PUT, deletes, downloads of one key;
- :mod:`.bulk`: many files in one request, a tar each way (neuropil's own);
- :mod:`.ingest`: finalize and the durable job that computes the checksum;
- :mod:`.tags`: the embargo tags of an embargoed dandiset's Zarr files in the bucket;
- :mod:`.snapshots`: what publishing pins, shared content-addressed bytes.
- :mod:`.garbage`: bytes no row reaches, for garbage collection.
"""
