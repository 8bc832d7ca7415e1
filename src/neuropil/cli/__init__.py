"""The ``neuropil`` command line."""
