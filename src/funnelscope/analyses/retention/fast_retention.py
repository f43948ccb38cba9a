"""Retention's fast local path on DuckDB: the counts of ``cohorts.compile_query`` in one query.

For the common case (DuckDB, no breakdown, first-time cohorts from events, ``kind="on"`` with
at most 62 periods or ``kind="on_or_after"``) it gives exactly the counts of the portable
expression, which Spark and the other cases keep using; the tests hold the two equal.

How, per the module ``local_days``: times are BIGINT µs and local days integer arithmetic
(no ICU per row). One scan aggregates per user their entry (earliest start event), first
and last local day, events and the named events' counts (the data range and the "no such
event" check come from these). A second scan joins the returning events to the entries and
folds each user's retained periods into a bit mask (bit k: a returning event in period
cohort + k at or after the entry), so only (cohort, mask) counts leave the engine; the
brackets are read off the masks. ``kind="on_or_after"`` keeps each user's last period
instead.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.local_days import LocalDays, day_of, event_rows, period_sql
from funnelscope.analyses.retention.sources import DataRange, Start
from funnelscope.errors import InputError
from funnelscope.sqlsafe import literal

if TYPE_CHECKING:
    from funnelscope.analyses.retention.spec import RetentionSpec
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: Bit k of a BIGINT mask is period k: periods 0..62.
MAX_MASK_PERIODS = 62
#: The one-scan path keeps each user's active periods as at most this many 64-bit words.
MAX_WORDS = 4


def applies(ws: Workspace, spec: RetentionSpec, start: Start, group: object) -> bool:
    """True when the fast path computes ``spec``."""
    return (ws.engine == "duckdb" and group is None and spec.first_time
            and start.source in ("first_event", "event")
            and (spec.kind == "on_or_after" or spec.periods <= MAX_MASK_PERIODS))


def _names(names: tuple[str, ...] | None) -> str:
    return "TRUE" if names is None else f"event IN ({', '.join(literal(n) for n in names)})"


def counts(ws: Workspace, spec: RetentionSpec, start: Start,
           names: tuple[str, ...]) -> tuple[DataRange, dict[str, dict[tuple, int]]]:
    """(data range with ``names`` counted, {part: {(cohort, None, k): n}}) for ``run``.

    Parts as ``compile_query``'s: size (k = -1), on, bracket (k = bracket index), last.
    """
    rows = event_rows(ws)
    days = day_of(ws, rows, span=True)
    ev = (f"SELECT user_id, event, {rows.us} AS fs_t FROM ({rows.sql}) AS fs_src "  # noqa: S608
          f"WHERE {rows.where}")
    named = "".join(f", count(*) FILTER (WHERE event = {literal(n)}) AS fs_n{i}"
                    for i, n in enumerate(names))
    sql = _one_scan(spec, start, days, ev, named, len(names)) or \
        _with_join(spec, start, days, ev, named, len(names))
    return _parse(ws.duckdb.execute(sql).fetchall(), spec, days, names)


def _one_scan(spec: RetentionSpec, start: Start, days: LocalDays, ev: str, named: str,
              n_names: int) -> str | None:
    """The counts in one scan, or None when it does not apply.

    When every start event is also a returning event, the entry event itself makes period 0
    retained and any returning event in a later period comes after the entry, so a user's
    retained periods are just the periods with returning events, which one aggregate per user
    collects as bit words over the data's periods (``kind="on"``: at most 4 words, 256
    periods) or as the last one (``on_or_after``). The cohort's periods are then cut out of
    the words in SQL. Needs the data's first instant and a day that never goes back in time.
    """
    covered = spec.returning is None or (
        start.events is not None and set(start.events) <= set(spec.returning))
    if not covered or not days.monotonic or days.lo is None:
        return None
    p0 = P.period_of_day(days.day(days.lo), spec.period)
    span = P.period_of_day(days.day(days.hi), spec.period) - p0 + 1
    words = -(-span // 64)
    if spec.kind == "on" and words > MAX_WORDS:
        return None
    entry = "min(fs_t)" if start.events is None else \
        f"min(fs_t) FILTER (WHERE {_names(start.events)})"
    back = _names(spec.returning)
    if spec.kind == "on":
        bits = "".join(
            f", bit_or(CAST(1 AS UBIGINT) << CAST(fs_b & 63 AS UTINYINT)) FILTER (WHERE "
            f"{back} AND fs_b >= {64 * i} AND fs_b < {64 * (i + 1)}) AS fs_w{i}"
            for i in range(words))
    else:
        bits = f", max(fs_b) FILTER (WHERE {back}) AS fs_last"
    # the data's first and last instant are the span's (days.lo / days.hi): not aggregated here
    users = (f"SELECT user_id, {entry} AS entry_t, count(*) AS n{named}{bits} FROM (SELECT *, "  # noqa: S608
             f"{period_sql(days.sql('fs_t'), spec.period)} - {p0} AS fs_b FROM ({ev}) AS fs_e) "
             "AS fs_ev GROUP BY user_id")
    entries = (f"SELECT *, {period_sql(days.sql('entry_t'), spec.period)} - {p0} AS fs_o "  # noqa: S608
               "FROM fs_users WHERE entry_t IS NOT NULL")
    if spec.kind == "on":
        def word(shift: int) -> str:
            cases = " ".join(f"WHEN {i - shift} THEN coalesce(fs_w{i}, 0)"
                             for i in range(shift, words))
            if not cases:
                return "CAST(0 AS UBIGINT)"
            return f"(CASE fs_o // 64 {cases} ELSE CAST(0 AS UBIGINT) END)"

        s = "CAST(fs_o % 64 AS UTINYINT)"
        # the next word's low bits, moved up (masked first: DuckDB rejects bits shifted out)
        high = (f"(CASE WHEN fs_o % 64 = 0 THEN CAST(0 AS UBIGINT) ELSE ({word(1)} & "
                f"((CAST(1 AS UBIGINT) << {s}) - 1)) << (64 - {s}) END)")
        k = f"CAST((({word(0)} >> {s}) | {high}) & {(1 << (spec.periods + 1)) - 1} AS BIGINT)"
    else:
        k = f"least(fs_last - fs_o, {spec.periods})"
    zeros = ", 0" * n_names
    extra = "".join(f", sum(fs_n{i})" for i in range(n_names))
    return (
        f"WITH fs_users AS MATERIALIZED ({users}), fs_entries AS MATERIALIZED ({entries}) "  # noqa: S608
        f"SELECT 'range' AS part, {days.lo} AS c, {days.hi} AS k, sum(n) AS n{extra} "
        f"FROM fs_users UNION ALL SELECT 'size', fs_o + {p0}, -1, count(*){zeros} "
        f"FROM fs_entries GROUP BY fs_o UNION ALL SELECT 'users', c, k, count(*){zeros} FROM "
        f"(SELECT fs_o + {p0} AS c, {k} AS k FROM fs_entries) AS fs_pu GROUP BY c, k"
    )


def _with_join(spec: RetentionSpec, start: Start, days: LocalDays, ev: str, named: str,
               n_names: int) -> str:
    """The counts with a second scan: the returning events joined to each user's entry."""
    names = range(n_names)
    entry = "min(fs_t)" if start.events is None else \
        f"min(fs_t) FILTER (WHERE {_names(start.events)})"
    # the data's first and last local day: of the first and last instant when the day never
    # goes back in time, else from every event's day
    edges = ("min(fs_t) AS first_x, max(fs_t) AS last_x" if days.monotonic
             else f"min({days.sql('fs_t')}) AS first_x, max({days.sql('fs_t')}) AS last_x")
    users = (f"SELECT user_id, {entry} AS entry_t, {edges}, count(*) AS n{named} "  # noqa: S608
             f"FROM ({ev}) AS fs_ev GROUP BY user_id")
    # the entry's period from its instant, as the portable path does
    entries = (f"SELECT user_id, entry_t, {period_sql(days.sql('entry_t'), spec.period)} AS c "  # noqa: S608
               "FROM fs_users WHERE entry_t IS NOT NULL")
    period = period_sql(days.sql("fs_t"), spec.period)
    back = (f"SELECT user_id, fs_t, {period} AS p FROM ({ev}) AS fs_ev "  # noqa: S608
            f"WHERE {_names(spec.returning)}")
    joined = ("FROM fs_back AS b JOIN fs_entries AS u ON b.user_id = u.user_id "
              "WHERE b.fs_t >= u.entry_t AND b.p >= u.c")
    if spec.kind == "on":
        per_user = (f"SELECT u.user_id, any_value(u.c) AS c, bit_or(CAST(1 AS BIGINT) << "  # noqa: S608
                    f"CAST(b.p - u.c AS INTEGER)) AS k {joined} AND b.p <= u.c + {spec.periods} "
                    "GROUP BY u.user_id")
    else:
        per_user = (f"SELECT u.user_id, any_value(u.c) AS c, least(max(b.p - u.c), "  # noqa: S608
                    f"{spec.periods}) AS k {joined} GROUP BY u.user_id")
    extra = "".join(f", sum(fs_n{i})" for i in names)
    return (
        f"WITH fs_users AS MATERIALIZED ({users}), "  # noqa: S608
        f"fs_entries AS MATERIALIZED ({entries}), fs_back AS ({back}) "
        f"SELECT 'range' AS part, min(first_x) AS c, max(last_x) AS k, sum(n) AS n{extra} "
        "FROM fs_users "
        f"UNION ALL SELECT 'size', c, -1, count(*){', 0' * n_names} FROM fs_entries GROUP BY c "
        f"UNION ALL SELECT 'users', c, k, count(*){', 0' * n_names} "
        f"FROM ({per_user}) AS fs_pu GROUP BY c, k"
    )


def _parse(out: list[tuple], spec: RetentionSpec, days: LocalDays, names: tuple[str, ...]
           ) -> tuple[DataRange, dict[str, dict[tuple, int]]]:
    rng_row = next(r for r in out if r[0] == "range")
    if not rng_row[3]:
        raise InputError("the events table is empty.", hint="Load events first: funnelscope load FILE.")
    first, last = int(rng_row[1]), int(rng_row[2])
    if days.monotonic:
        first, last = days.day(first), days.day(last)
    rng = DataRange(first, last, int(rng_row[3]),
                    {n: int(rng_row[4 + i] or 0) for i, n in enumerate(names)})
    parts: dict[str, dict[tuple, int]] = defaultdict(dict)
    for part, c, k, n, *_ in out:
        if part == "size":
            parts["size"][(int(c), None, -1)] = int(n)
        elif part == "users" and spec.kind == "on":
            _add_mask(parts, spec, int(c), int(k), int(n))
        elif part == "users":
            parts["last"][(int(c), None, int(k))] = int(n)
    return rng, parts


def _add_mask(parts: dict, spec: RetentionSpec, c: int, mask: int, n: int) -> None:
    """Add ``n`` users of cohort ``c`` retained in the periods of ``mask`` (and brackets)."""
    on, brackets = parts["on"], parts["bracket"]
    for k in range(spec.periods + 1):
        if mask >> k & 1:
            on[(c, None, k)] = on.get((c, None, k), 0) + n
    for i, (lo, hi) in enumerate(spec.brackets):
        if mask & (((1 << (hi - lo + 1)) - 1) << lo):
            brackets[(c, None, i)] = brackets.get((c, None, i), 0) + n
