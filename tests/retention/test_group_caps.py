"""Breakdowns (``by=``) of retention and churn keep the top N groups and sum the rest into
"other", like the funnel: checked against a plain-Python oracle on 50 groups, with totals
preserved. Also: every event name option of retention / activity / churn / AARRR is checked
(an unknown name is an error with "did you mean", never a table of zeros)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

import funnelscope as fs
from funnelscope.analyses.event_names import UnknownEventError
from funnelscope.analyses.funnel.result import OTHER as FUNNEL_OTHER
from funnelscope.analyses.funnel.spec import FunnelSpec
from funnelscope.analyses.retention import aarrr, activity, churn, retention
from funnelscope.analyses.retention.sources import OTHER, TOP_GROUPS
from funnelscope.errors import SpecError

START = datetime(2024, 1, 1, 10, tzinfo=UTC)
GROUPS = [f"g{i:02d}" for i in range(50)]


def _journeys():
    """Group g_i has i + 1 users (sizes 1..50: no ties). User j of a group opens the app on
    day 0, comes back on day 1 when j is even and on day 3 when j % 3 == 0; one user of the
    largest group opens it on day 9 (the data end, so days 0..9 are complete)."""
    rows = []
    for i, g in enumerate(GROUPS):
        for j in range(i + 1):
            u = f"{g}-u{j}"
            rows.append((u, "open", START, g))
            if j % 2 == 0:
                rows.append((u, "open", START + timedelta(days=1), g))
            if j % 3 == 0:
                rows.append((u, "open", START + timedelta(days=3), g))
    rows.append(("g49-u0", "open", START + timedelta(days=9), "g49"))
    return rows


def _ws(rows):
    ws = fs.connect()
    t = pa.table({
        "event_id": pa.array([str(i) for i in range(len(rows))]),
        "user_id": pa.array([r[0] for r in rows]),
        "event": pa.array([r[1] for r in rows]),
        "ts": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        "channel": pa.array([r[3] for r in rows]),
    })
    ws.duckdb.register("fs_rows", t)
    ws.duckdb.execute("CREATE TABLE events AS SELECT * FROM fs_rows")
    ws.duckdb.unregister("fs_rows")
    return ws


def _oracle(rows, top):
    """{group or "other": (size, [retained on day k for k in 0..3])}, groups by first-touch
    channel, top ``top`` by users (ties by name), the rest summed."""
    first: dict[str, tuple] = {}
    days: dict[str, set] = defaultdict(set)
    for u, _, ts, ch in sorted(rows, key=lambda r: (r[2], r[3])):
        first.setdefault(u, (ts, ch))
        days[u].add((ts.date() - START.date()).days)
    sizes: dict[str, int] = defaultdict(int)
    for _, ch in first.values():
        sizes[ch] += 1
    kept = sorted(sizes, key=lambda g: (-sizes[g], g))[:top]
    out: dict[str, list] = {}
    for u, (_, ch) in first.items():
        g = ch if ch in kept else OTHER
        rec = out.setdefault(g, [0, [0, 0, 0, 0]])
        rec[0] += 1
        for k in range(4):
            rec[1][k] += k in days[u]
    return {g: (n, ret) for g, (n, ret) in out.items()}, kept


def test_shared_constants():
    assert TOP_GROUPS == FunnelSpec.top_groups == 20
    assert OTHER == FUNNEL_OTHER == "other"


@pytest.mark.parametrize("top", [TOP_GROUPS, 5, 50, 60])
def test_retention_keeps_top_groups_and_sums_the_rest(top):
    rows = _journeys()
    ws = _ws(rows)
    kwargs = {} if top == TOP_GROUPS else {"top_groups": top}
    r = retention(ws, by="channel", period="day", periods=3, **kwargs)
    cells = r.tables["cells"]
    got = {}
    for g, part in cells.groupby("group", sort=False):
        part = part.sort_values("period")
        got[g] = (int(part["size"].iloc[0]), [int(x) for x in part["retained"]])
    want, kept = _oracle(rows, top)
    assert got == want
    assert len(got) == min(top, 50) + (1 if top < 50 else 0)
    assert list(cells["group"].drop_duplicates())[-1] == (OTHER if top < 50 else "g49")
    # totals preserved: the breakdown sums to the retention without breakdown
    total = retention(ws, period="day", periods=3).tables["cells"].sort_values("period")
    assert sum(n for n, _ in got.values()) == int(total["size"].iloc[0]) == sum(range(1, 51))
    for k in range(4):
        assert sum(ret[k] for _, ret in got.values()) == int(total["retained"].iloc[k])
    avg = r.tables["average_by"]
    assert set(avg["group"]) == set(want)


def test_churn_keeps_top_groups_and_sums_the_rest():
    rows = _journeys()
    ws = _ws(rows)
    r = churn(ws, by="channel", inactivity_days=2, period="day")
    life = r.tables["lifetime"].set_index("group")
    want, kept = _oracle(rows, TOP_GROUPS)
    assert list(life.index) == sorted(kept) + [OTHER]
    assert {g: int(life.loc[g, "customers"]) for g in life.index} == {g: n for g, (n, _) in want.items()}
    plain = churn(ws, inactivity_days=2, period="day").tables["lifetime"].iloc[0]
    for col in ("customers", "churned", "censored"):
        assert int(life[col].sum()) == int(plain[col])
    periods = r.tables["periods"]
    assert set(periods["group"]) == set(want)
    assert int(periods["new"].sum()) == int(churn(ws, inactivity_days=2, period="day")
                                            .tables["periods"]["new"].sum())


def test_folding_keeps_value_types_of_kept_groups():
    rows = [(u, "open", START + timedelta(hours=i), str(g)) for i, (u, g) in
            enumerate([("a", 1), ("b", 1), ("c", 2)])]
    ws = _ws(rows)
    ws.duckdb.execute("CREATE OR REPLACE TABLE events AS SELECT * REPLACE (CAST(channel AS INTEGER) AS channel) FROM events")
    r = retention(ws, by="channel", period="day", periods=1, top_groups=1)
    assert list(r.tables["cells"]["group"].drop_duplicates()) == [1, OTHER]
    assert list(retention(ws, by="channel", period="day", periods=1).tables["cells"]["group"]
                .drop_duplicates()) == [1, 2]


def test_top_groups_is_validated():
    ws = _ws(_journeys())
    with pytest.raises(SpecError, match="top_groups"):
        retention(ws, by="channel", top_groups=0)


# ----- every event name option is checked ------------------------------------------------------
@pytest.mark.parametrize("call, what", [
    (lambda ws: retention(ws, start="Open"), "start"),
    (lambda ws: retention(ws, returning=["open", "opn"]), "returning"),
    (lambda ws: activity(ws, events="OPEN"), "events"),
    (lambda ws: churn(ws, events="opne"), "events"),
    (lambda ws: churn(ws, cancel_event="open_"), "cancel_event"),
    (lambda ws: aarrr(ws, signup="Open"), "signup"),
    (lambda ws: aarrr(ws, activation_event="opened"), "activation_event"),
    (lambda ws: aarrr(ws, referral_event="Open "), "referral_event"),
])
def test_unknown_event_names_are_errors(call, what):
    ws = _ws(_journeys())
    with pytest.raises(UnknownEventError, match=f"^{what}: no event named .*did you mean 'open'") as exc:
        call(ws)
    assert exc.value.code == "unknown_event" and exc.value.what == what
    assert "funnelscope events --workspace" in exc.value.hint
