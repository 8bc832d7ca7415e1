"""The HTTP layer: thin FastAPI handlers that speak the DANDI REST API."""

from neuropil.api.app import create_app

__all__ = ["create_app"]
