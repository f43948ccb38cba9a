"""The funnel oracle against ClickHouse's ``windowFunnel`` (embedded, through chdb).

Ordered mode with distinct step event names must equal ``windowFunnel(W)`` (default mode)
entity by entity. Strict mode must equal ``windowFunnel(W, 'strict_order')`` where the two
definitions agree (each step event at most once per entity, no equal timestamps), and the
documented differences are pinned with both values.

The data is passed as a ``values(...)`` table function with an explicit non-Nullable schema;
timestamps are UInt64 microseconds, so the window is in microseconds too. Names and values
go through ``funnelscope.sqlsafe`` quoting.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings

from funnelscope.sqlsafe import ident, literal

from .oracle import OEvent, OStep, funnel_levels
from .strategies import PropFilter, funnel_cases, journey_events

pytestmark = pytest.mark.usefixtures("names_unchecked")

chdb_session = pytest.importorskip("chdb.session")

SCHEMA = "entity String, event String, ts UInt64, amount Int64, channel String"
SQL_OPS = {"==": "=", "!=": "!=", ">=": ">=", "<": "<"}
MIN = 60 * 1_000_000


@pytest.fixture(scope="module")
def ch():
    s = chdb_session.Session()
    yield s
    s.close()


def _lit(value) -> str:
    return literal(value, "clickhouse")


def _condition(step: OStep) -> str:
    cond = f"event = {_lit(step.event)}"
    if step.where is not None:
        f = step.where
        assert isinstance(f, PropFilter), "only PropFilter filters translate to SQL"
        cond += f" AND {ident(f.key, 'clickhouse')} {SQL_OPS[f.op]} {_lit(f.value)}"
    return f"({cond})"


def ch_levels(
    ch, events: list[OEvent], steps: list[OStep], window_us: int, option: str | None = None
) -> dict[str, int]:
    """windowFunnel level of every entity in ``events`` (0 when it has no step-1 event)."""
    rows = ", ".join(
        "("
        + ", ".join(
            _lit(v) for v in (e.entity, e.event, e.ts, e.props["amount"], e.props["channel"])
        )
        + ")"
        for e in events
    )
    params = _lit(int(window_us)) + ("" if option is None else ", " + _lit(option))
    conds = ", ".join(_condition(s) for s in steps)
    sql = (
        f"SELECT entity, windowFunnel({params})(ts, {conds}) AS level "
        f"FROM values({_lit(SCHEMA)}, {rows}) GROUP BY entity"
    )
    text = ch.query(sql, "CSV").bytes().decode()
    return {entity: int(level) for entity, level in csv.reader(io.StringIO(text))}


def oracle_levels(events, steps, window_us, mode="ordered") -> dict[str, int]:
    """Oracle levels for every entity in ``events``, 0 where the oracle has none."""
    levels = funnel_levels(events, steps, window_us, mode=mode)
    return {e.entity: levels.get(e.entity, 0) for e in events}


def J(journeys: dict) -> list[OEvent]:
    """Journeys with complete props (ClickHouse columns are non-Nullable)."""
    events = journey_events(journeys)
    for e in events:
        e.props = {"amount": 0, "channel": "ads"} | e.props
    return events


def steps(*names):
    return [OStep(n) for n in names]


# --------------------------------------------------------------------------- default mode


def test_window_boundary_and_ties_match_clickhouse(ch):
    day = "2024-01-01 "
    events = J(
        {
            "exact": [("view", day + "10:00"), ("cart", day + "10:10"), ("pay", day + "10:30")],
            "over": [
                ("view", day + "10:00"),
                ("pay", day + "10:30:00.000001"),
                ("cart", day + "10:10"),
            ],
            "tie_reversed": [
                ("pay", day + "10:00"),
                ("cart", day + "10:00"),
                ("view", day + "10:00"),
            ],
            "latest_start": [
                ("view", day + "09:00"),
                ("view", day + "10:00"),
                ("cart", day + "10:20"),
                ("pay", day + "10:30"),
            ],
            "no_view": [("cart", day + "10:00"), ("pay", day + "10:01")],
            "张三": [("view", day + "10:00"), ("cart", day + "10:40")],
        }
    )
    vcp = steps("view", "cart", "pay")
    expected = {
        "exact": 3,
        "over": 2,
        "tie_reversed": 3,
        "latest_start": 3,
        "no_view": 0,
        "张三": 1,
    }
    assert ch_levels(ch, events, vcp, 30 * MIN) == expected
    assert oracle_levels(events, vcp, 30 * MIN) == expected


def test_zero_window_and_chinese_names_match_clickhouse(ch):
    events = J({"a": [("支付", 5), ("浏览", 5)], "b": [("浏览", 5), ("支付", 6)]})
    s = steps("浏览", "支付")
    assert ch_levels(ch, events, s, 0) == oracle_levels(events, s, 0) == {"a": 2, "b": 1}


@settings(max_examples=250, deadline=None)
@given(
    funnel_cases(
        modes=("ordered",),
        distinct_step_events=True,
        allow_within=False,
        allow_exclusions=False,
        allow_first_time=False,
        complete_props=True,
    )
)
def test_ordered_levels_equal_window_funnel(ch, case):
    events, steps_, window, mode, _, _ = case
    assert ch_levels(ch, events, steps_, window) == oracle_levels(events, steps_, window, mode)


def test_clickhouse_lets_one_event_fill_two_steps_and_we_do_not(ch):
    # repeated step names are outside the equivalence: ClickHouse adds one row per matched
    # condition, so a single view completes view -> view there.
    events = J({"a": [("view", 1)]})
    vv = steps("view", "view")
    assert ch_levels(ch, events, vv, 10) == {"a": 2}
    assert oracle_levels(events, vv, 10) == {"a": 1}


# --------------------------------------------------------------------------- strict mode


@settings(max_examples=150, deadline=None)
@given(
    funnel_cases(
        modes=("strict",),
        distinct_step_events=True,
        allow_within=False,
        allow_exclusions=False,
        allow_first_time=False,
        complete_props=True,
        unique_ts=True,
        step_event_once=True,
    )
)
def test_strict_levels_equal_strict_order_where_definitions_agree(ch, case):
    """Each step event at most once per entity and no equal timestamps: both are the same."""
    events, steps_, window, mode, _, _ = case
    assert ch_levels(ch, events, steps_, window, "strict_order") == oracle_levels(
        events, steps_, window, mode
    )


@pytest.mark.parametrize(
    ("rows", "names", "ours", "clickhouse"),
    [
        # ClickHouse stops the whole scan at the first foreign event after any step-1 event;
        # we let a later view start a clean chain
        ([("view", 1), ("search", 2), ("view", 3), ("pay", 4)], ("view", "pay"), 2, 1),
        # a repeated step event between two chain events breaks ours, not ClickHouse's
        ([("view", 1), ("cart", 2), ("cart", 3), ("pay", 4)], ("view", "cart", "pay"), 2, 3),
        # a foreign event at the same ts as a chain event: ClickHouse sorts it first and stops
        ([("view", 1), ("pay", 2), ("search", 2)], ("view", "pay"), 2, 1),
    ],
)
def test_strict_differs_from_strict_order(ch, rows, names, ours, clickhouse):
    events = J({"a": rows})
    s = steps(*names)
    assert oracle_levels(events, s, 10, mode="strict") == {"a": ours}
    assert ch_levels(ch, events, s, 10, "strict_order") == {"a": clickhouse}
