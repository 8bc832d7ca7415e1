"""Service functions: each owns its permission checks and one transaction.

HTTP handlers call these and only translate between HTTP and Python.
"""
