"""Test support: real server processes, databases and data files."""
