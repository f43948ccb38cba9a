"""The server's one read-only workspace and how requests use it: one at a time, time-limited.

DuckDB connections are not shared safely between threads, and one analysis already uses the
machine's cores, so requests run one after another on a single worker thread. A request whose
analysis (queue time included) exceeds ``time_limit`` gets HTTP 503 ``query_timeout``; its
DuckDB query is interrupted.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from funnelscope.definitions import Definitions, load_for
from funnelscope.errors import FunnelscopeError
from funnelscope.web.settings import Settings

CACHE_SIZE = 16


class QueryTimeout(FunnelscopeError):
    """A request computed longer than the server's time limit."""

    exit_code = 1
    code = "query_timeout"


class State:
    """Open workspace, definitions, and the worker that runs analyses on them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.definitions: Definitions = load_for(settings.workspace, settings.config)
        self._closed = threading.Event()
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        import funnelscope as fs

        self.ws = fs.connect(str(self.settings.workspace), read_only=True)
        self.definitions.apply(self.ws)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funnelscope-query")
        self._closed.clear()

    def ensure_open(self) -> None:
        """Reopen after :meth:`close` (an app whose lifespan runs again, as in tests)."""
        if self._closed.is_set():
            with self._cache_lock:
                self._cache.clear()
            self._open()

    def run(self, f: Callable[[Any], Any], time_limit: float | None = None,
            key: Hashable | None = None) -> Any:
        """``f(ws)`` on the worker thread; QueryTimeout after the time limit.

        With ``key``, the answer is remembered (the last CACHE_SIZE answers): the workspace is
        read-only, so the same analysis with the same options gives the same Result, and a
        page shown again in another language does not compute again.
        """
        if key is not None:
            with self._cache_lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
        value = self._run(f, time_limit)
        if key is not None:
            with self._cache_lock:
                self._cache[key] = value
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return value

    def _run(self, f: Callable[[Any], Any], time_limit: float | None) -> Any:
        limit = self.settings.time_limit if time_limit is None else time_limit
        future = self._pool.submit(f, self.ws)
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            if not future.cancel():  # already running: stop its query
                self.interrupt()
            raise QueryTimeout(
                f"the request took longer than the server's time limit of {limit:g} s.",
                hint="Narrow it (fewer steps, a shorter date range, no breakdown) or start the "
                     "server with a larger --time-limit.",
            ) from None

    def interrupt(self) -> None:
        if self.ws.engine == "duckdb":
            self.ws.duckdb.interrupt()

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._pool.shutdown(wait=False, cancel_futures=True)
            with contextlib.suppress(Exception):  # closing on shutdown: nothing to report to
                self.ws.close()
