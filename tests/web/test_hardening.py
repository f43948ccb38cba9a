"""Server guard-rails under attack or overload: the time limit stops the work (not just the
answer), the connection cannot reach files or change its settings, blank tokens are refused.

Oracles: wall-clock facts (a stopped analysis does no more work; the next request answers
within a bound), DuckDB's own refusals, and the CLI's exit code.
"""

from __future__ import annotations

import threading
import time

import pytest

from funnelscope.errors import ConfigError

SLOW_QUERY = "SELECT count(*) FROM range(100000000000) a"  # minutes, unless interrupted


@pytest.fixture(scope="module")
def guarded(make_client):
    return make_client(time_limit=10)


def _idle_within(state, seconds: float) -> float:
    """Seconds until the worker takes a new job (it is free), failing after ``seconds``."""
    started = time.perf_counter()
    state.run(lambda ws: None, time_limit=seconds)
    return time.perf_counter() - started


# ----- time limit ------------------------------------------------------------------------------
def test_every_query_after_the_limit_is_interrupted(guarded):
    """An analysis running one slow DuckDB query after another (and swallowing errors, as
    careless code does) is interrupted query after query until it ends."""
    from funnelscope.web.state import QueryTimeout

    state = guarded.app.state.funnelscope
    log: list[tuple[float, str]] = []
    finished = threading.Event()

    def many_queries(ws):
        try:
            for _ in range(50):
                try:
                    ws.duckdb.execute(SLOW_QUERY).fetchall()
                    log.append((time.perf_counter(), "done"))
                except Exception as exc:  # noqa: BLE001 - the analysis ignores the interrupt
                    log.append((time.perf_counter(), type(exc).__name__))
            log.append((time.perf_counter(), "finished all"))
        finally:
            finished.set()

    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match="time limit of 0.3 s"):
        state.run(many_queries, time_limit=0.3)
    assert time.perf_counter() - started < 3
    assert finished.wait(5), "the analysis went on after its time limit"
    assert "done" not in [what for _, what in log]  # no slow query ran to its end
    assert "finished all" not in [what for _, what in log]  # stopped, not run through
    assert _idle_within(state, 3) < 3


def test_long_python_work_after_the_limit_is_stopped(guarded):
    from funnelscope.web.state import QueryTimeout

    state = guarded.app.state.funnelscope
    counter = [0]
    ended = threading.Event()

    def busy(ws):
        try:
            while True:  # pure Python: no DuckDB query to interrupt
                counter[0] += 1
        finally:
            ended.set()

    with pytest.raises(QueryTimeout):
        state.run(busy, time_limit=0.2)
    assert ended.wait(3), "Python work went on after the time limit"
    seen = counter[0]
    time.sleep(0.2)
    assert counter[0] == seen  # no more work
    assert _idle_within(state, 3) < 3


def test_the_next_request_runs_promptly_after_a_timeout(guarded):
    from funnelscope.web.state import QueryTimeout

    state = guarded.app.state.funnelscope

    def slow_then_more(ws):
        ws.duckdb.execute(SLOW_QUERY).fetchall()
        time.sleep(30)  # what an analysis would do next, had it not been stopped

    with pytest.raises(QueryTimeout):
        state.run(slow_then_more, time_limit=0.3)
    started = time.perf_counter()
    r = guarded.get("/api/tables")
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < 5
    started = time.perf_counter()
    r = guarded.get("/api/funnel", params={"steps": "view,pay"})
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < 10
    # no stale interrupt reaches later queries
    for _ in range(5):
        assert state.run(lambda ws: ws.duckdb.execute("SELECT 42").fetchone()[0]) == 42


def test_a_request_that_times_out_while_queued_never_runs(guarded):
    from funnelscope.web.state import QueryTimeout

    state = guarded.app.state.funnelscope
    ran = threading.Event()
    gate = threading.Event()
    blocker = threading.Thread(target=lambda: state.run(lambda ws: gate.wait(2), time_limit=5))
    blocker.start()
    time.sleep(0.1)
    with pytest.raises(QueryTimeout):
        state.run(lambda ws: ran.set(), time_limit=0.2)  # waits behind the blocker
    gate.set()
    blocker.join(5)
    assert _idle_within(state, 3) < 3
    assert not ran.is_set()


def test_the_time_limit_must_be_a_positive_number(web_workspace):
    from funnelscope.web.settings import Settings

    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="time-limit"):
            Settings(workspace=web_workspace, time_limit=bad)


# ----- the server's connection -----------------------------------------------------------------
@pytest.mark.parametrize("sql,words", [
    ("SELECT * FROM read_csv('/etc/passwd')", "disabled"),
    ("SELECT * FROM read_text('/etc/hostname')", "disabled"),
    ("SELECT * FROM '/etc/passwd'", "does not exist"),  # no file behind a quoted name either
    ("SELECT * FROM glob('/etc/*')", "disabled"),
    ("COPY (SELECT 1) TO '/tmp/funnelscope-leak.csv'", "disabled"),
    ("ATTACH '/tmp/funnelscope-other.duckdb' AS other", "disabled"),
    ("INSTALL httpfs", "disabled"),
    ("LOAD httpfs", "disabled"),
    ("SET enable_external_access = true", "locked"),
    ("SET lock_configuration = false", "locked"),
    ("RESET lock_configuration", "locked"),
    ("SET threads = 1", "locked"),
    ("SET memory_limit = '1TB'", "locked"),
    ("SET TimeZone = 'Asia/Tokyo'", "locked"),
    ("PRAGMA threads = 1", "locked"),
    ("CREATE TABLE hack AS SELECT 1", "read-only"),
])
def test_the_connection_refuses_files_settings_and_writes(guarded, sql, words):
    import duckdb

    state = guarded.app.state.funnelscope
    with pytest.raises(duckdb.Error, match=words):
        state.run(lambda ws: ws.duckdb.execute(sql))


def test_the_connection_still_answers_and_keeps_its_settings(guarded):
    state = guarded.app.state.funnelscope
    con_facts = state.run(lambda ws: ws.duckdb.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'),"
        " current_setting('TimeZone'), (SELECT count(*) FROM events)").fetchone())
    assert con_facts[:3] == (False, True, "UTC") and con_facts[3] > 0
    assert state.ws.read_only


def test_other_connections_of_the_process_are_not_affected(guarded, web_workspace):
    """The server attaches its file to a private database: a notebook or CLI in the same
    process can still open the file and read and set its own options."""
    import funnelscope as fs

    ws = fs.connect(str(web_workspace), read_only=True)
    try:
        ws.duckdb.execute("SET threads = 2")
        assert ws.duckdb.execute("SELECT count(*) FROM events").fetchone()[0] > 0
    finally:
        ws.close()
    assert guarded.get("/api/tables").status_code == 200


# ----- tokens -----------------------------------------------------------------------------------
@pytest.mark.parametrize("token", ["", " ", "   \t ", "\n"])
def test_a_blank_token_is_refused_never_read_as_no_token(web_workspace, monkeypatch, token):
    from funnelscope.web.security import TokenMiddleware
    from funnelscope.web.settings import TOKEN_ENV, Settings, token_from_env

    with pytest.raises(ConfigError, match="blank"):
        Settings(workspace=web_workspace, token=token)
    with pytest.raises(ConfigError, match="blank"):
        Settings(workspace=web_workspace, token=token, host="0.0.0.0")
    with pytest.raises(ConfigError, match="--token is blank"):
        token_from_env(token)
    monkeypatch.setenv(TOKEN_ENV, token)
    with pytest.raises(ConfigError, match=f"{TOKEN_ENV} is blank"):
        token_from_env(None)
    with pytest.raises(ConfigError, match="blank"):
        TokenMiddleware(app=None, token=token)


def test_token_sources_and_other_unusable_tokens(web_workspace, monkeypatch):
    from funnelscope.web.settings import TOKEN_ENV, Settings, token_from_env

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert token_from_env(None) is None
    monkeypatch.setenv(TOKEN_ENV, "from-the-environment")
    assert token_from_env(None) == "from-the-environment"
    assert token_from_env("given-explicitly") == "given-explicitly"
    for bad, words in ((" padded-token ", "whitespace"), ("tab\tinside-token", "control"),
                       ("short", "too short")):
        with pytest.raises(ConfigError, match=words):
            Settings(workspace=web_workspace, token=bad)


@pytest.mark.parametrize("how", ["flag-empty", "flag-spaces", "env-empty", "env-spaces"])
def test_serve_refuses_a_blank_token(web_workspace, capsys, monkeypatch, how):
    from funnelscope.cli.app import main

    argv = ["serve", "--workspace", str(web_workspace)]
    monkeypatch.delenv("FUNNELSCOPE_TOKEN", raising=False)
    if how.startswith("flag"):
        argv += ["--token", "" if how == "flag-empty" else "   "]
    else:
        monkeypatch.setenv("FUNNELSCOPE_TOKEN", "" if how == "env-empty" else "  ")
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "blank" in err, err
