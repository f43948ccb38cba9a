"""funnelscope.progress: silent off a terminal, draws on one, always stops and restores."""

from __future__ import annotations

import io
import threading

import duckdb
import pytest
from rich.console import Console

from funnelscope.progress import THREAD_NAME, query_progress, spinner

SLOW = "SELECT count(DISTINCT x) FROM (SELECT range % 1000003 AS x FROM range(12000000))"


def settings(con):
    return con.execute("SELECT current_setting('enable_progress_bar'), "
                       "current_setting('enable_progress_bar_print')").fetchone()


def progress_threads():
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_nothing_is_drawn_off_a_terminal():
    con = duckdb.connect()
    before = settings(con)
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with query_progress(con, "crunching", console=console, delay=0):
        con.execute(SLOW).fetchall()
    with spinner("thinking", console=console, delay=0):
        pass
    assert out.getvalue() == "" and settings(con) == before and progress_threads() == []


def test_a_forced_terminal_shows_the_bar_then_stops_and_restores_settings():
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    before = settings(con)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with query_progress(con, "crunching", console=console, delay=0.05):
        assert settings(con) == (True, False)  # DuckDB tracks progress but draws nothing
        con.execute(SLOW).fetchall()
    assert "crunching" in out.getvalue()
    assert progress_threads() == [] and settings(con) == before


def test_disabled_or_quick_work_draws_nothing_on_a_terminal():
    con = duckdb.connect()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True)
    with query_progress(con, "quiet", console=console, enabled=False, delay=0):
        con.execute(SLOW).fetchall()
    with query_progress(con, "quick", console=console, delay=5):
        con.execute("SELECT 1").fetchall()
    assert out.getvalue() == "" and progress_threads() == []


def test_spinner_draws_and_stops_even_when_the_block_raises():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    stop = threading.Event()
    with pytest.raises(RuntimeError), spinner("waiting", console=console, delay=0.01):
        stop.wait(0.4)
        raise RuntimeError("boom")
    assert "waiting" in out.getvalue() and progress_threads() == []


def test_settings_are_restored_when_the_statement_fails():
    con = duckdb.connect()
    before = settings(con)
    console = Console(file=io.StringIO(), force_terminal=True)
    with pytest.raises(duckdb.Error), query_progress(con, "x", console=console, delay=0):
        con.execute("SELECT * FROM no_such_table")
    assert settings(con) == before and progress_threads() == []
