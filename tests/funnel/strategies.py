"""Hypothesis strategies for funnel tests: event logs and funnel specs that stress the edges.

Logs have several entities, a small event alphabet (step names, other names, Chinese names),
timestamps from a small integer range (so ties and gaps exactly equal to the window are
frequent), repeats, shuffled order and small property dicts ``{"amount": int, "channel": str}``.
Specs have 1..5 steps (names may repeat across steps, e.g. view -> view -> pay), optional
property filters, optional per-step ``within``, optional exclusions and ``first_time``.

Reuse::

    from .strategies import funnel_cases

    @given(funnel_cases(modes=("ordered",)))
    def test_engine_matches_oracle(case):
        events, steps, window_us, mode, exclude, first_time = case

Filters are :class:`PropFilter` objects: callable like a predicate (what the oracle needs) and
inspectable (``key``, ``op``, ``value``) so an engine test can translate them to its own filter
spec. A missing property never matches (like SQL NULL in a comparison).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from .oracle import OEvent, OExclusion, OStep

STEP_NAMES = ("view", "cart", "pay", "浏览", "支付", "signup")
OTHER_NAMES = ("search", "logout", "退出", "refund")
ENTITIES = ("u1", "u2", "u3", "张三", "李四")
CHANNELS = ("ads", "organic", "邮件")
AMOUNTS = (0, 9)  # inclusive range of the "amount" property

_OPS = {"==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<": operator.lt}


@dataclass(frozen=True)
class PropFilter:
    """``props[key] <op> value``; ``op`` in ==, !=, >=, <. False when ``key`` is missing."""

    key: str
    op: str
    value: Any

    def __call__(self, props: dict) -> bool:
        if props.get(self.key) is None:
            return False
        return bool(_OPS[self.op](props[self.key], self.value))

    def __repr__(self) -> str:
        return f"where({self.key} {self.op} {self.value!r})"


@st.composite
def prop_filters(draw) -> PropFilter:
    """A filter on ``amount`` (==, !=, >=, <) or ``channel`` (==, !=)."""
    if draw(st.booleans()):
        return PropFilter("amount", draw(st.sampled_from(list(_OPS))), draw(st.integers(*AMOUNTS)))
    return PropFilter(
        "channel", draw(st.sampled_from(["==", "!="])), draw(st.sampled_from(CHANNELS))
    )


@st.composite
def properties(draw, complete: bool = False) -> dict:
    """``{"amount": int, "channel": str}``; unless ``complete``, a key may be absent."""
    props = {}
    if complete or draw(st.integers(0, 9)) > 0:
        props["amount"] = draw(st.integers(*AMOUNTS))
    if complete or draw(st.integers(0, 9)) > 0:
        props["channel"] = draw(st.sampled_from(CHANNELS))
    return props


@st.composite
def event_logs(
    draw,
    step_names: tuple[str, ...] = STEP_NAMES,
    max_entities: int = 4,
    max_events: int = 9,
    max_ts: int = 20,
    complete_props: bool = False,
    unique_ts: bool = False,
    step_event_once: bool = False,
    walk: tuple[str, ...] = (),
) -> list[OEvent]:
    """Shuffled events of 1..max_entities entities, timestamps in [0, max_ts].

    ``step_names`` are favoured (3 in 4 events) over the other names. With ``walk`` (the step
    names in step order) about half the entities walk a prefix of the funnel in time order
    among their other events, so deep levels are common. ``unique_ts``: no two events of an
    entity share a ts. ``step_event_once``: each of ``step_names`` occurs at most once per
    entity. event_ids are unique and unrelated to input or time order.
    """
    entities = draw(
        st.lists(st.sampled_from(ENTITIES), min_size=1, max_size=max_entities, unique=True)
    )
    others = tuple(n for n in STEP_NAMES + OTHER_NAMES if n not in step_names) or OTHER_NAMES
    rows: list[tuple[str, str, int, dict]] = []
    for entity in entities:
        walked: list[str] = []
        if walk and draw(st.booleans()):
            # the whole funnel half of the time, else a prefix
            m = len(walk) if draw(st.booleans()) else draw(st.integers(1, len(walk)))
            walked = list(walk[: min(m, max_events)])
            if step_event_once:
                walked = list(dict.fromkeys(walked))
        n = draw(st.integers(max(1, len(walked)), max(max_events, len(walked))))
        # the walk: small steps forward in time (0..3, or 1..3 when timestamps are unique)
        walk_ts = [draw(st.integers(0, max_ts))] if walked else []
        for _ in walked[1:]:
            walk_ts.append(walk_ts[-1] + draw(st.integers(1 if unique_ts else 0, 3)))
        taken = set(walk_ts) if unique_ts else set()
        free = st.integers(0, max_ts).filter(lambda t, taken=taken: t not in taken)
        stamps = draw(
            st.lists(free, min_size=n - len(walked), max_size=n - len(walked), unique=unique_ts)
        )
        used: set[str] = set(walked)
        for name, ts in zip(walked, walk_ts, strict=True):
            rows.append((entity, name, ts, draw(properties(complete_props))))
        for ts in stamps:
            pool = [s for s in step_names if not (step_event_once and s in used)]
            if pool and draw(st.integers(0, 3)) > 0:
                name = draw(st.sampled_from(pool))
            else:
                name = draw(st.sampled_from(others))
            used.add(name)
            rows.append((entity, name, ts, draw(properties(complete_props))))
    ids = draw(st.permutations(range(len(rows))))
    events = [
        OEvent(entity=e, event=name, ts=ts, props=props, event_id=f"e{ids[i]:03d}")
        for i, (e, name, ts, props) in enumerate(rows)
    ]
    return list(draw(st.permutations(events)))


@st.composite
def funnel_steps(
    draw,
    max_steps: int = 5,
    distinct_events: bool = False,
    filters: bool = True,
    within: bool = True,
) -> list[OStep]:
    """1..max_steps steps; names may repeat across steps unless ``distinct_events``."""
    k = draw(st.integers(1, max_steps))
    if distinct_events:
        names = draw(st.lists(st.sampled_from(STEP_NAMES), min_size=k, max_size=k, unique=True))
    else:
        # a small pool makes repeats such as view -> view -> pay common
        pool = draw(st.lists(st.sampled_from(STEP_NAMES), min_size=1, max_size=3, unique=True))
        names = draw(st.lists(st.sampled_from(pool), min_size=k, max_size=k))
    steps = []
    for j, name in enumerate(names):
        where = (
            draw(st.none() | prop_filters()) if filters and draw(st.integers(0, 2)) == 0 else None
        )
        gap = (
            draw(st.integers(0, 10)) if within and j > 0 and draw(st.integers(0, 3)) == 0 else None
        )
        steps.append(OStep(name, where=where, within_us=gap))
    return steps


@st.composite
def exclusions(draw, steps: list[OStep], overlap: bool = False) -> list[OExclusion]:
    """0..2 exclusions between steps a < b. Names avoid every step name unless ``overlap``.

    With ``overlap`` a name may equal a step's name, always with a filter on the exclusion
    (an unfiltered exclusion equal to an unfiltered step is a spec error).
    """
    k = len(steps)
    if k < 2:
        return []
    step_names = {s.event for s in steps}
    out = []
    for _ in range(draw(st.integers(0, 2))):
        a = draw(st.integers(1, k - 1))
        b = draw(st.integers(a + 1, k))
        if overlap and draw(st.booleans()):
            name = draw(st.sampled_from(sorted(step_names)))
            where = draw(prop_filters())
        else:
            name = draw(
                st.sampled_from([n for n in STEP_NAMES + OTHER_NAMES if n not in step_names])
            )
            where = draw(st.none() | prop_filters())
        out.append(OExclusion(name, a, b, where=where))
    return out


@st.composite
def funnel_cases(
    draw,
    modes: tuple[str, ...] = ("ordered", "strict", "any"),
    max_steps: int = 5,
    distinct_step_events: bool = False,
    allow_filters: bool = True,
    allow_within: bool = True,
    allow_exclusions: bool = True,
    allow_first_time: bool = True,
    exclusion_overlap: bool = False,
    complete_props: bool = False,
    unique_ts: bool = False,
    step_event_once: bool = False,
    max_entities: int = 4,
    max_events: int = 9,
    max_ts: int = 20,
):
    """A funnel case: ``(events, steps, window_us, mode, exclude, first_time)``.

    The window is drawn from 0..12 or from the actual gaps between timestamps, so gaps exactly
    equal to the window are common. In mode "any" there is never within, exclusion or
    first_time (they are spec errors there).
    """
    mode = draw(st.sampled_from(modes))
    ordered_like = mode != "any"
    steps = draw(
        funnel_steps(
            max_steps=max_steps,
            distinct_events=distinct_step_events,
            filters=allow_filters,
            within=allow_within and ordered_like,
        )
    )
    names = tuple(dict.fromkeys(s.event for s in steps))
    events = draw(
        event_logs(
            step_names=names,
            max_entities=max_entities,
            max_events=max_events,
            max_ts=max_ts,
            complete_props=complete_props,
            unique_ts=unique_ts,
            step_event_once=step_event_once,
            walk=tuple(s.event for s in steps),
        )
    )
    gaps = sorted({abs(a.ts - b.ts) for a in events for b in events if a.entity == b.entity})
    window = draw(st.integers(0, 12) | st.sampled_from(gaps))
    exclude = (
        draw(exclusions(steps, overlap=exclusion_overlap))
        if allow_exclusions and ordered_like
        else []
    )
    first_time = draw(st.booleans()) if allow_first_time and ordered_like else False
    return events, steps, window, mode, exclude, first_time


def journey_events(journeys: dict[str, list[tuple]]) -> list[OEvent]:
    """Readable fixtures -> events: ``{"alice": [("view", "2024-01-01 10:00"), ...]}``.

    Each tuple is ``(event, time)`` or ``(event, time, props)``; time is UTC text
    "YYYY-MM-DD HH:MM[:SS[.ffffff]]" or an int (µs). event_ids are ``"<entity>-<nn>"`` in the
    listed order, so listing order never matters to a result except through event_id.
    """
    out = []
    for entity, rows in journeys.items():
        for n, row in enumerate(rows):
            name, when = row[0], row[1]
            props = row[2] if len(row) > 2 else {}
            out.append(OEvent(entity, name, to_us(when), dict(props), f"{entity}-{n:02d}"))
    return out


def to_us(when: str | int) -> int:
    """UTC text "YYYY-MM-DD HH:MM[:SS[.ffffff]]" (or an int, returned as is) -> epoch µs."""
    if isinstance(when, int):
        return when
    dt = datetime.fromisoformat(when).replace(tzinfo=UTC)
    return (dt - EPOCH) // timedelta(microseconds=1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
