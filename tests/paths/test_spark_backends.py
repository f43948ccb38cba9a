"""Paths give the same JSON on DuckDB and on PySpark (local[2]) for the same data.

One small log (ties on the timestamp, missing event ids, runs of repeats, gaps either side of
the session gap, a non-ASCII and a quoted event name) is loaded into a DuckDB and a Spark
workspace once per module. Every request runs on both and the JSON must be equal, floats to 12
significant digits, except the engine name and the timing. Equality alone could hide a bug
shared by both engines, so every answer is also checked against the plain per-user walk of
``tests/paths/oracle.py`` (and dropped / converted against ``tests/funnel/oracle.py``).
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.errors import FunnelscopeError
from tests.cross_backend import duckdb_and_spark
from tests.experiment.test_spark_backends import assert_same
from tests.funnel.oracle import OEvent, OStep, funnel_levels

from .oracle import Ev
from .test_paths_oracle import BASE, GAP_30M, MINUTE, check_against_oracle

pytestmark = pytest.mark.spark

NAMES = ["view", "cart", "checkout", "pay", "it's", "支付"]
STEPS = ["view", "cart", "checkout", "pay"]


def log(seed: int = 5, users: int = 40) -> list[Ev]:
    """Each user walks the shop: mostly forwards through STEPS with detours, repeats, ties
    (same µs, ids present or missing) and pauses of 5 minutes to 2 hours."""
    rng = random.Random(seed)
    rows: list[Ev] = []
    seen: set = set()
    n_id = 0
    for u in range(users):
        user = f"u{u:02d}"
        ts = BASE + rng.randrange(0, 3 * 24 * 60) * MINUTE
        for _ in range(rng.randint(1, 12)):
            name = rng.choice(NAMES) if rng.random() < 0.4 else \
                STEPS[min(len(STEPS) - 1, rng.randrange(0, 4))]
            event_id = f"e{n_id:04d}" if rng.random() < 0.7 else None
            n_id += 1
            if event_id is None and (user, name, ts) in seen:
                continue
            seen.add((user, name, ts))
            rows.append(Ev(user, name, ts, event_id))
            ts += rng.choice([0, 1, 5 * MINUTE, GAP_30M, GAP_30M + 1, 2 * 60 * MINUTE])
    return rows


def frame(events: list[Ev]) -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": pd.Series([e.event_id for e in events], dtype="string"),
        "user_id": [e.user for e in events], "event": [e.event for e in events],
        "ts": pd.to_datetime([e.ts for e in events], unit="us", utc=True)})


@pytest.fixture(scope="module")
def events() -> list[Ev]:
    return log()


@pytest.fixture(scope="module")
def workspaces(spark_session, events):
    """{"duckdb": ws, "pyspark": ws} holding the same events (one Spark database per module)."""
    yield from duckdb_and_spark(spark_session, {"events": frame(events)}, tz="UTC", prefix="fs_paths")


def both(workspaces, kwargs: dict):
    """The DuckDB result of ``ws.paths(**kwargs)``, after checking Spark gives the same JSON."""
    duck = workspaces["duckdb"].paths(**kwargs)
    spark = workspaces["pyspark"].paths(**kwargs)
    assert duck.meta["engine"] == "duckdb" and spark.meta["engine"] == "pyspark"
    assert_same(duck.to_dict(), spark.to_dict(), "")
    return duck


def oracle_request(kwargs: dict) -> dict:
    """The oracle's request (tests/paths/test_paths_oracle.py) of a paths kwargs dict."""
    anchor = next((a for a in ("after", "before", "to") if kwargs.get(a)), None)
    within = kwargs.get("within")
    return {"anchor": anchor, "name": kwargs.get(anchor) if anchor else None,
            "occurrence": kwargs.get("occurrence", "first"), "depth": kwargs.get("depth", 3),
            "within": None if within is None else int(within.removesuffix("us")),
            "keep_repeats": kwargs.get("keep_repeats", False), "top": kwargs.get("top", 20),
            "matrix": kwargs.get("matrix", False),
            "gap": int(kwargs.get("session_gap", f"{GAP_30M}us").removesuffix("us"))}


REQUESTS = {
    "after depth 3": dict(after="cart", depth=3),
    "after depth 5 last, repeats, top 4": dict(after="view", depth=5, occurrence="last",
                                               keep_repeats=True, top=4),
    "after within 30m, 10m sessions": dict(after="view", depth=2, within=f"{GAP_30M}us",
                                          session_gap=f"{10 * MINUTE}us"),
    "before depth 2": dict(before="pay", depth=2),
    "before last within, matrix": dict(before="checkout", depth=4, occurrence="last",
                                       within=f"{2 * 60 * MINUTE}us", matrix=True),
    "to": dict(to="pay", depth=3, top=5),
    "journey start": dict(depth=4),
    "journey start matrix with repeats": dict(depth=2, matrix=True, keep_repeats=True),
    "quoted and non-ascii anchors": dict(after="it's", depth=2),
    "non-ascii before": dict(before="支付", depth=3, top=3),
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_paths_transitions_sessions_equal_on_both(workspaces, events, name):
    kwargs = REQUESTS[name]
    result = both(workspaces, kwargs)
    check_against_oracle(result, events, oracle_request(kwargs))


@pytest.mark.parametrize("kept,anchor,step,mode", [
    ("dropped", "after", "cart", "ordered"), ("converted", "after", "cart", "strict"),
    ("dropped", "before", "checkout", "strict"), ("converted", "before", "checkout", "ordered"),
])
def test_dropped_and_converted_with_funnel_steps(workspaces, events, kept, anchor, step, mode):
    kwargs = {anchor: step, "depth": 3, "steps": STEPS, "window": "1h", "mode": mode,
              kept: True}
    result = both(workspaces, kwargs)
    j = STEPS.index(step) + 1
    levels = funnel_levels([OEvent(e.user, e.event, e.ts, event_id=e.event_id or f"auto{i}")
                            for i, e in enumerate(events)],
                           [OStep(s) for s in STEPS], 60 * MINUTE, mode=mode)
    users = {u for u, lv in levels.items() if (lv == j if kept == "dropped" else lv > j)}
    assert users, "the data set must exercise the split"
    assert result.meta["funnel"]["reached_step"] == sum(1 for lv in levels.values() if lv >= j)
    assert result.meta["users"] == len(users)
    req = oracle_request({k: v for k, v in kwargs.items() if k != "steps"})
    check_against_oracle(result, events, req, users=users)


@pytest.mark.parametrize("name", list(REQUESTS))
def test_the_ibis_twin_equals_the_duckdb_sql(events, monkeypatch, name):
    """DuckDB runs SQL text, Spark the Ibis relations of paths/portable.py: the Ibis relations
    run on DuckDB too and give the SQL text's JSON (no Spark needed)."""
    from funnelscope.analyses.paths import run as paths_run

    ws = fs.connect(tz="UTC")
    ws.load(frame(events), "events")
    for kwargs in (REQUESTS[name], {"after": "cart", "steps": STEPS, "window": "1h",
                                    "dropped": True}):
        sql = ws.paths(**kwargs).to_dict()
        monkeypatch.setattr(paths_run, "SQL_ON_DUCKDB", False)
        twin = ws.paths(**kwargs).to_dict()
        monkeypatch.setattr(paths_run, "SQL_ON_DUCKDB", True)
        assert_same(sql, twin, "")
    ws.close()


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_errors_are_the_same(workspaces, engine):
    ws = workspaces[engine]
    with pytest.raises(FunnelscopeError, match="crat"):
        ws.paths(after="crat")
    with pytest.raises(FunnelscopeError, match="last step"):
        ws.paths(after="pay", steps=STEPS, dropped=True)
