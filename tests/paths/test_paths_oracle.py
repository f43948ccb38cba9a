"""The paths engine (DuckDB window functions) equals the plain per-user walk of
``tests/paths/oracle.py`` on hypothesis-generated logs: paths, the top-N table, depth-wise
transitions, the whole-log matrix, sessions and time on step; and the dropped / converted
split equals the funnel oracle's levels (``tests/funnel/oracle.py``).

The logs are built to hit the edges: few users and names (so paths repeat and tie), times on a
5-minute grid with an occasional extra microsecond (so gaps of exactly 30 minutes and of 30
minutes + 1 µs both occur), ties on ts broken by event_id or, without one, by event name, and
names that need quoting in SQL (``it's``, ``支付``).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.analyses.event_names import unchecked_event_names
from tests.funnel.oracle import OEvent, OStep, funnel_levels

from . import oracle
from .oracle import Ev

SETTINGS = settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NAMES = ["a", "b", "c", "it's", "支付"]
USERS = ["u1", "u2", "u3", "u4"]
BASE = 1_767_225_600_000_000  # 2026-01-01 00:00 UTC, µs
MINUTE = 60_000_000
GAP_30M = 30 * MINUTE


@st.composite
def logs(draw, max_events: int = 28) -> list[Ev]:
    n = draw(st.integers(0, max_events))
    ids = draw(st.permutations(range(n)))
    rows: list[Ev] = []
    seen: set = set()
    for i in range(n):
        user = draw(st.sampled_from(USERS))
        name = draw(st.sampled_from(NAMES))
        ts = BASE + draw(st.integers(0, 40)) * 5 * MINUTE + draw(st.sampled_from([0, 0, 0, 1]))
        event_id = f"e{ids[i]:02d}" if draw(st.booleans()) else None
        if event_id is None:  # ingest keeps one of identical id-less rows: so does the oracle
            if (user, name, ts) in seen:
                continue
            seen.add((user, name, ts))
        rows.append(Ev(user, name, ts, event_id))
    return rows


def workspace(events: list[Ev]):
    ws = fs.connect(tz="UTC")
    if events:
        frame = pd.DataFrame({
            "event_id": pd.Series([e.event_id for e in events], dtype="string"),
            "user_id": [e.user for e in events], "event": [e.event for e in events],
            "ts": pd.to_datetime([e.ts for e in events], unit="us", utc=True)})
        ws.load(frame, "events")
    return ws


requests = st.fixed_dictionaries({
    "anchor": st.sampled_from(["after", "before", "to", None]),
    "name": st.sampled_from(NAMES),
    "occurrence": st.sampled_from(["first", "last"]),
    "depth": st.integers(1, 4),
    "within": st.sampled_from([None, 0, 10 * MINUTE, GAP_30M, 2 * 60 * MINUTE]),
    "keep_repeats": st.booleans(),
    "top": st.integers(1, 6),
    "matrix": st.booleans(),
    "gap": st.sampled_from([GAP_30M, 10 * MINUTE, 5 * MINUTE + 1]),
})


def _kwargs(req: dict) -> dict:
    kw = {"depth": req["depth"], "keep_repeats": req["keep_repeats"], "top": req["top"],
          "matrix": req["matrix"], "session_gap": f"{req['gap']}us",
          "within": None if req["within"] is None else f"{req['within']}us"}
    if req["anchor"] is not None:
        kw[req["anchor"]] = req["name"]
        if req["anchor"] != "to":
            kw["occurrence"] = req["occurrence"]
    return kw


def close(got, want) -> bool:
    """Equal, up to the last bits of DuckDB's parallel float sums; None only for None."""
    if want is None or got is None:
        return got is None and want is None
    return got == pytest.approx(want, rel=1e-9, abs=1e-9)


def check_against_oracle(result, events: list[Ev], req: dict, users: set[str] | None = None):
    anchor = req["anchor"]
    per_user = oracle.user_paths(
        events, depth=req["depth"], within_us=req["within"], keep_repeats=req["keep_repeats"],
        occurrence=req["occurrence"] if anchor in ("after", "before") else "first",
        users=users, **({anchor: req["name"]} if anchor else {}))
    data = result.to_dict()
    assert result.meta["anchored_users"] == len(per_user)
    assert data["paths"] == oracle.top_paths(per_user, req["top"])
    anchored = set(per_user)
    if req["matrix"]:
        want = oracle.matrix(events, anchored, req["keep_repeats"])
        got = {(r["from"], r["to"]): (r["transitions"], r["users"]) for r in data["transitions"]}
        assert got == want
        out_of: dict = {}
        for (a, _), (n, _) in want.items():
            out_of[a] = out_of.get(a, 0) + n
        for r in data["transitions"]:
            assert r["share"] == r["transitions"] / out_of[r["from"]]
    else:
        want = oracle.path_transitions(per_user, backwards=anchor in ("before", "to"))
        got = {(r["depth"], r["from"], r["to"]): r["users"] for r in data["transitions"]}
        assert got == want
    all_sessions = oracle.sessions(events, anchored, req["gap"])
    summary = oracle.session_summary(all_sessions)
    row = data["sessions"][0]
    for key, value in summary.items():
        assert close(row[key], value), (key, row[key], value)
    steps = {r["event"]: r for r in data["time_on_step"]}
    want_steps = oracle.time_on_step(all_sessions)
    assert set(steps) == set(want_steps)
    for name, want_row in want_steps.items():
        for key, value in want_row.items():
            assert close(steps[name][key], value), (name, key, steps[name][key], value)


@SETTINGS
@given(logs(), st.lists(requests, min_size=1, max_size=3))
def test_paths_transitions_and_sessions_match_the_oracle(events, reqs):
    ws = workspace(events)  # loading is the slow part: several requests per log
    try:
        if not events:
            return
        for req in reqs:
            with unchecked_event_names():
                result = ws.paths(**_kwargs(req))
            check_against_oracle(result, events, req)
    finally:
        ws.close()


funnels = st.fixed_dictionaries({
    "steps": st.lists(st.sampled_from(NAMES), min_size=2, max_size=3, unique=True),
    "at": st.integers(0, 1),
    "window": st.sampled_from([10 * MINUTE, GAP_30M, 3 * 60 * MINUTE]),
    "mode": st.sampled_from(["ordered", "strict"]),
    "kept": st.sampled_from(["dropped", "converted"]),
    "anchor": st.sampled_from(["after", "before"]),
})


@SETTINGS
@given(logs(), funnels, requests)
def test_dropped_and_converted_users_are_the_funnel_oracles(events, funnel, req):
    """dropped: funnel level == the anchor step; converted: level > it (the funnel oracle)."""
    steps = funnel["steps"]
    j = min(funnel["at"], len(steps) - 2) + 1  # never the last step
    anchor = steps[j - 1]
    ws = workspace(events)
    try:
        if not events:
            return
        req = {**req, "anchor": funnel["anchor"], "name": anchor}
        kw = {**_kwargs(req), "steps": steps, "window": f"{funnel['window']}us",
              "mode": funnel["mode"], funnel["kept"]: True}
        with unchecked_event_names():
            result = ws.paths(**kw)
        levels = funnel_levels(
            [OEvent(e.user, e.event, e.ts, event_id=e.event_id or f"auto{i}")
             for i, e in enumerate(events)],
            [OStep(s) for s in steps], funnel["window"], mode=funnel["mode"])
        users = {u for u, lv in levels.items() if (lv == j if funnel["kept"] == "dropped" else lv > j)}
        assert result.meta["funnel"]["reached_step"] == sum(1 for lv in levels.values() if lv >= j)
        check_against_oracle(result, events, req, users=users)
        assert result.meta["users"] == len(users & {e.user for e in events})
    finally:
        ws.close()
