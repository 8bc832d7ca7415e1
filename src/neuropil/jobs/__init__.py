"""Durable background jobs: a table of jobs, claimed by worker threads in the server process.

The queue lives in the archive's own database, so enqueueing a job commits atomically with
the write that caused it, and jobs survive a crash. Later, a separate worker process (or a
real task queue) runs the same handlers.
"""
