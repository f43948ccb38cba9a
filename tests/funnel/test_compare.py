"""Compared funnels (``ws.funnel(..., compare=...)`` / ``compare_by=...``) against oracles.

Counts: the brute-force per-entity oracle of ``oracle.py`` on small generated event logs. A
period's funnel is the definition read literally: every event of the log is given to the
oracle, and the first step matches only events whose time is inside the period (midnight to
midnight in the reporting time zone, computed here with zoneinfo); the engine instead bounds
the events it reads and filters the first step in SQL. Groups: the oracle's entry event's
``channel`` (event property) or a customers column, counted per group.

Statistics: statsmodels, independently of ``analyses/experiment/stats.py``:
``proportions_ztest`` (pooled two-proportion z test) and
``confint_proportions_2indep(method="wald", compare="diff")`` (unpooled Wald interval).
"""

from __future__ import annotations

import csv
import io
import math
import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.analyses.funnel.compare import FunnelComparison, parse_compare
from funnelscope.errors import ConfigError

from .engine_case import events_frame
from .oracle import OEvent, OStep, funnel_entries, funnel_levels, step_counts

pytestmark = pytest.mark.usefixtures("names_unchecked")

SETTINGS = settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "30")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TZ = "Asia/Shanghai"
DAY0 = date(2026, 1, 5)  # the generated logs cover DAY0 .. DAY0 + 3 (reporting time zone)
HOUR_US = 3_600_000_000
NAMES = ("view", "cart", "pay", "search")
USERS = ("u1", "u2", "u3", "u4", "张三", "李四")
CHANNELS = ("ads", "organic", None)
_OPEN: list = []  # the last workspace stays open (results hold a weak reference)


def local_midnight_us(day: date, tz: str = TZ) -> int:
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return round((start - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


# ----- generated logs -----------------------------------------------------------------------
@st.composite
def event_logs(draw) -> list[OEvent]:
    """2..40 events of a few users over four local days, times in 20-minute steps (so day
    boundaries and ties are frequent), channel on some events."""
    n = draw(st.integers(2, 40))
    base = local_midnight_us(DAY0)
    events = []
    for i in range(n):
        ts = base + draw(st.integers(0, 4 * 72 - 1)) * 20 * 60_000_000
        channel = draw(st.sampled_from(CHANNELS))
        events.append(OEvent(draw(st.sampled_from(USERS)), draw(st.sampled_from(NAMES)), ts,
                             {} if channel is None else {"channel": channel}, f"e{i}"))
    return events


@st.composite
def day_periods(draw) -> list[tuple[date, date]]:
    """Two or three non-overlapping day ranges inside DAY0 .. DAY0 + 4 (the last day has no
    events, so some periods are empty), in any order."""
    days = sorted(draw(st.lists(st.integers(0, 4), min_size=4, max_size=6, unique=True)))
    k = draw(st.sampled_from([2, 3])) if len(days) >= 6 else 2
    ranges = [(DAY0 + timedelta(days[2 * i]), DAY0 + timedelta(days[2 * i + 1]))
              for i in range(k)]
    return draw(st.permutations(ranges))


def workspace(events: list[OEvent], customers: pd.DataFrame | None = None):
    ws = fs.connect()
    ws.config.timezone = TZ
    ws.load(events_frame(events), "events")
    if customers is not None:
        ws.load(customers, "customers")
    _OPEN[:] = [ws]
    return ws


def compare_text(periods) -> str:
    return "period:" + ",".join(f"{a.isoformat()}..{b.isoformat()}" for a, b in periods)


# ----- oracles ------------------------------------------------------------------------------
def oracle_period_counts(events, steps, window_us, mode, count, first, last) -> list[int]:
    """Counts per step of the funnel whose entries start on first..last (inclusive days)."""
    lo = None if first is None else local_midnight_us(first)
    hi = None if last is None else local_midnight_us(last + timedelta(days=1))

    def inside(ts: int) -> bool:
        return (lo is None or ts >= lo) and (hi is None or ts < hi)

    if mode == "any":  # no first step: the events inside the period
        kept = [e for e in events if inside(e.ts)]
        levels = funnel_levels(kept, steps, window_us, mode="any").values()
        return [sum(1 for v in levels if v >= j) for j in range(1, len(steps) + 1)]
    # the period test reads the time the oracle stores in the event's props
    timed = [OEvent(e.entity, e.event, e.ts, {**e.props, "_ts": e.ts}, e.event_id)
             for e in events]
    first_step = OStep(steps[0].event, where=lambda p: inside(p["_ts"]))
    return step_counts(timed, [first_step, *steps[1:]], window_us, mode=mode, count=count)


def statsmodels_row(x_ref: int, n_ref: int, x: int, n: int) -> dict:
    """difference, Wald CI and pooled z p-value of funnel (x, n) vs reference (x_ref, n_ref)."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    diff = x / n - x_ref / n_ref
    low, high = confint_proportions_2indep(x, n, x_ref, n_ref, method="wald", compare="diff",
                                           alpha=0.05)
    pooled = (x + x_ref) / (n + n_ref)
    if pooled in (0.0, 1.0):  # zero variance: no test (statsmodels would divide by 0)
        p = None
    else:
        _z, p = proportions_ztest([x, x_ref], [n, n_ref])
    return {"difference": diff, "ci_low": float(low), "ci_high": float(high),
            "p_value": None if p is None else float(p),
            "relative": (x / n) / (x_ref / n_ref) - 1 if x_ref else None}


def check_against(result: FunnelComparison, expected: dict[str, list[int]]) -> None:
    """Counts equal exactly; rates and statistics equal the statsmodels numbers."""
    labels = list(expected)
    assert result.labels == labels
    data = result.to_dict()
    for f, label in zip(data["funnels"], labels, strict=True):
        counts = expected[label]
        assert [s["entities"] for s in f["steps"]] == counts
        assert [s["from_start"] for s in f["steps"]] == pytest.approx([c / counts[0] for c in counts])
        assert [s["from_previous"] for s in f["steps"]] == pytest.approx(
            [c / p if p else None for c, p in zip(counts, [counts[0], *counts[:-1]], strict=True)])
    ref = expected[labels[0]]
    assert [c["label"] for c in data["comparisons"]] == labels[1:]
    for c in data["comparisons"]:
        assert c["reference"] == labels[0]
        counts = expected[c["label"]]
        for s, x_ref, x in zip(c["steps"], ref, counts, strict=True):
            want = statsmodels_row(x_ref, ref[0], x, counts[0])
            for key in ("difference", "ci_low", "ci_high", "p_value", "relative"):
                if want[key] is None:
                    assert s[key] is None, (key, s)
                else:
                    assert s[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), (key, s)
            assert s["significant"] == (want["p_value"] is not None and want["p_value"] < 0.05)


# ----- periods ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,count", [("ordered", "uniques"), ("ordered", "totals"),
                                        ("strict", "uniques"), ("any", "uniques")])
def test_periods_match_oracle(mode, count):
    @SETTINGS
    @given(event_logs(), day_periods(), st.integers(1, 30),
           st.sampled_from([["view", "cart", "pay"], ["view", "pay"], ["view", "view", "pay"]]))
    def check(events, periods, window_hours, names):
        steps = [OStep(n) for n in names]
        window_us = window_hours * HOUR_US
        expected = {f"{a.isoformat()}..{b.isoformat()}":
                    oracle_period_counts(events, steps, window_us, mode, count, a, b)
                    for a, b in periods}
        ws = workspace(events)
        call = lambda: ws.funnel(names, f"{window_hours}h", mode=mode, count=count,  # noqa: E731
                                 compare=compare_text(periods))
        empty = [label for label, counts in expected.items() if counts[0] == 0]
        event("empty period" if empty else "compared")
        if empty:
            with pytest.raises(ConfigError, match="has no entrants"):
                call()
            return
        check_against(call(), expected)

    check()


def test_before_after_matches_oracle():
    @SETTINGS
    @given(event_logs(), st.integers(1, 3), st.integers(1, 30))
    def check(events, offset, window_hours):
        day = DAY0 + timedelta(days=offset)
        steps = [OStep("view"), OStep("cart"), OStep("pay")]
        window_us = window_hours * HOUR_US
        expected = {
            f"before {day}": oracle_period_counts(events, steps, window_us, "ordered", "uniques",
                                                  None, day - timedelta(days=1)),
            f"from {day}": oracle_period_counts(events, steps, window_us, "ordered", "uniques",
                                                day, None),
        }
        ws = workspace(events)
        call = lambda: ws.funnel(["view", "cart", "pay"], f"{window_hours}h",  # noqa: E731
                                 compare=f"before:{day}")
        if any(c[0] == 0 for c in expected.values()):
            with pytest.raises(ConfigError, match="has no entrants"):
                call()
            return
        check_against(call(), expected)

    check()


# ----- groups -------------------------------------------------------------------------------
def _group_key(label: str) -> tuple[int, str]:
    return (label == "(none)", label)


def test_compare_by_event_property_matches_oracle():
    """Groups of the entry event's channel (the reported chain's first event, as --by)."""

    @SETTINGS
    @given(event_logs(), st.integers(1, 30))
    def check(events, window_hours):
        steps = [OStep("view"), OStep("cart"), OStep("pay")]
        props = {e.event_id: e.props for e in events}
        groups: dict[str, list[int]] = {}
        for entry in funnel_entries(events, steps, window_hours * HOUR_US):
            label = props[entry.entry_event_id].get("channel") or "(none)"
            groups.setdefault(label, []).append(entry.level)
        expected = {g: [sum(1 for v in groups[g] if v >= j) for j in (1, 2, 3)]
                    for g in sorted(groups, key=_group_key)}
        ws = workspace(events)
        call = lambda: ws.funnel(["view", "cart", "pay"], f"{window_hours}h",  # noqa: E731
                                 compare_by="channel")
        if len(expected) < 2:
            with pytest.raises(ConfigError, match="compare_by|no entrants"):
                call()
            return
        check_against(call(), expected)

    check()


def test_compare_by_customers_column_matches_oracle():
    @SETTINGS
    @given(event_logs(), st.dictionaries(st.sampled_from(USERS), st.sampled_from(["A", "B", "C"]),
                                         min_size=1), st.sampled_from(["ordered", "strict"]))
    def check(events, variant, mode):
        steps = [OStep("view"), OStep("pay")]
        levels = funnel_levels(events, steps, 24 * HOUR_US, mode=mode)
        groups: dict[str, list[int]] = {}
        for user, level in levels.items():
            groups.setdefault(variant.get(user, "(none)"), []).append(level)
        expected = {g: [sum(1 for v in groups[g] if v >= j) for j in (1, 2)]
                    for g in sorted(groups, key=_group_key)}
        customers = pd.DataFrame({"user_id": list(variant), "variant": list(variant.values())})
        ws = workspace(events, customers)
        call = lambda: ws.funnel(["view", "pay"], "1d", mode=mode, compare_by="variant")  # noqa: E731
        if len(expected) < 2:
            with pytest.raises(ConfigError):
                call()
            return
        check_against(call(), expected)

    check()


# ----- a fixed log: JSON shape, CSV, table, chart, errors ----------------------------------
def _at(day: int, hour: int) -> int:
    return local_midnight_us(DAY0 + timedelta(days=day)) + hour * HOUR_US


JOURNEYS = {  # day 0 and day 1 entries; alice enters on both days
    "alice": [("view", 0, 10), ("pay", 0, 12), ("view", 1, 9)],
    "bob": [("view", 0, 23), ("cart", 1, 1), ("pay", 1, 2)],  # enters day 0, pays on day 1
    "carol": [("view", 1, 8), ("cart", 1, 9)],
    "dave": [("view", 1, 20)],
    "erin": [("view", 0, 5)],
}
PLATFORM = {"alice": "ios", "bob": "ios", "carol": "web", "dave": "web", "erin": "web"}


def journey_events() -> list[OEvent]:
    return [OEvent(user, name, _at(d, h), {"channel": PLATFORM[user]}, f"{user}{i}")
            for user, evs in JOURNEYS.items() for i, (name, d, h) in enumerate(evs)]


@pytest.fixture
def journeys_ws():
    return workspace(journey_events())


PERIODS = f"period:{DAY0}..{DAY0},{DAY0 + timedelta(days=1)}..{DAY0 + timedelta(days=1)}"


def test_entry_periods_by_hand(journeys_ws):
    """Read off JOURNEYS: day 0 entrants alice, bob, erin (bob pays after midnight, still his
    day-0 entry); day 1 entrants alice (again), carol, dave."""
    r = journeys_ws.funnel(["view", "cart", "pay"], "1d", compare=PERIODS)
    assert isinstance(r, FunnelComparison)
    counts = {f["label"]: [s["entities"] for s in f["steps"]] for f in r.funnels}
    assert counts == {f"{DAY0}..{DAY0}": [3, 1, 1],
                      f"{DAY0 + timedelta(days=1)}..{DAY0 + timedelta(days=1)}": [3, 1, 0]}
    data = r.to_dict()
    assert set(data) == {"funnels", "comparisons", "spec", "meta"}
    assert data["funnels"][0]["spec"] == {"entry_from": str(DAY0), "entry_to": str(DAY0)}
    assert set(data["funnels"][0]["steps"][0]) >= {"step", "entities", "from_start",
                                                   "from_previous"}
    assert set(data["comparisons"][0]["steps"][0]) >= {"step", "difference", "ci_low", "ci_high",
                                                       "p_value", "relative"}
    assert data["spec"]["compare"]["kind"] == "period"
    assert data["meta"]["reference"] == f"{DAY0}..{DAY0}"


def test_compare_by_and_plot(journeys_ws):
    r = journeys_ws.funnel(["view", "pay"], "1d", compare_by="channel")
    assert r.labels == ["ios", "web"]
    assert [[s["entities"] for s in f["steps"]] for f in r.funnels] == [[2, 2], [3, 0]]
    fig = r.plot()
    assert [tr.name for tr in fig.data] == ["ios", "web"]
    assert fig.layout.barmode == "group"
    assert list(fig.data[0].y) == [1.0, 1.0] and list(fig.data[1].y) == [1.0, 0.0]
    assert fig.data[1].error_y.array is not None
    assert "channel" in fig.layout.title.text
    zh = r.plot(lang="zh")
    assert "对比" in zh.layout.title.text
    assert "与基准之差" in zh.data[1].hovertext[1]


@pytest.mark.parametrize("compare,message", [
    ("period:2026-01-01..2026-01-31", "at least two periods"),
    ("period:2026-01-01..2026-01-31,2026-01-31..2026-02-28", "overlap"),
    ("period:2026-02-01..2026-01-01,2026-03-01..2026-03-31", "ends before it starts"),
    ("period:2026-01-01..2026-01-3x,2026-02-01..2026-02-28", "cannot read the day"),
    ("periods:2026-01-01..2026-01-31,2026-02-01..2026-02-28", "cannot read compare"),
    ("2026-01-01..2026-01-31", "cannot read compare"),
    ("before:March", "cannot read the day"),
])
def test_grammar_errors(compare, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_compare(compare)
    assert info.value.hint


def test_grammar_single_days_and_full_width_commas():
    kind, ranges = parse_compare("period:2026-01-02，2026-01-01..2026-01-01")
    assert kind == "period"
    assert [(r.first_day, r.last_day) for r in ranges] == [
        (date(2026, 1, 2), date(2026, 1, 2)), (date(2026, 1, 1), date(2026, 1, 1))]
    kind, ranges = parse_compare("before:2026-03-01")
    assert [r.to_dict() for r in ranges] == [{"entry_from": None, "entry_to": "2026-02-28"},
                                              {"entry_from": "2026-03-01", "entry_to": None}]


@pytest.mark.parametrize("kwargs,message", [
    ({"compare": PERIODS, "by": "channel"}, "--by"),
    ({"compare_by": "channel", "by": "channel"}, "--by"),
    ({"compare": PERIODS, "period": "week"}, "--period"),
    ({"compare": PERIODS, "start": str(DAY0)}, "--start"),
    ({"compare": PERIODS, "compare_by": "channel"}, "not both"),
])
def test_conflicting_options(journeys_ws, kwargs, message):
    with pytest.raises(ConfigError, match=message) as info:
        journeys_ws.funnel(["view", "pay"], "1d", **kwargs)
    assert info.value.hint


def test_empty_period_and_single_value(journeys_ws):
    with pytest.raises(ConfigError, match=r"2026-03-01\.\.2026-03-31 has no entrants"):
        journeys_ws.funnel(["view", "pay"], "1d",
                           compare=f"period:{DAY0}..{DAY0},2026-03-01..2026-03-31")
    with pytest.raises(ConfigError, match="same value"):
        journeys_ws.funnel(["view", "pay"], "1d", compare_by="channel",
                           where={"channel": "web"})


def test_unknown_event_names_raise(journeys_ws):
    """A typo is an error naming the event, not a comparison of zeros."""
    from funnelscope.analyses.event_names import UnknownEventError, _checking

    token = _checking.set(True)  # this module runs unchecked otherwise (conftest)
    try:
        for kwargs in ({"compare": PERIODS}, {"compare_by": "channel"}):
            with pytest.raises(UnknownEventError, match="payy"):
                journeys_ws.funnel(["view", "payy"], "1d", **kwargs)
    finally:
        _checking.reset(token)


# ----- the CLI: table, CSV, errors ------------------------------------------------------------
def cli(capsys, *args):
    from funnelscope.cli.app import main

    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def journeys_file(tmp_path):
    path = tmp_path / "events.parquet"
    events_frame(journey_events()).drop(columns=["amount"]).to_parquet(path)
    return path


def test_cli_csv_table_and_errors(capsys, journeys_file):
    base = ["funnel", "--events", journeys_file, "--tz", TZ, "--steps", "view,cart,pay",
            "--window", "1d"]
    code, out, err = cli(capsys, *base, "--compare", PERIODS, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:9] == ["label", "reference", "step", "step_index", "entities",
                                 "from_start", "from_previous", "difference", "ci_low"]
    assert len(rows) == 2 * 3
    assert [int(r["entities"]) for r in rows] == [3, 1, 1, 3, 1, 0]
    assert {r["reference"] for r in rows[3:]} == {f"{DAY0}..{DAY0}"}
    assert all(r["difference"] == "" for r in rows[:3])  # the reference's own rows
    same, out2, _ = cli(capsys, *base, "--compare", PERIODS, "--format", "csv", "--table",
                        "compare")
    assert same == 0 and out2 == out
    code, out, err = cli(capsys, *base, "--compare", PERIODS, "--format", "csv", "--table",
                         "groups")
    assert code == 2 and "--table compare" in err
    code, out, err = cli(capsys, *base, "--format", "csv", "--table", "compare")
    assert code == 2 and "--compare" in err  # a plain funnel has no compare table

    code, out, err = cli(capsys, *base, "--compare-by", "channel")
    assert code == 0, err
    assert "reference: ios" in out and "web" in out and "pp" in out

    code, out, err = cli(capsys, *base, "--compare", PERIODS, "--by", "channel")
    assert code == 2 and "--by" in err
    code, out, err = cli(capsys, *base, "--compare", "period:2026-01-01..2026-01-31,"
                         "2026-01-15..2026-02-15")
    assert code == 2 and "overlap" in err


def test_statsmodels_reference_numbers_are_independent():
    """The oracle helper itself on a textbook case: 30/100 vs 45/100 (R prop.test without
    continuity correction gives X-squared = 4.8, p = 0.02846)."""
    row = statsmodels_row(30, 100, 45, 100)
    assert row["difference"] == pytest.approx(0.15)
    assert row["p_value"] == pytest.approx(0.028459736916, rel=1e-6)
    se = math.sqrt(0.3 * 0.7 / 100 + 0.45 * 0.55 / 100)
    assert row["ci_low"] == pytest.approx(0.15 - 1.959963984540054 * se)
