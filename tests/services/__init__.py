"""Tests of service functions that need no running server."""
