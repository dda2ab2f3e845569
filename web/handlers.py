"""Django's ASGI handler with the request path run on a bounded pool of threads.

Django's own ASGI handler adapts each sync middleware method and each sync view with its own
`sync_to_async` hop (about 0.3 ms each here), and one sync-only middleware (WhiteNoise) turns the
rest of the chain back into `async_to_sync` calls. Our views are sync and talk to PostgreSQL, so
this handler loads the middleware chain in sync mode, as WSGI does, and runs the whole chain in
one hop on WEB_THREADS threads, the way a threaded WSGI server would: requests in one process
overlap their database waits and pay one hop each.

Each request thread borrows a database connection from the pool and gives it back when the
request ends (`close_old_connections` with CONN_MAX_AGE = 0), so a connection is never pinned to
an idle thread and a broken one is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase


class ThreadPoolASGIHandler(ASGIHandler):
    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("WEB_THREADS must be at least 1")
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="django")
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)  # the sync chain: no hop per middleware
        chain: Callable[[HttpRequest], HttpResponseBase] = self._middleware_chain  # type: ignore[has-type]

        def run(request: HttpRequest) -> HttpResponseBase:
            try:
                return chain(request)
            finally:
                close_old_connections()  # give this thread's connections back to the pool

        self._middleware_chain = sync_to_async(run, thread_sensitive=False, executor=self._executor)
