"""The engine (kernel path) equals the brute-force oracle on generated logs, in every mode."""

from __future__ import annotations

import os
from collections import Counter

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import funnelscope as fs
from funnelscope.analyses.funnel.compute import entity_ids

from .engine_case import engine_levels, spec_args, workspace_with
from .oracle import funnel_entries, funnel_levels
from .strategies import funnel_cases, journey_events

SETTINGS = settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _run(events, steps, window, mode, exclude, first_time, **kw):
    ws = workspace_with(events)
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
