"""What each analysis of this package computes: frozen specs, validated on construction.

A spec holds no data. The exact semantics of every field are in docs/metrics.md; the
docstrings here give the short version and units.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from funnelscope.analyses.retention.periods import check_period
from funnelscope.analyses.retention.sources import TOP_GROUPS, as_event_names
from funnelscope.errors import SpecError

KINDS = ("on", "on_or_after")
MAX_PERIODS = 1000


#: Ceiling of a whole-number option without its own: a million (days) still fits in int64 µs.
MAX_WHOLE = 1_000_000


def _check_int(value: Any, what: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{what} must be a whole number, got {value!r}.")
    if value < low or value > (MAX_WHOLE if high is None else high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        if high is None and value > MAX_WHOLE:
            bound = f"between {low} and {MAX_WHOLE:,}"
        raise SpecError(f"{what} must be {bound}, got {value}.")
    return value


def _start_value(start: Any) -> str | tuple[str, ...] | None:
    if start is None or isinstance(start, str) and start == "signup":
        return start
    names = as_event_names(start, "start")
    return names[0] if names and len(names) == 1 else names


def parse_brackets(brackets: Any, periods: int) -> tuple[tuple[int, int], ...]:
    """``[1, (2, 7), "8-30"]`` -> ((1, 1), (2, 7), (8, 30)): ascending, non-overlapping, <= periods."""
    if brackets is None:
        return ()
    if isinstance(brackets, str):
        brackets = [b for b in brackets.split(",") if b.strip()]
    out: list[tuple[int, int]] = []
    for b in brackets:
        if isinstance(b, bool):
            raise SpecError(f"cannot read bracket {b!r}.")
        if isinstance(b, int):
            lo = hi = b
        elif isinstance(b, str) and re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?", b):
            parts = [int(x) for x in b.split("-")]
            lo, hi = parts[0], parts[-1]
        elif isinstance(b, (tuple, list)) and len(b) == 2 and all(
            isinstance(x, int) and not isinstance(x, bool) for x in b
        ):
            lo, hi = b
        else:
            raise SpecError(
                f"cannot read bracket {b!r}.",
                hint='Write a period number or a range: [1, (2, 7), "8-30"].',
            )
        if not 0 <= lo <= hi:
            raise SpecError(f"bracket {b!r} must satisfy 0 <= first <= last.")
        if hi > periods:
            raise SpecError(
                f"bracket {b!r} ends after period {periods}.", hint=f"Set periods >= {hi}."
            )
        if out and lo <= out[-1][1]:
            raise SpecError(
                f"brackets must be ascending and must not overlap: {b!r} starts at or before "
                f"the end of the previous one ({out[-1][0]}-{out[-1][1]})."
            )
        out.append((lo, hi))
    return tuple(out)


def bracket_label(b: tuple[int, int]) -> str:
    return str(b[0]) if b[0] == b[1] else f"{b[0]}-{b[1]}"


class _Spec:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class RetentionSpec(_Spec):
    """A cohort retention table.

    start: None (any event), "signup" (customers.first_seen, else the ``signup`` event), or an
    event name / tuple of names: what puts a user in a cohort. returning: None (any event) or
    event names: what counts as coming back. period: day | week | month (calendar buckets in the
    reporting time zone, weeks from Monday). periods: the last period number reported (0 is the
    cohort's own period). kind: "on" (active in period k) | "on_or_after" (active in period k or
    any later period in the data). by: a column of the start event or of the customers table.
    first_time: cohort = the user's first start (True) or every period with a start (recurring).
    brackets: custom groups of periods, e.g. ((1, 1), (2, 7), (8, 30)). top_groups: with
    ``by``, the largest groups kept (by entries); the others are summed into "other".
    """

    start: str | tuple[str, ...] | None = None
    returning: tuple[str, ...] | None = None
    period: str = "day"
    periods: int = 30
    kind: str = "on"
    by: str | None = None
    first_time: bool = True
    brackets: tuple[tuple[int, int], ...] = ()
    top_groups: int = TOP_GROUPS

    def __post_init__(self) -> None:
        check_period(self.period)
        _check_int(self.periods, "periods", 1, MAX_PERIODS)
        _check_int(self.top_groups, "top_groups", 1)
        if self.kind not in KINDS:
            raise SpecError(f"unknown kind {self.kind!r}.", hint="Use on or on_or_after.")
        if self.by is not None and (not isinstance(self.by, str) or not self.by.strip()):
            raise SpecError(f"by must be a column name, got {self.by!r}.")


def retention_spec(
    start: str | Sequence[str] | None = None,
    returning: str | Sequence[str] | None = "any",
    period: str = "day",
    periods: int = 30,
    kind: str = "on",
    by: str | None = None,
    first_time: bool = True,
    brackets: Any = None,
    top_groups: int = TOP_GROUPS,
) -> RetentionSpec:
    """Build a :class:`RetentionSpec` from the arguments analysts write."""
    periods = _check_int(periods, "periods", 1, MAX_PERIODS)
    return RetentionSpec(
        start=_start_value(start),
        returning=as_event_names(returning, "returning"),
        period=period, periods=periods, kind=kind, by=by, first_time=bool(first_time),
        brackets=parse_brackets(brackets, periods), top_groups=top_groups,
    )


@dataclass(frozen=True)
class ActivitySpec(_Spec):
    """Active users and their rhythm.

    events: None (any event) or the event names that count as activity. period: day | week |
    month for the lifecycle table (new / returning / resurrected / dormant). repurchase_within:
    None, or days: a repurchase counts only when the second order comes within this many days
    of the first (customers whose window is not over at the orders' end are left out).
    """

    events: tuple[str, ...] | None = None
    period: str = "week"
    repurchase_within: int | None = None

    def __post_init__(self) -> None:
        check_period(self.period)
        if self.repurchase_within is not None:
            _check_int(self.repurchase_within, "repurchase_within (days)", 1)


def activity_spec(events: str | Sequence[str] | None = None, period: str = "week",
                  repurchase_within: int | None = None) -> ActivitySpec:
    """Build an :class:`ActivitySpec` from the arguments analysts write."""
    return ActivitySpec(as_event_names(events, "events"), period, repurchase_within)


@dataclass(frozen=True)
class ChurnSpec(_Spec):
    """Churn under one definition, per period and as a survival curve.

    events: None (any event) or the event names that count as activity. inactivity_days: a
    customer has churned after this many consecutive days without activity (used unless
    cancel_event is set). cancel_event: event name(s) that end a customer's life instead.
    period: day | week | month for the churn-rate table. by: a column of the user's first
    activity event or of the customers table. top_groups: with ``by``, the largest groups kept
    (by customers); the others are summed into "other". population: ``all`` (everyone with
    activity) or ``buyers`` (users with an order in the orders table, alive from their first
    order: activity before it does not count).
    """

    events: tuple[str, ...] | None = None
    inactivity_days: int = 30
    cancel_event: tuple[str, ...] | None = None
    period: str = "month"
    by: str | None = None
    top_groups: int = TOP_GROUPS
    population: str = "all"

    def __post_init__(self) -> None:
        check_period(self.period)
        if self.population not in ("all", "buyers"):
            raise SpecError(f"population must be all or buyers, got {self.population!r}.")
        _check_int(self.inactivity_days, "inactivity_days", 1)
        _check_int(self.top_groups, "top_groups", 1)
        if self.cancel_event and self.events and set(self.cancel_event) & set(self.events):
            raise SpecError("a cancellation event cannot also count as activity.",
                            hint="Leave it out of events=.")

    @property
    def definition(self) -> str:
        if self.cancel_event:
            return "cancellation: event " + " or ".join(repr(e) for e in self.cancel_event)
        return f"inactivity: no activity for {self.inactivity_days} days"


def churn_spec(events: str | Sequence[str] | None = None, inactivity_days: int = 30,
               cancel_event: str | Sequence[str] | None = None, period: str = "month",
               by: str | None = None, top_groups: int = TOP_GROUPS,
               population: str = "all") -> ChurnSpec:
    """Build a :class:`ChurnSpec` from the arguments analysts write."""
    return ChurnSpec(as_event_names(events, "events"), inactivity_days,
                     as_event_names(cancel_event, "cancel_event"), period, by, top_groups,
                     population)


def _check_day(value: Any, what: str) -> str | None:
    """ISO date text (YYYY-MM-DD) or None."""
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise SpecError(f"{what} must be a date like 2024-01-31, got {value!r}.") from None


@dataclass(frozen=True)
class AarrrSpec(_Spec):
    """The consumer growth chain: Acquisition, Activation, Retention, Revenue, Referral.

    signup: what acquires a user (None = first event, "signup", or event names). since / until:
    local dates bounding the acquisition day (inclusive; None = all). channel: column naming
    the acquisition channel (start event or customers). activation_event / activation_days:
    activated = the event within that many days (24 h each) of acquisition. retention_days:
    the Dk retention points. referral_event: the invite event; referral_channel: the channel
    value of users acquired by referral (for the K-factor).
    """

    signup: str | tuple[str, ...] | None = None
    since: str | None = None
    until: str | None = None
    channel: str | None = "channel"
    activation_event: tuple[str, ...] | None = None
    activation_days: int = 7
    retention_days: tuple[int, ...] = (1, 7, 30)
    referral_event: tuple[str, ...] | None = None
    referral_channel: str = "referral"

    def __post_init__(self) -> None:
        _check_int(self.activation_days, "activation_days", 1)
        for d in self.retention_days:
            _check_int(d, "retention_days", 1, 3650)
        if self.since and self.until and self.since > self.until:
            raise SpecError(f"since ({self.since}) is after until ({self.until}).")


def aarrr_spec(signup: Any = None, since: Any = None, until: Any = None,
               channel: str | None = "channel", activation_event: Any = None,
               activation_days: int = 7, retention_days: Sequence[int] = (1, 7, 30),
               referral_event: Any = None, referral_channel: str = "referral") -> AarrrSpec:
    """Build an :class:`AarrrSpec` from the arguments analysts write."""
    return AarrrSpec(
        _start_value(signup), _check_day(since, "since"), _check_day(until, "until"), channel,
        as_event_names(activation_event, "activation_event"), activation_days,
        tuple(sorted(set(retention_days))), as_event_names(referral_event, "referral_event"),
        referral_channel,
    )


#: Chain steps of the B2B summary and the stage names each defaults to (first match wins).
B2B_STEPS: dict[str, tuple[str, ...]] = {
    "lead": ("lead", "leads", "target", "prospecting", "prospect"),
    "valid_lead": ("valid_lead", "mql", "qualified", "qualification", "potential"),
    "contacted": ("contacted", "contact", "sql"),
    "opportunity": ("opportunity", "opp", "intent", "proposal", "needs analysis"),
    "paid": ("won", "paid", "paying", "signed", "closed won", "customer"),
    "renewal": ("renewed", "renewal", "renew"),
}


REVENUE_PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class B2BSpec(_Spec):
    """The B2B chain: leads -> valid leads -> contacted -> opportunities -> paid -> renewals.

    stages: chain step -> deal stage name (steps not given are looked up by name in the
    workspace's stage list, see B2B_STEPS; a step with no stage is left out). by: a deals column
    (team, owner, product...) to break the chain down. revenue_period: month | quarter | year,
    the period of net revenue retention from the orders table.
    """

    stages: tuple[tuple[str, str], ...] = ()
    by: str | None = None
    revenue_period: str = "month"

    def __post_init__(self) -> None:
        if self.revenue_period not in REVENUE_PERIODS:
            raise SpecError(f"unknown revenue_period {self.revenue_period!r}.",
                            hint="Use month, quarter or year.")
        for step, _ in self.stages:
            if step not in B2B_STEPS:
                raise SpecError(f"unknown chain step {step!r}.",
                                hint=f"Use one of: {', '.join(B2B_STEPS)}.")


def b2b_spec(stages: dict[str, str] | None = None, by: str | None = None,
             revenue_period: str = "month") -> B2BSpec:
    """Build a :class:`B2BSpec` from the arguments analysts write."""
    if stages is not None and not isinstance(stages, dict):
        raise SpecError(f"stages must map chain steps to stage names, got {stages!r}.")
    return B2BSpec(tuple(sorted((stages or {}).items())), by, revenue_period)
