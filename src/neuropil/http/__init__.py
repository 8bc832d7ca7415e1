"""The HTTP layer below the client, the stream fetcher and the server's index builder.

One :class:`~neuropil.http.transport.Transport` (httpx with timeouts, pooled connections,
retries with backoff), its network backend (large socket reads), TLS trust, the one redirect
follower (:mod:`neuropil.http.redirects`: hop limit and where the token goes) and the control
signals a blob reader raises (:mod:`neuropil.http.signals`). Nothing here knows the DANDI API.
"""
