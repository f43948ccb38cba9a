"""Inputs shared by retention, activity, churn and AARRR: filtered events, data range, cohort entries.

Everything here returns Ibis expressions (nothing is executed except the small data-range and
existence queries), so each analysis composes them into one query per table it reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from funnelscope.analyses.event_names import check_event_names, event_name_counts
from funnelscope.analyses.funnel.result import OTHER as FUNNEL_OTHER
from funnelscope.analyses.funnel.spec import FunnelSpec
from funnelscope.analyses.retention.periods import local_day, period_of
from funnelscope.errors import InputError, SpecError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: ``start="signup"`` means the customers table's sign-up time when it has one (see resolve_start).
SIGNUP = "signup"
GROUP = "group"
#: Breakdowns keep the largest groups and fold the rest into one, like the funnel's: the same
#: default number of groups and the same label.
TOP_GROUPS: int = FunnelSpec.top_groups
OTHER = FUNNEL_OTHER
#: Column flagging rows whose group was folded into OTHER (their ``group`` is NULL).
FOLDED = "group_folded"


def as_event_names(value: str | Sequence[str] | None, what: str) -> tuple[str, ...] | None:
    """None / "any" -> None (every event); a name or a list of names -> a sorted tuple."""
    if value is None or value == "any":
        return None
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise SpecError(f"{what} must be an event name or a list of them, got {value!r}.")
    if any("\x00" in n for n in names):
        raise SpecError(f"{what}: an event name must not contain a NUL character (\\x00), "
                        f"got {value!r}.", hint="Remove the NUL character (%00 in a URL).")
    return tuple(sorted(set(names)))


def events_named(t: ir.Table, names: tuple[str, ...] | None) -> ir.Table:
    """Rows of events table ``t`` whose event is one of ``names`` (all rows for None)."""
    return t if names is None else t.filter(t.event.isin(list(names)))


@dataclass(frozen=True)
class DataRange:
    """First and last local date (epoch days) of the events table, its event count, and how
    many events carry each name the analysis asked for (``named``)."""

    first_day: int
    last_day: int
    events: int
    named: dict[str, int]


def data_range(ws: Workspace, names: Sequence[str] = ()) -> DataRange:
    """The local dates of the first and last event in the whole events table (one scan).

    The last event's local date is *the data's end*: a period is complete when all its days
    lie within first..last. ``names``: event names to count on the way (for the helpful
    "no such event" error). Raises InputError when the events table is empty.
    """
    t = ws.events
    day = local_day(ws, t.ts)
    counts = {f"_n{i}": (t.event == name).sum() for i, name in enumerate(names)}
    row = t.aggregate(first=day.min(), last=day.max(), n=t.count(), **counts).to_pandas().iloc[0]
    if int(row["n"]) == 0:
        raise InputError("the events table is empty.", hint="Load events first: funnelscope load FILE.")
    named = {name: int(row[f"_n{i}"] or 0) for i, name in enumerate(names)}
    return DataRange(int(row["first"]), int(row["last"]), int(row["n"]), named)


def require_events(ws: Workspace, rng: DataRange, names: tuple[str, ...] | None, what: str) -> None:
    """Raise UnknownEventError (a SpecError, with "did you mean") when one of ``names`` is not
    an event in the events table: a count that is 0 because a name did not match is not an
    answer. ``rng`` must have been built with these names counted (no extra query unless a
    name is unknown).
    """
    if names is None or all(rng.named.get(n, 0) for n in names):
        return
    check_event_names(ws, names, what, known=event_name_counts(ws))


# ----- where cohorts start ------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    """Where a user's cohort entry comes from: their first event, named events, or sign-up time.

    source: "first_event" (any event), "event" (``events`` names), "customers" (the customers
    table's ``first_seen``).
    """

    source: str
    events: tuple[str, ...] | None = None

    def describe(self) -> str:
        if self.source == "customers":
            return "sign-up time (customers.first_seen)"
        if self.source == "first_event":
            return "any event"
        return "event " + " or ".join(repr(e) for e in self.events or ())


def resolve_start(ws: Workspace, start: str | Sequence[str] | None) -> Start:
    """Turn the ``start=`` argument into a :class:`Start`.

    None: any event. ``"signup"``: the customers table's ``first_seen`` when the workspace has a
    customers table with at least one ``first_seen``; otherwise events named ``signup``. Any
    other name (or list of names): events with that name.
    """
    if start is None:
        return Start("first_event")
    if start == SIGNUP and ws.has_table("customers"):
        c = ws.customers
        if "first_seen" in c.columns and int(c.first_seen.count().to_pandas()) > 0:
            return Start("customers")
    return Start("event", as_event_names(start, "start"))


def start_rows(ws: Workspace, start: Start) -> ir.Table:
    """Rows that can start a cohort: ``user_id``, ``ts`` plus their other columns."""
    if start.source == "customers":
        c = ws.customers
        return c.filter(c.first_seen.notnull()).rename(ts="first_seen")
    return events_named(ws.events, start.events)


# ----- breakdowns ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupSource:
    """Where ``by=`` reads its value: ``"start"`` (the start row's column), ``"customers"`` or
    ``"segments"`` (segments saved by rfm / clusters / clv / churn-risk with ``save=True``)."""

    table: str
    column: str

    def describe(self) -> str:
        return f"{'start event' if self.table == 'start' else self.table}.{self.column}"


def resolve_group(ws: Workspace, by: str | None, start: Start) -> GroupSource | None:
    """Find the column ``by`` names: a column of the start rows, else of the customers table.

    ``"customers.plan"`` or ``"event.channel"`` says which table explicitly. Segments saved by
    the value analyses (``rfm_segment``, ``cluster``, ``clv_tier``) are read from the
    ``segments`` table (or ``"segments.rfm_segment"``).
    """
    if by is None:
        return None
    if not isinstance(by, str) or not by.strip():
        raise SpecError(f"by must be a column name, got {by!r}.")
    prefixes = ("customers.", "event.", "segments.")
    table, _, column = by.partition(".") if by.startswith(prefixes) else ("", "", by)
    start_cols = set(start_rows(ws, start).columns) - {"ts"}
    cust_cols = set(ws.customers.columns) if ws.has_table("customers") else set()
    seg_cols = set(ws.table("segments").columns) - {"user_id"} if ws.has_table("segments") else set()
    if table in ("", "event") and start.source != "customers" and column in start_cols:
        return GroupSource("start", column)
    if table in ("", "customers") and column in cust_cols:
        return GroupSource("customers" if start.source != "customers" else "start", column)
    if table in ("", "segments") and column in seg_cols:
        return GroupSource("segments", column)
    where = sorted((start_cols | cust_cols | seg_cols) - {"user_id", "event_id", "_key", "_load"})
    raise SpecError(
        f"by: no column {by!r} in the start events, the customers table or saved segments.",
        hint=f"Columns available: {', '.join(where) or '(none)'}.",
    )


def attach_group(ws: Workspace, entries: ir.Table, group: GroupSource | None) -> ir.Table:
    """Add column ``group`` to ``entries`` from the customers table (start columns are kept)."""
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    if group is None:
        return entries.mutate(**{GROUP: ibis.literal(None, "string")})
    if group.table == "start":
        return entries.rename(**{GROUP: "_by"})
    c = ws.table(group.table)
    lookup = c.select(user_id=c.user_id, _gv=c[group.column])
    joined = entries.left_join(lookup, entries.user_id == lookup.user_id)
    return joined.select(*[joined[n] for n in entries.columns], **{GROUP: joined._gv})


def cohort_entries(
    ws: Workspace, start: Start, period: str, *, first_time: bool = True,
    group: GroupSource | None = None,
) -> ir.Table:
    """One row per cohort entry: ``user_id``, ``entry_ts``, ``cohort`` (period number), ``group``.

    first_time: the entry is the user's earliest start row (one entry per user). Otherwise
    (recurring) every period with a start row gives an entry, at the earliest such row of the
    period. With ``by`` read from the start row, ties at the same instant take the smallest
    value, so the answer is the same on every backend and run.
    """
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    rows = start_rows(ws, start)
    rows = rows.mutate(_p=period_of(ws, rows.ts, period))
    keys = ["user_id"] if first_time else ["user_id", "_p"]
    if group is not None and group.table == "start":
        rows = rows.mutate(_by=rows[group.column])
        rn = ibis.row_number().over(group_by=keys, order_by=[rows.ts, rows._by])
        first = rows.mutate(_rn=rn).filter(lambda r: r._rn == 0)
        entries = first.select("user_id", "_by", entry_ts=first.ts, cohort=first._p)
    else:
        agg = rows.group_by(keys).aggregate(entry_ts=rows.ts.min())
        cohort = period_of(ws, agg.entry_ts, period) if first_time else agg._p
        entries = agg.select("user_id", "entry_ts", cohort=cohort)
    return attach_group(ws, entries, group)


def cap_groups(t: ir.Table, top: int, *, users: bool = False) -> ir.Table:
    """Keep the ``top`` largest groups of column ``group``; fold the others into one.

    Size = rows of ``t`` (cohort entries), or distinct users with ``users=True``; ties by the
    group value (missing values last). Adds the boolean column ``FOLDED``: True on rows of a
    folded group, whose ``group`` is then NULL, so aggregating by (group, FOLDED) gives one
    "other" row per key while the kept groups keep their values and types. Everything runs
    in the engine: one aggregate per group, ranked, joined back; no row leaves it.
    """
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    sizes = t.group_by(_gk=t[GROUP]).aggregate(_gn=t.user_id.nunique() if users else t.count())
    ranked = sizes.mutate(_gr=ibis.row_number().over(
        order_by=[ibis.desc(sizes._gn), sizes._gk.asc(nulls_first=False)]))
    j = t.left_join(ranked, t[GROUP].identical_to(ranked._gk))
    folded = j._gr >= top
    return j.select(
        *[j[c] for c in t.columns if c != GROUP],
        **{GROUP: ibis.ifelse(folded, ibis.null().cast(t[GROUP].type()), j[GROUP]),
           FOLDED: folded},
    )


def no_folding(t: ir.Table) -> ir.Table:
    """``t`` with ``FOLDED`` = False everywhere (no breakdown, or nothing to fold)."""
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    return t.mutate(**{FOLDED: ibis.literal(False)})


class _Folded:
    """The key of the folded groups while results are assembled; printed as OTHER."""

    def __repr__(self) -> str:
        return OTHER

    __str__ = __repr__


FOLDED_KEY = _Folded()


def group_key(value, folded) -> object:
    """Dictionary key of a result row's group: FOLDED_KEY for the folded groups."""
    return FOLDED_KEY if bool(folded) else value


def group_label(key) -> object:
    """The group as reported: OTHER for the folded groups, else the value itself."""
    return OTHER if key is FOLDED_KEY else key
