"""What every HTTP face of the server shares, below the API and the web pages.

:mod:`.request` holds the request-scoped dependencies (the context, the URLs a client
sees); :mod:`.reads` where the hot reads run (on the event loop when their data is in the
process); :mod:`.background` the work that runs beside the requests (job workers, periodic
GC, the validation safety net). :mod:`neuropil.app` assembles the faces and starts the work.
"""
