"""The server's one read-only workspace and how requests use it: one at a time, time-limited.

DuckDB connections are not shared safely between threads, and one analysis already uses the
machine's cores, so requests run one after another on a single worker thread. A request whose
analysis (queue time included) exceeds ``time_limit`` gets HTTP 503 ``query_timeout``, and
its work is **stopped**, not just abandoned: until the analysis has ended, its DuckDB queries
are interrupted (every query it starts, not only the one running at the limit) and its Python
code is stopped with an exception raised in the worker thread. The next request therefore runs
as soon as the stopped one has unwound (milliseconds), not when it would have finished. Only a
long call inside C code that does not return to Python (a numpy operation, the funnel kernel)
runs on until it returns.

The connection (:func:`open_read_only`): the file attached read-only, then
``enable_external_access = false`` (no file, network or extension access from SQL:
``read_csv('/etc/passwd')``, ``ATTACH``, ``COPY``, ``INSTALL`` are refused) and, once the
workspace's own settings are applied, ``lock_configuration = true`` (no ``SET`` can undo any
of this).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from funnelscope.definitions import Definitions, load_for
from funnelscope.errors import FunnelscopeError, WorkspaceError
from funnelscope.web.settings import Settings

CACHE_SIZE = 16
#: Seconds between two interruptions of a timed-out analysis' DuckDB queries.
INTERRUPT_EVERY = 0.02
#: Seconds between two stop exceptions raised in a timed-out analysis' Python code.
STOP_EVERY = 0.5

log = logging.getLogger("funnelscope.web")


class QueryTimeout(FunnelscopeError):
    """A request computed longer than the server's time limit."""

    exit_code = 1
    code = "query_timeout"


class AnalysisStopped(BaseException):  # noqa: N818 - not an error of the analysis: a stop order
    """Raised inside a timed-out analysis to stop it (a BaseException, so that analysis code
    catching ``Exception`` cannot swallow it)."""


def _raise_in_thread(thread_id: int, exc: type[BaseException] | None) -> None:
    """Make ``thread_id`` raise ``exc`` at its next Python instruction (None: forget a pending
    one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc) if exc else None)


class _Job:
    """One call ``f(ws)`` on the worker thread, which can be stopped from another thread.

    ``lock`` orders the worker's start and end of the call against the stopper: a stop
    (DuckDB interrupt or exception) is only sent while ``running``, and the worker clears any
    stop not yet delivered when the call ends, so a stop never reaches the next job.
    """

    def __init__(self, f: Callable[[Any], Any]) -> None:
        self.f = f
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.cancelled = False
        self.running = False
        self.thread_id: int | None = None
        self.value: Any = None
        self.error: BaseException | None = None

    def execute(self, ws: Any) -> None:
        """On the worker thread."""
        try:
            with self.lock:
                if self.cancelled:
                    return
                self.thread_id = threading.get_ident()
                self.running = True
            self.value = self.f(ws)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            self.error = exc
        finally:
            self._end()

    def _end(self) -> None:
        while True:
            try:
                with self.lock:
                    self.running = False
                    if self.thread_id is not None:
                        _raise_in_thread(self.thread_id, None)
                break
            except AnalysisStopped:  # a stop sent just before the end arrived here: once more
                continue
        self.done.set()

    def stop(self, con: Any) -> bool:
        """Cancel the call if it has not started, else interrupt its DuckDB query. False when
        it is not running (not started, now never will; or ended)."""
        with self.lock:
            self.cancelled = True
            if not self.running:
                return False
            if con is not None:
                with contextlib.suppress(Exception):
                    con.interrupt()
            return True

    def raise_stop(self) -> None:
        with self.lock:
            if self.running and self.thread_id is not None:
                _raise_in_thread(self.thread_id, AnalysisStopped)


class State:
    """Open workspace, definitions, and the worker that runs analyses on them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.definitions: Definitions = load_for(settings.workspace, settings.config)
        self._closed = threading.Event()
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._open()

    # ----- connection ---------------------------------------------------------------------
    def _open(self) -> None:
        self.ws = open_read_only(self.settings.workspace, self.definitions)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name="funnelscope-query", daemon=True)
        self._closed.clear()
        self._worker.start()

    def ensure_open(self) -> None:
        """Reopen after :meth:`close` (an app whose lifespan runs again, as in tests)."""
        if self._closed.is_set():
            with self._cache_lock:
                self._cache.clear()
            self._open()

    @property
    def _con(self) -> Any:
        return self.ws.duckdb if self.ws.engine == "duckdb" else None

    # ----- worker -------------------------------------------------------------------------
    def _work(self) -> None:
        jobs, ws = self._jobs, self.ws
        while True:
            job = None
            try:
                job = jobs.get()
                if job is None:
                    return
                job.execute(ws)
            except AnalysisStopped:  # a late stop, delivered outside the call: nothing to undo
                pass
            finally:
                if job is not None:
                    job.done.set()

    def run(self, f: Callable[[Any], Any], time_limit: float | None = None,
            key: Hashable | None = None) -> Any:
        """``f(ws)`` on the worker thread; QueryTimeout after the time limit (and ``f`` is
        stopped).

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
        if self._closed.is_set():
            raise WorkspaceError("the server is shutting down.")
        job = _Job(f)
        self._jobs.put(job)
        if not job.done.wait(limit):
            self._stop(job)
            raise QueryTimeout(
                f"the request took longer than the server's time limit of {limit:g} s.",
                hint="Narrow it (fewer steps, a shorter date range, no breakdown) or start the "
                     "server with a larger --time-limit.",
            )
        if job.error is not None:
            raise job.error.with_traceback(job.error.__traceback__)
        return job.value

    def _stop(self, job: _Job) -> None:
        """Stop ``job`` now and keep stopping it, on a helper thread, until it has ended."""
        if not job.stop(self._con):
            return  # not started (now never will) or already ended
        job.raise_stop()
        threading.Thread(target=self._keep_stopping, args=(job,), daemon=True,
                         name="funnelscope-stop").start()

    def _keep_stopping(self, job: _Job) -> None:
        con, started, last_raise = self._con, time.monotonic(), time.monotonic()
        while not job.done.wait(INTERRUPT_EVERY):
            if not job.stop(con):
                return
            if time.monotonic() - last_raise >= STOP_EVERY:
                job.raise_stop()
                last_raise = time.monotonic()
        log.info("stopped a timed-out analysis %.2f s after its time limit",
                 time.monotonic() - started)

    def interrupt(self) -> None:
        """Interrupt the DuckDB query running now (if any)."""
        if self._con is not None:
            self._con.interrupt()

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._jobs.put(None)
            with contextlib.suppress(Exception):
                self.interrupt()
            self._worker.join(timeout=5)
            with contextlib.suppress(Exception):  # closing on shutdown: nothing to report to
                self.ws.close()


def open_read_only(path: Path | str, definitions: Definitions | None = None) -> Any:
    """The server's workspace: the DuckDB file read-only, without external access, the
    workspace's and the definitions' settings applied, then the configuration locked.

    The file is attached (READ_ONLY, under its usual catalog name) to a private in-memory
    DuckDB rather than opened directly: DuckDB shares one database per file within a process,
    and these settings are per database, so a direct open would refuse (or lock) another
    connection of this process to the same file, such as the CLI's or a notebook's.
    """
    import duckdb

    from funnelscope.sqlsafe import ident, literal
    from funnelscope.workspace import Workspace

    file = Path(path).expanduser()
    if not file.is_file():
        raise WorkspaceError(f"workspace file not found: {file}")
    alias = file.stem if file.stem.lower() not in ("memory", "temp", "system", "main") else "workspace"
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(f"ATTACH {literal(str(file.absolute()))} AS {ident(alias)} (READ_ONLY)")
        except duckdb.Error as exc:
            raise WorkspaceError(
                f"cannot open workspace {file}: {str(exc).splitlines()[0]}",
                hint="Is another process writing to it? Close it, or open read-only.",
            ) from None
        con.execute(f"USE {ident(alias)}")
        con.execute("SET enable_external_access = false")  # no files, network, extensions
        ws = Workspace(con, path=str(file), read_only=True)
        if definitions is not None:
            definitions.apply(ws)
        ws.backend  # noqa: B018 - Ibis sets its own options when created: before the lock
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return ws
