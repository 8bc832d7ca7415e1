"""The HTTP client layer for any DANDI-API archive (neuropil or the DANDI Archive)."""
