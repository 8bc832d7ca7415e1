# The single source of the version (pyproject.toml reads it): a constant, because looking it
# up with importlib.metadata costs ~50 ms at every CLI start.
__version__ = "0.1.0"
