"""What a funnel is: steps, window, mode and options, validated on construction.

The exact semantics are in docs/funnels.md. A spec holds no data and runs nowhere by itself:
``funnelscope.analyses.funnel.run(ws, spec)`` evaluates it on a workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from funnelscope.durations import describe, to_microseconds
from funnelscope.errors import SpecError

MODES = ("ordered", "strict", "any")
COUNTS = ("uniques", "totals")
ENTITIES = ("user", "account")
PERIODS = ("day", "week", "month")
OPERATORS = ("=", "==", "!=", ">", ">=", "<", "<=", "in", "not in", "contains", "is null",
             "is not null")
MAX_STEPS = 32


def _normalise_where(where: Any, what: str) -> tuple[tuple[str, str, Any], ...]:
    """``{"amount": (">", 100), "channel": "ads", "city": ["北京", "上海"]}`` -> conditions."""
    if where is None:
        return ()
    if not isinstance(where, dict):
        raise SpecError(f"{what}: where must be a dict of property -> condition, got {where!r}.")
    out = []
    for prop, cond in where.items():
        if not isinstance(prop, str) or not prop:
            raise SpecError(f"{what}: property names must be non-empty strings, got {prop!r}.")
        if isinstance(cond, tuple) and len(cond) == 2 and isinstance(cond[0], str):
            op, value = cond[0].lower().strip(), cond[1]
        elif isinstance(cond, (list, set, frozenset)):
            op, value = "in", tuple(cond)
        else:
            op, value = "=", cond
        if op not in OPERATORS:
            raise SpecError(
                f"{what}: unknown operator {op!r} for property {prop!r}.",
                hint=f"Use one of: {', '.join(OPERATORS)}.",
            )
        if op in ("in", "not in"):
            value = tuple(value)
        out.append((prop, op, value))
    return tuple(sorted(out, key=lambda c: (c[0], c[1], repr(c[2]))))


@dataclass(frozen=True)
class Step:
    """One funnel step: an event name, optional property filters, optional gap bound.

    ``within_us``: the step's event must happen at most this long after the previous step's
    event (inclusive). Build with :func:`step`.
    """

    event: str
    where: tuple[tuple[str, str, Any], ...] = ()
    within_us: int | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or self.event

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"event": self.event}
        if self.where:
            d["where"] = [list(c) for c in self.where]
        if self.within_us is not None:
            d["within"] = describe(self.within_us)
        if self.label:
            d["label"] = self.label
        return d


def step(
    event: str,
    where: dict | None = None,
    within: str | timedelta | None = None,
    label: str | None = None,
) -> Step:
    """A funnel step: ``fs.step("pay", where={"amount": (">", 100)}, within="1h")``."""
    if not isinstance(event, str) or not event.strip():
        raise SpecError(f"a step needs an event name, got {event!r}.")
    within_us = None if within is None else to_microseconds(within, f"within of step {event!r}")
    return Step(event, _normalise_where(where, f"step {event!r}"), within_us, label)


@dataclass(frozen=True)
class Exclusion:
    """Event that disqualifies a path when it happens from step ``from_step`` to ``to_step``.

    Steps are 1-based; the span is inclusive in time (docs/funnels.md).
    """

    event: str
    from_step: int
    to_step: int
    where: tuple[tuple[str, str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {"event": self.event, "from_step": self.from_step, "to_step": self.to_step}
        if self.where:
            d["where"] = [list(c) for c in self.where]
        return d


def exclusion(event: str, between: tuple[int, int] | None = None, where: dict | None = None,
              *, n_steps: int | None = None) -> Exclusion:
    """``fs.exclusion("refund", between=(2, 4))``; default between the first and last step."""
    a, b = between if between is not None else (1, n_steps or 2)
    return Exclusion(event, int(a), int(b), _normalise_where(where, f"exclusion {event!r}"))


def _as_step(s: Any) -> Step:
    if isinstance(s, Step):
        return s
    if isinstance(s, str):
        return step(s)
    if isinstance(s, dict):
        return step(**s)
    raise SpecError(f"a step must be an event name or fs.step(...), got {s!r}.")


@dataclass(frozen=True)
class FunnelSpec:
    """A validated funnel definition (see docs/funnels.md for exact semantics).

    window_us: max time from the first step's event to the last reached step's event
    (inclusive, microseconds). mode: ordered | strict | any. count: uniques (entities) |
    totals (entries: every first-step event). by: a property of the first step's event, or a
    column of the customers table. period: day | week | month trend by entry time in the
    reporting time zone. start / end: ISO dates or times bounding the events analysed
    (end exclusive). censor: report entities whose window is still open at the end of the data
    as still converting instead of dropped.
    """

    steps: tuple[Step, ...]
    window_us: int
    mode: str = "ordered"
    by: str | None = None
    entity: str = "user"
    count: str = "uniques"
    exclude: tuple[Exclusion, ...] = ()
    where: tuple[tuple[str, str, Any], ...] = ()
    period: str | None = None
    start: str | None = None
    end: str | None = None
    first_time: bool = False
    censor: bool = True
    top_groups: int = 20

    def __post_init__(self) -> None:
        k = len(self.steps)
        if k == 0:
            raise SpecError("a funnel needs at least one step.", hint='e.g. steps=["view", "pay"]')
        if k > MAX_STEPS:
            raise SpecError(f"a funnel has at most {MAX_STEPS} steps, got {k}.")
        for name, value, allowed in (("mode", self.mode, MODES), ("count", self.count, COUNTS),
                                     ("entity", self.entity, ENTITIES)):
            if value not in allowed:
                raise SpecError(f"unknown {name} {value!r}.", hint=f"Use one of: {', '.join(allowed)}.")
        if self.period is not None and self.period not in PERIODS:
            raise SpecError(f"unknown period {self.period!r}.", hint="Use day, week or month.")
        if self.steps[0].within_us is not None:
            raise SpecError("the first step cannot have `within`: it bounds the gap from the previous step.")
        for e in self.exclude:
            if not (1 <= e.from_step < e.to_step <= k):
                raise SpecError(
                    f"exclusion {e.event!r} must lie between two steps 1 <= from < to <= {k}, "
                    f"got {e.from_step}..{e.to_step}."
                )
            for i, s in enumerate(self.steps, 1):
                if s.event == e.event and not s.where and not e.where:
                    raise SpecError(
                        f"exclusion {e.event!r} is also step {i}'s event; an event cannot both "
                        f"fill a step and disqualify the path.",
                        hint="Add a property filter to one of them.",
                    )
        if self.mode == "any" and (self.exclude or any(s.within_us for s in self.steps)):
            raise SpecError("exclusions and per-step `within` need an order; use mode='ordered'.")
        if self.mode == "any" and (self.first_time or self.count == "totals"):
            raise SpecError(
                "first_time and count='totals' need a first step; any-order funnels have none.",
                hint="Use mode='ordered'.",
            )
        if len(self.exclude) > 32:
            raise SpecError("at most 32 exclusions.")
        if self.top_groups < 1:
            raise SpecError("top_groups must be >= 1.")

    @property
    def window(self) -> str:
        return describe(self.window_us)

    @property
    def entity_column(self) -> str:
        """The events column that identifies an entity: user_id or account_id."""
        return "user_id" if self.entity == "user" else "account_id"

    @property
    def entry_mask(self) -> int:
        """Steps whose events can be an entry (carry the `by` value): step 1, or any step in
        any mode; bit j-1 stands for step j."""
        return (1 << len(self.steps)) - 1 if self.mode == "any" else 1

    @property
    def step_names(self) -> list[str]:
        """Display names, made unique (view, view #2) when an event repeats."""
        seen: dict[str, int] = {}
        out = []
        for s in self.steps:
            seen[s.name] = seen.get(s.name, 0) + 1
            out.append(s.name if seen[s.name] == 1 else f"{s.name} #{seen[s.name]}")
        return out

    def to_sql(self, dialect: str = "duckdb") -> str:
        """SQL of the portable window-function form (ordered, uniques funnels); needs no data."""
        from funnelscope.analyses.funnel.portable import spec_sql

        return spec_sql(self, dialect)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps], "window": self.window, "mode": self.mode,
            "by": self.by, "entity": self.entity, "count": self.count,
            "exclude": [e.to_dict() for e in self.exclude],
            "where": [list(c) for c in self.where], "period": self.period, "start": self.start,
            "end": self.end, "first_time": self.first_time, "censor": self.censor,
        }


def instant_us(value: str, timezone: str) -> int:
    """A start/end bound as µs since the epoch; a date or naive time is in ``timezone``."""
    from zoneinfo import ZoneInfo

    try:
        ts = datetime.fromisoformat(str(value).strip())
    except ValueError:  # other spellings pandas understands ("2024/01/05", "5 Jan 2024")
        import pandas as pd

        try:
            ts = pd.Timestamp(value).to_pydatetime()
        except (ValueError, TypeError):
            raise SpecError(f"cannot read time {value!r}.",
                            hint="Use YYYY-MM-DD or an ISO time.") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=ZoneInfo(timezone))
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def make_spec(
    steps: list[Any],
    window: str | int | float | timedelta = "7d",
    mode: str = "ordered",
    by: str | None = None,
    entity: str = "user",
    count: str = "uniques",
    exclude: Any = None,
    where: dict | None = None,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    first_time: bool = False,
    censor: bool = True,
    top_groups: int = 20,
) -> FunnelSpec:
    """Build a :class:`FunnelSpec` from the friendly arguments of ``ws.funnel``."""
    if isinstance(steps, str):
        steps = [s.strip() for s in steps.split(",") if s.strip()]
    parsed = tuple(_as_step(s) for s in steps)
    excl: list[Exclusion] = []
    for e in exclude or ():
        if isinstance(e, Exclusion):
            excl.append(e)
        elif isinstance(e, str):
            excl.append(exclusion(e, n_steps=len(parsed)))
        elif isinstance(e, (tuple, list)) and len(e) == 3:
            excl.append(exclusion(e[0], (e[1], e[2])))
        else:
            raise SpecError(
                f"cannot read exclusion {e!r}.",
                hint='Use "event", ("event", from_step, to_step) or fs.exclusion(...).',
            )
    return FunnelSpec(
        parsed, to_microseconds(window), mode, by, entity, count, tuple(excl),
        _normalise_where(where, "where"), period, start, end, first_time, censor, top_groups,
    )
