"""Progress display for long-running commands, on stderr, for people at a terminal only.

Two context managers, both silent unless ``enabled`` and the console is a terminal (so pipes,
files, ``--format json`` consumers and tests see nothing), and both silent for work that ends
within ``delay`` seconds (short commands stay clean):

- :func:`query_progress` wraps DuckDB work on one connection: a background thread polls
  ``con.query_progress()`` and draws a bar with the running statement's percentage (a pulsing
  bar between statements or when DuckDB cannot tell);
- :func:`spinner` wraps any other work: a spinner with the label and the elapsed time.

Example::

    with query_progress(ws.duckdb, "loading events.csv", enabled=not quiet):
        ws.load("events.csv")

The display is erased when the block ends, and the background thread is joined before the
context manager returns, whether the block succeeds or raises.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console

DELAY = 1.0  # seconds of work before anything is drawn
POLL = 0.1  # seconds between two progress polls
THREAD_NAME = "funnelscope-progress"
_SETTINGS = ("enable_progress_bar", "enable_progress_bar_print")


def stderr_console() -> Console:
    """The console progress is drawn on: stderr, so stdout stays clean for results."""
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def query_progress(
    con: duckdb.DuckDBPyConnection,
    label: str,
    *,
    enabled: bool = True,
    delay: float = DELAY,
    console: Console | None = None,
) -> Iterator[None]:
    """Show a progress bar for the DuckDB statements the block runs on ``con``.

    Draws only when ``enabled`` and ``console`` (default: stderr) is a terminal, and only once
    the block has run ``delay`` seconds. While active, DuckDB's progress tracking is switched
    on (``enable_progress_bar``) with its own printing off (``enable_progress_bar_print``);
    both settings are restored afterwards.
    """
    console = console or stderr_console()
    if not enabled or not console.is_terminal:
        yield
        return
    saved = [con.execute("SELECT current_setting(?)", [name]).fetchone()[0] for name in _SETTINGS]
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")

    def percent() -> float | None:
        value = con.query_progress()
        return value if value is not None and value >= 0 else None

    try:
        with _display(label, console, delay, percent):
            yield
    finally:
        for name, value in zip(_SETTINGS, saved, strict=True):
            with contextlib.suppress(Exception):  # never hide the block's own error
                con.execute(f"SET {name} = {'true' if value else 'false'}")


@contextlib.contextmanager
def spinner(
    label: str, enabled: bool = True, *, delay: float = DELAY, console: Console | None = None
) -> Iterator[None]:
    """Show a spinner with ``label`` and the elapsed time while the block runs.

    Same rules as :func:`query_progress`: only when ``enabled``, on a terminal, after ``delay``.
    """
    console = console or stderr_console()
    if not enabled or not console.is_terminal:
        yield
        return
    with _display(label, console, delay, None):
        yield


@contextlib.contextmanager
def _display(
    label: str, console: Console, delay: float, percent: Callable[[], float | None] | None
) -> Iterator[None]:
    """Run the drawing thread for the duration of the block; join it on exit."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_draw, args=(label, console, delay, percent, stop), name=THREAD_NAME, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _draw(label: str, console: Console, delay: float,
          percent: Callable[[], float | None] | None, stop: threading.Event) -> None:
    """Wait ``delay``; then redraw every POLL seconds until ``stop`` is set."""
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    if stop.wait(delay):
        return
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if percent is not None:
        columns += [BarColumn(), TaskProgressColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        while True:
            if percent is not None:
                try:
                    value = percent()
                except Exception:  # the connection went away: keep the spinner only
                    percent, value = None, None
                bar.update(task, total=None if value is None else 100.0,
                           completed=value or 0.0)
            if stop.wait(POLL):
                break
