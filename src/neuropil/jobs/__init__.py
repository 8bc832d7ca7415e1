"""Durable background jobs behind one interface, :class:`~neuropil.jobs.protocol.JobQueue`.

Two engines: the built-in queue (:mod:`neuropil.jobs.queue`, a table of the archive's own
database, drained by :mod:`neuropil.jobs.worker` threads in server and worker processes) and
procrastinate on PostgreSQL (:mod:`neuropil.jobs.procrastinate_queue`, run by ``neuropil
worker``). Either way a job is enqueued in the transaction of the write that needs it. See
``docs/design/jobs.md``.
"""
