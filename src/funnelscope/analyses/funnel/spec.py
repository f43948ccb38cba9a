"""What a funnel is: steps, window, mode and options, validated on construction.

The exact semantics are in docs/funnels.md. A spec holds no data and runs nowhere by itself:
``funnelscope.analyses.funnel.run(ws, spec)`` evaluates it on a workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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


NULL_OPERATORS = ("is null", "is not null")
LIST_OPERATORS = ("in", "not in")
_SYMBOLS = frozenset("<>=!")
_SCALARS = (str, int, float, date, Decimal)  # bool is an int; datetime is a date


def _operator(item: Any) -> str | None:
    """The operator ``item`` names (case and spaces ignored), else None."""
    if isinstance(item, str):
        op = " ".join(item.lower().split())
        if op in OPERATORS:
            return op
    return None


def _show(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _is_scalar(value: Any) -> bool:
    import numbers

    return isinstance(value, (*_SCALARS, numbers.Number)) and value == value  # not NaN


def condition_of(prop: Any, cond: Any, what: str) -> tuple[str, str, Any]:
    """One ``where`` entry as ``(property, operator, value)``. The grammar (docs/report.md,
    "where conditions"):

    * a scalar ``v`` -> ``=`` v;
    * a list / tuple whose first item is an operator -> that operator: ``[op, value]``, or
      ``[op]`` for ``is null`` / ``is not null``; ``in`` / ``not in`` take a list:
      ``["in", [a, b]]``;
    * any other list / tuple / set -> ``in`` those values (so ``[a, b]`` means a or b, and a
      list of values starting with an operator word must be written ``["in", [...]]``).
    """
    if not isinstance(prop, str) or not prop:
        raise SpecError(f"{what}: property names must be non-empty strings, got {prop!r}.")
    where = f"{what}: {prop}"
    form = 'Write a value, a list of values, [">", 100], ["!=", "ads"], ["in", [a, b]] or ["is null"].'
    if isinstance(cond, dict):
        raise SpecError(f"{where}: a condition cannot be a mapping, got {cond!r}.", hint=form)
    if isinstance(cond, (list, tuple)) and cond and _operator(cond[0]):
        op, args = _operator(cond[0]), tuple(cond[1:])
    elif (isinstance(cond, (list, tuple)) and cond and isinstance(cond[0], str)
          and cond[0].strip() and set(cond[0].strip()) <= _SYMBOLS):
        raise SpecError(f"{where}: unknown operator {cond[0]!r}.",
                        hint=f"Use one of: {', '.join(OPERATORS)}.")
    elif isinstance(cond, (list, tuple, set, frozenset)):
        op, args = "in", (list(cond),)
    else:
        op, args = "=", (cond,)
    if op in NULL_OPERATORS:
        if args not in ((), (None,)):
            raise SpecError(f"{where}: {op!r} takes no value, got {list(args)!r}.",
                            hint=f'Write ["{op}"].')
        return prop, op, None
    if len(args) != 1:
        raise SpecError(f"{where}: {op!r} takes exactly one value, got {len(args)}.",
                        hint=f'Write ["{op}", value]' + (" with a list of values as the value."
                                                          if op in LIST_OPERATORS else "."))
    value = args[0]
    if op in LIST_OPERATORS:
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise SpecError(f"{where}: {op!r} needs a list of values, got {value!r}.",
                            hint=f'Write ["{op}", [{_show(value)}]] or ["=", {_show(value)}].')
        values = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
        if not values:
            raise SpecError(f"{where}: {op!r} needs at least one value; the list is empty.")
        bad = [v for v in values if not _is_scalar(v)]
        if bad:
            raise SpecError(f"{where}: values to match must be text, numbers or dates, "
                            f"got {bad[0]!r}.",
                            hint='Test for empty values with ["is null"].' if bad[0] is None
                            else form)
        return prop, op, tuple(values)
    if not _is_scalar(value):
        hint = f'Write ["{"is null" if op in ("=", "==") else "is not null"}"].' \
            if value is None and op in ("=", "==", "!=") else form
        raise SpecError(f"{where}: {op!r} needs one text, number or date, got {value!r}.",
                        hint=hint)
    return prop, op, value


def parse_where(where: Any, what: str) -> tuple[tuple[str, str, Any], ...]:
    """``{"amount": (">", 100), "channel": "ads", "city": ["北京", "上海"]}`` -> sorted
    ``(property, operator, value)`` conditions, each read by :func:`condition_of`."""
    if where is None:
        return ()
    if not isinstance(where, dict):
        raise SpecError(f"{what}: where must be a dict of property -> condition, got {where!r}.")
    out = [condition_of(prop, cond, what) for prop, cond in where.items()]
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
    return Step(event, parse_where(where, f"step {event!r}"), within_us, label)


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
    return Exclusion(event, int(a), int(b), parse_where(where, f"exclusion {event!r}"))


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


def instant_us(value: str, timezone: str, what: str = "start/end") -> int:
    """A start/end bound as µs since the epoch; a date or naive time is in ``timezone``.

    SpecError (naming ``what``) for text that is not a time (``nan``, ``0000-00-00``,
    ``2026-02-30``) and for times outside the years 1-9999 in UTC.
    """
    from zoneinfo import ZoneInfo

    hint = "Use YYYY-MM-DD or an ISO time (years 1 to 9999)."
    text = str(value).strip()
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:  # other spellings pandas understands ("2024/01/05", "5 Jan 2024")
        import pandas as pd

        try:
            parsed = pd.Timestamp(text) if text else pd.NaT
        except (ValueError, TypeError, OverflowError):
            parsed = pd.NaT
        if parsed is pd.NaT or pd.isna(parsed):
            raise SpecError(f"cannot read {what} time {value!r}.", hint=hint) from None
        try:
            ts = parsed.to_pydatetime()
        except (ValueError, OverflowError, NotImplementedError):
            raise SpecError(f"{what} time {value!r} is out of range.", hint=hint) from None
    try:
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=ZoneInfo(timezone))
        delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    except (OverflowError, ValueError):  # 0001-01-01 east of UTC is in the year 0
        raise SpecError(f"{what} time {value!r} is out of range.", hint=hint) from None
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not _FIRST_INSTANT_US <= us <= _LAST_INSTANT_US:  # must read back as a UTC datetime
        raise SpecError(f"{what} time {value!r} is out of range.", hint=hint)
    return us


_FIRST_INSTANT_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
_LAST_INSTANT_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


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
        parse_where(where, "where"), period, start, end, first_time, censor, top_groups,
    )
