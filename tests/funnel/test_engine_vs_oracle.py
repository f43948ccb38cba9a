"""The engine (kernel path) equals the brute-force oracle on generated logs, in every mode."""

from __future__ import annotations

import os
import tempfile
from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.analyses.funnel.run import entity_ids

from .engine_case import engine_levels, events_frame, spec_args, workspace_with
from .oracle import OEvent, OStep, funnel_entries, funnel_levels
from .strategies import event_logs, funnel_cases, journey_events, prop_filters

pytestmark = pytest.mark.usefixtures("names_unchecked")

SETTINGS = settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


_OPEN: list = []  # the last workspace stays open: results hold only a weak reference


def _run(events, steps, window, mode, exclude, first_time, **kw):
    ws = workspace_with(events)
    _OPEN[:] = [ws]
    if not ws.has_table("events"):
        return None
    fsteps, fexcl = spec_args(steps, exclude)
    return ws.funnel(fsteps, window=f"{window}us", mode=mode, exclude=fexcl,
                     first_time=first_time, **kw)


@pytest.mark.parametrize("mode", ["ordered", "strict", "any"])
def test_levels_match_oracle(mode):
    @SETTINGS
    @given(funnel_cases(modes=(mode,)))
    def check(case):
        events, steps, window, mode_, exclude, first_time = case
        result = _run(events, steps, window, mode_, exclude, first_time)
        expected = funnel_levels(events, steps, window, mode=mode_, exclude=exclude,
                                 first_time=first_time)
        got = {} if result is None else engine_levels(result)
        assert got == expected
        if result is not None:
            k = len(steps)
            counts = [sum(1 for v in expected.values() if v >= j) for j in range(1, k + 1)]
            assert result.steps["entities"].tolist() == counts

    check()


@SETTINGS
@given(funnel_cases(modes=("ordered", "strict")))
def test_reported_path_times_match_oracle(case):
    events, steps, window, mode, exclude, first_time = case
    result = _run(events, steps, window, mode, exclude, first_time)
    expected = funnel_entries(events, steps, window, mode=mode, exclude=exclude,
                              first_time=first_time)
    if result is None:
        assert expected == []
        return
    entries = result.entries
    ids = entity_ids(result.workspace, result.spec, entries["entity"].to_numpy(), result.meta)
    k = len(steps)
    got = {}
    for i, (_, row) in zip(ids, entries.iterrows(), strict=True):
        got[i] = (int(row["level"]), [None if pd.isna(row[f"t{j}"]) else int(row[f"t{j}"]) for j in range(1, k + 1)])
    want = {e.entity: (e.level, list(e.step_ts)) for e in expected}
    assert got == want


@SETTINGS
@given(funnel_cases(modes=("ordered", "strict")))
def test_totals_match_oracle(case):
    events, steps, window, mode, exclude, first_time = case
    result = _run(events, steps, window, mode, exclude, first_time, count="totals")
    expected = funnel_entries(events, steps, window, mode=mode, exclude=exclude,
                              first_time=first_time, count="totals")
    if result is None:
        assert expected == []
        return
    assert Counter(result.entries["level"].tolist()) == Counter(e.level for e in expected)


def test_readable_journeys():
    journeys = {
        "alice": [("view", "2024-01-01 10:00"), ("add_to_cart", "2024-01-01 10:05"),
                  ("pay", "2024-01-03 09:00")],
        "bob": [("view", "2024-01-01 10:00"), ("pay", "2024-01-01 10:01"),
                ("add_to_cart", "2024-01-01 10:02")],
        "张三": [("view", "2024-01-01 10:00"), ("add_to_cart", "2024-01-09 10:00"),
                ("pay", "2024-01-09 11:00")],
    }
    ws = workspace_with(journey_events(journeys))
    r = ws.funnel(["view", "add_to_cart", "pay"], window="7d")
    assert r.steps["entities"].tolist() == [3, 2, 1]
    assert r.converted("pay") == ["alice"]
    assert r.dropped_after("add_to_cart") == ["bob"]
    assert r.dropped_after(1) == ["张三"]
    # alice: view -> cart 5 minutes; bob: view -> cart 2 minutes
    assert r.steps.loc[1, "median_seconds_from_previous"] == pytest.approx(210.0)


def test_portable_expression_equals_kernel_levels():
    from funnelscope.analyses.funnel.portable import portable_levels
    from funnelscope.analyses.funnel.spec import make_spec

    @SETTINGS
    @given(funnel_cases(modes=("ordered",), allow_within=False, allow_exclusions=False))
    def check(case):
        events, steps, window, mode, exclude, first_time = case
        ws = workspace_with(events)
        if not ws.has_table("events"):
            return
        fsteps, _ = spec_args(steps, [])
        spec = make_spec(fsteps, f"{window}us", first_time=first_time)
        got = portable_levels(ws, spec).execute()
        got = dict(zip(got["entity"], got["level"].astype(int), strict=True))
        assert got == funnel_levels(events, steps, window, first_time=first_time)

    check()


@st.composite
def _tie_cases(draw):
    """Ties everywhere: 2..5 steps from one to three names (repeats such as view -> view ->
    pay or view -> view -> view are the rule), timestamps in 0..3, an optional filter on some
    steps, ``first_time``, and event ids present (loaded) or absent (a file read in place)."""
    pool = draw(st.sampled_from([("view",), ("view", "pay"), ("view", "cart", "pay")]))
    k = draw(st.integers(2, 5))
    names = draw(st.lists(st.sampled_from(pool), min_size=k, max_size=k))
    steps = [OStep(n, where=draw(prop_filters()) if draw(st.integers(0, 3)) == 0 else None)
             for n in names]
    events = draw(event_logs(step_names=tuple(dict.fromkeys(names)), max_entities=3,
                             max_events=10, max_ts=3, walk=tuple(names)))
    return events, steps, draw(st.integers(0, 3)), draw(st.booleans()), draw(st.booleans())


def _portable_got(events, steps, window, first_time, with_ids, tmp_dir):
    """{entity: level} from the portable expression; without ids the events are a Parquet
    file read in place (no event_id column, so tied events have no tiebreak at all)."""
    from funnelscope.analyses.funnel.portable import portable_levels
    from funnelscope.analyses.funnel.spec import make_spec

    if with_ids:
        ws = workspace_with(events)
    else:
        path = os.path.join(tmp_dir, "events.parquet")
        frame = events_frame(events).drop(columns=["event_id"])
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        ws = fs.connect(events=path)
    fsteps, _ = spec_args(steps, [])
    spec = make_spec(fsteps, f"{window}us", first_time=first_time)
    got = portable_levels(ws, spec).execute()
    return dict(zip(got["entity"], got["level"].astype(int), strict=True))


def test_portable_expression_with_ties_and_repeated_steps():
    """Repeated step names (an event matches several steps) with equal timestamps: one event
    never fills two steps, tied events are used in a consistent order, and no event id is
    needed for that (the expression gives the oracle's levels with or without ids)."""

    @SETTINGS
    @given(_tie_cases())
    def check(case):
        events, steps, window, first_time, with_ids = case
        if not events:
            return
        with tempfile.TemporaryDirectory() as tmp:
            got = _portable_got(events, steps, window, first_time, with_ids, tmp)
        assert got == funnel_levels(events, steps, window, first_time=first_time)

    check()


@pytest.mark.parametrize("with_ids", [True, False])
@pytest.mark.parametrize(("names", "events", "first_time", "level"), [
    (["view", "view", "pay"], [("view", 0), ("view", 0), ("pay", 0)], False, 3),
    (["view", "view", "pay"], [("view", 0), ("pay", 0)], False, 1),
    (["view", "view", "pay"], [("pay", 0), ("view", 0), ("view", 0), ("view", 0)], False, 3),
    (["view", "view", "view"], [("view", 0)], False, 1),
    (["view", "view", "view"], [("view", 0), ("view", 0)], False, 2),
    (["view", "view", "view"], [("view", 0)] * 4, False, 3),
    (["view", "view", "view"], [("view", 0), ("view", 0), ("view", 1)], False, 2),
    (["view", "view", "view"], [("view", 0), ("view", 1), ("view", 1)], False, 2),
    (["view", "view", "view"], [("view", 0), ("view", 1), ("view", 1)], True, 1),
    (["view", "pay", "view"], [("view", 0), ("pay", 0), ("view", 0)], False, 2),
    (["pay", "view"], [("view", 0), ("pay", 0)], False, 2),
])
def test_portable_expression_tie_examples(names, events, first_time, level, with_ids, tmp_path):
    """docs/funnels.md's tie rules, window 0 (only equal timestamps can chain)."""
    evs = [OEvent("u1", n, t, {}, f"e{i}") for i, (n, t) in enumerate(events)]
    steps = [OStep(n) for n in names]
    assert funnel_levels(evs, steps, 0, first_time=first_time) == {"u1": level}
    assert _portable_got(evs, steps, 0, first_time, with_ids, str(tmp_path)) == {"u1": level}


@pytest.mark.spark
def test_portable_expression_runs_on_spark(make_workspace):
    """The same expression on PySpark gives the DuckDB levels (distinct and repeated names,
    property filters, first_time)."""
    from funnelscope.analyses.funnel.portable import portable_levels
    from funnelscope.analyses.funnel.spec import make_spec

    rows = [(f"u{u}", name, t, amount) for u in range(40) for name, t, amount in [
        ("view", u % 3, 5), ("view", 2, u % 11), ("cart", 3 + u % 2, 1), ("pay", 4, u % 7),
        ("view", 4, 9), ("pay", 6 + u % 4, 20)] if (u + t) % 5]
    frame = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(rows))],
        "user_id": [r[0] for r in rows], "event": [r[1] for r in rows],
        "ts": [pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=r[2]) for r in rows],
        "amount": [r[3] for r in rows],
    })
    specs = [
        make_spec(["view", "cart", "pay"], "3m"),
        make_spec(["view", "view", "pay"], "4m", first_time=True),
        make_spec(["view", fs.step("view", where={"amount": (">=", 5)}), "pay"], "5m"),
    ]
    ws_duck = make_workspace({"events": frame})
    ws_spark = make_workspace({"events": frame}, backend="pyspark")
    for spec in specs:
        a = portable_levels(ws_duck, spec).execute().sort_values("entity")
        b = portable_levels(ws_spark, spec).execute().sort_values("entity")
        assert a["entity"].tolist() == b["entity"].tolist()
        assert a["level"].astype(int).tolist() == b["level"].astype(int).tolist()


def test_spec_to_sql_needs_no_data_and_runs_on_duckdb():
    import duckdb

    from funnelscope.analyses.funnel.spec import make_spec

    spec = make_spec(["view", fs.step("pay", where={"amount": (">", 100)})], "1d")
    sql = spec.to_sql("duckdb")
    assert "OVER" in sql.upper() and '"amount"' in sql
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE events AS SELECT * FROM (VALUES "
        "('e1', 'a', 'view', TIMESTAMPTZ '2024-01-01 00:00:00+00', NULL, NULL), "
        "('e2', 'a', 'pay', TIMESTAMPTZ '2024-01-01 12:00:00+00', NULL, 150), "
        "('e3', 'b', 'view', TIMESTAMPTZ '2024-01-01 00:00:00+00', NULL, NULL), "
        "('e4', 'b', 'pay', TIMESTAMPTZ '2024-01-01 12:00:00+00', NULL, 50)) "
        "AS t(event_id, user_id, event, ts, account_id, amount)"
    )
    rows = dict(con.execute(sql.replace('"memory"."main".', "")).fetchall())
    assert rows == {"a": 2, "b": 1}
    assert "OVER" in spec.to_sql("spark").upper()


def test_wide_exclusion_blocks_only_its_last_step():
    """signup excluded over steps 1..5 at ts 0: the engine still reaches step 4 (definition)."""
    from .oracle import OEvent, OExclusion, OStep

    events = [OEvent("u1", n, t, {}, f"e{i}") for i, (n, t) in enumerate(
        [("view", 0), ("cart", 0), ("pay", 0), ("signup", 0), ("浏览", 1), ("支付", 1)])]
    steps = [OStep(n) for n in ("view", "cart", "pay", "浏览", "支付")]
    exclude = [OExclusion("signup", 1, 5)]
    ws = workspace_with(events)
    fsteps, fexcl = spec_args(steps, exclude)
    r = ws.funnel(fsteps, window="1us", exclude=fexcl)
    assert engine_levels(r) == funnel_levels(events, steps, 1, exclude=exclude) == {"u1": 4}
