"""Run a traffic analysis on a DuckDB workspace (docs/metrics.md, "Traffic and channel
quality").

Steps, all in DuckDB:

1. one temporary table holds one row per session (``sql.sessions_sql``: ``row_number``,
   ``LAG`` and a running ``SUM`` cut each user's events into sessions, ``first_value`` gives
   the session its group; the per-user first-ever event marks new visitors);
2. ``GROUP BY`` answers per key (all, group, period) read from it, and the spend per key;
3. the ratios of those few rows are computed in Python (null for a zero denominator).

PySpark runs the same steps as the Ibis relations of :mod:`.portable` (window functions for
the sessions, the session relation cached in Spark, the same ``GROUP BY`` answers); only the
per-key rows come back. Other engines: a clear :class:`~funnelscope.errors.SpecError`.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.event_names import check_event_names, present_event_names
from funnelscope.analyses.traffic import sql
from funnelscope.analyses.traffic.result import SPEND_COLUMNS, TRAFFIC_COLUMNS, TrafficResult
from funnelscope.analyses.traffic.spec import (
    DEFAULT_CONVERSION_EVENT,
    DEFAULT_PAGE_EVENT,
    TrafficSpec,
)
from funnelscope.errors import ConfigError, SpecError
from funnelscope.sqlsafe import ident

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: events columns that are not groups
_FIXED = {"user_id", "event", "ts", "event_id"}
#: the spend columns a group can be matched to
SPEND_KEYS = ("channel", "campaign")
#: DuckDB runs the SQL text of :mod:`.sql` (True) or the Ibis relations of :mod:`.portable`
#: (False: only to check the portable code against DuckDB); PySpark always runs the latter
SQL_ON_DUCKDB = True


def traffic(
    ws: Workspace,
    by: str | None = None,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    page_event: str | list[str] | None = None,
    conversion_event: str | list[str] | None = None,
    session_gap: str = "30m",
) -> TrafficResult:
    """Traffic and channel quality: PV, UV, sessions, new visitors, bounce rate, pages per
    session, session length, conversions, and (with a spend table) CTR, CPC, CPM and cost per
    conversion: a :class:`TrafficResult`.

    Sessions: each user's events in range, cut after more than ``session_gap`` without
    events (a gap exactly that long stays in the session). by: an events column (a session
    belongs to the group of its **first** event: for the demo's ``channel`` that is the
    visit's traffic source) or a customers column (the user's value); ``events.x`` /
    ``customers.x`` say which. period: day | week | month by the session's start (reporting
    time zone). start / end: only events in [start, end) (dates or times; dates and naive
    times in the reporting time zone); spend: the days that overlap that range.
    page_event: the page-view events (default ``view`` when present). conversion_event: the
    conversion events (default ``pay`` when present). A bounce is a session with exactly one
    event (of any name). Spend metrics are split by ``channel`` / ``campaign`` (the spend
    table's columns) only. Times in seconds. Definitions: docs/metrics.md.

    >>> ws.traffic(by="channel", period="week")
    """
    started = time.perf_counter()
    spec = TrafficSpec(by=by, period=period, start=start, end=end, page_events=page_event,
                       conversion_events=conversion_event, session_gap=session_gap)
    if ws.engine not in ("duckdb", "pyspark"):
        raise SpecError(f"traffic runs on DuckDB and PySpark workspaces, not on {ws.engine}.",
                        hint="Load the events into a DuckDB workspace (funnelscope load FILE "
                             "--workspace W) or open them with fs.connect(spark_session).")
    notes: list[str] = []
    pages = _events(ws, spec.page_events, DEFAULT_PAGE_EVENT, "page_event", notes,
                    "no 'view' events: page views (pv, pages_per_session) are null; name your "
                    "page-view event with --page-event")
    conversions = _events(ws, spec.conversion_events, DEFAULT_CONVERSION_EVENT,
                          "conversion_event", notes,
                          "no 'pay' events: conversions are null; name your conversion event "
                          "with --conversion-event")
    if not (ws.engine == "duckdb" and SQL_ON_DUCKDB):
        return _traffic_portable(ws, spec, started, pages, conversions, notes)
    from funnelscope.analyses.funnel.duckdb_feed import Source

    source = Source.of(ws)
    tz = ws.config.timezone
    lo, hi = spec.bounds_us(tz)
    group, join, by_source = "CAST(NULL AS VARCHAR)", "", None
    if spec.by is not None:
        table, column = _group_source(ws, spec.by, source.columns)
        by_source = f"{table}.{column}"
        if table == "events":
            group = f"CAST(fs_src.{ident(column)} AS VARCHAR)"
        else:
            group = "fs_c.grp"
            join = (f"LEFT JOIN (SELECT {ident('user_id')}, "  # noqa: S608
                    f"min(CAST({ident(column)} AS VARCHAR)) AS grp FROM {ident(table)} "
                    f"GROUP BY 1) AS fs_c ON fs_c.{ident('user_id')} = fs_src.{ident('user_id')}")
    con = ws.duckdb
    name = f"__fs_traffic_{uuid.uuid4().hex}"
    try:
        con.execute(f"CREATE TEMP TABLE {ident(name)} AS " + sql.sessions_sql(
            source.sql, group, join, lo, hi, "event_id" in source.types, spec.session_gap_us,
            pages, conversions))

        def counts(keys: list[str]) -> list[dict[str, Any]]:
            cur = con.execute(sql.counts_sql(name, keys))
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

        summary = counts([sql.literal("all")]) or [_empty("all")]
        group_rows = counts([sql.group_key()]) if spec.by is not None else None
        period_rows = None
        if spec.period is not None:
            keys = [sql.period_key(spec.period, tz)]
            period_rows = counts(keys + ([sql.group_key()] if spec.by is not None else []))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {ident(name)}")
    return _result(ws, spec, started, summary, group_rows, period_rows, by_source, pages,
                   conversions, lo, hi, notes)


def _traffic_portable(ws: Workspace, spec: TrafficSpec, started: float,
                      pages: tuple[str, ...] | None, conversions: tuple[str, ...] | None,
                      notes: list[str]) -> TrafficResult:
    """:func:`traffic` on any engine (PySpark) with the Ibis relations of :mod:`.portable`:
    the sessions are cached in the engine, the per-key counts come back."""
    import ibis

    from funnelscope.analyses.traffic import portable as P

    tz = ws.config.timezone
    lo, hi = spec.bounds_us(tz)
    by, by_source = None, None
    if spec.by is not None:
        by = _group_source(ws, spec.by, ws.columns("events"))
        by_source = f"{by[0]}.{by[1]}"
    scratch = P.Scratch()
    try:
        x = scratch.cache(P.sessions(ws, P.events(ws, by, lo, hi), spec.session_gap_us,
                                     pages, conversions))
        summary = P.counts(x, [ibis.literal("all")]) or [_empty("all")]
        group_rows = P.counts(x, [P.group_key(x)]) if spec.by is not None else None
        period_rows = None
        if spec.period is not None:
            keys = [P.period_key(ws, x, spec.period, tz)]
            period_rows = P.counts(x, keys + ([P.group_key(x)] if spec.by is not None else []))
    finally:
        scratch.close()
    return _result(ws, spec, started, summary, group_rows, period_rows, by_source, pages,
                   conversions, lo, hi, notes)


def _result(ws: Workspace, spec: TrafficSpec, started: float, summary: list[dict],
            group_rows: list[dict] | None, period_rows: list[dict] | None,
            by_source: str | None, pages: tuple[str, ...] | None,
            conversions: tuple[str, ...] | None, lo: int | None, hi: int | None,
            notes: list[str]) -> TrafficResult:
    """The result from the per-key count rows (k0, k1..., the counts) and the spend."""
    tz = ws.config.timezone
    tables: dict[str, Any] = {}
    spend_key = None
    if spec.by is not None:
        column = by_source.split(".", 1)[1]
        spend_key = column if column in SPEND_KEYS else None
    spend_all, spend_groups, days = _spend(ws, spec, spend_key, lo, hi, tz, notes)
    tables["summary"] = _frame([_row(r, pages, conversions, spend_all.get("all"))
                                for r in summary], None)
    if group_rows is not None:
        rows = {r["k0"]: r for r in group_rows}
        if spend_key is not None:
            for k in spend_groups:
                rows.setdefault(k, _empty(k))
        records = [{"group": k, **_row(r, pages, conversions,
                                       spend_groups.get(k) if spend_key else None,
                                       spend_key is not None)}
                   for k, r in rows.items()]
        records.sort(key=lambda r: (-r["sessions"], r["group"]))
        tables["groups"] = _frame(records, ["group"])
    if period_rows is not None:
        extra = ["group"] if spec.by is not None else []
        records = [{"period": r["k0"], **({"group": r["k1"]} if extra else {}),
                    **_row(r, pages, conversions, None, spend_on=False)} for r in period_rows]
        tables["periods"] = _frame(records, ["period", *extra], spend=False)
    if spec.by is not None and spend_key is None and ws.has_table("spend"):
        notes.append(f"spend is split by channel and campaign only: --by {spec.by} has no "
                     "spend columns (cost, CTR, CPC... are null in groups)")
    meta: dict[str, Any] = {
        "page_events": list(pages or ()), "conversion_events": list(conversions or ()),
        "by_source": by_source, "spend_key": spend_key,
        "session_gap_seconds": spec.session_gap_us / 1e6,
        "start": _iso(lo, tz), "end": _iso(hi, tz), "spend_days": days, "notes": notes,
        "timezone": tz, "engine": ws.engine,
        "elapsed_s": round(time.perf_counter() - started, 4),
    }
    return TrafficResult(spec=spec, tables=tables, meta=meta)


def _events(ws: Workspace, given: tuple[str, ...], default: str, option: str,
            notes: list[str], missing: str) -> tuple[str, ...] | None:
    """The event names to use: the ones given (checked: an unknown name is an error), else
    the default when the data has it, else None (with a note)."""
    if given:
        check_event_names(ws, list(given), option)
        return given
    if default in present_event_names(ws, [default]):
        return (default,)
    notes.append(missing)
    return None


def _group_source(ws: Workspace, by: str, event_columns: list[str]) -> tuple[str, str]:
    """(table, column) ``by`` names: an events column, else a customers column."""
    from funnelscope.analyses.registry import suggest

    table, _, column = by.partition(".") if by.startswith(("events.", "customers.")) \
        else ("", "", by)
    found = {"events": [c for c in event_columns if c not in _FIXED]}
    if ws.has_table("customers"):
        found["customers"] = [c for c in ws.columns("customers") if c != "user_id"]
    for t in ("events", "customers"):
        if table in ("", t) and column in found.get(t, []):
            return t, column
    names = sorted({c for cols in found.values() for c in cols})
    raise ConfigError(
        f"by: no column {by!r} in the events or the customers table.{suggest(column, names)}",
        hint=f"Columns available: {', '.join(names) or '(none)'}.")


def _spend(ws: Workspace, spec: TrafficSpec, key: str | None, lo: int | None, hi: int | None,
           tz: str, notes: list[str]) -> tuple[dict, dict, dict | None]:
    """({"all": spend row}, {group: spend row}, {"first", "last"} days) — empty without a
    spend table (with a note)."""
    if not ws.has_table("spend"):
        notes.append("no spend table: load spend (date, channel, campaign, cost, optionally "
                     "impressions and clicks) for cost, CTR, CPC, CPM and cost per conversion")
        return {}, {}, None
    columns = set(ws.columns("spend"))
    first = _local_day(lo, tz) if lo is not None else None
    last = _local_day(hi - 1, tz) if hi is not None else None

    def rows(k: str | None) -> dict[str, dict]:
        if not (ws.engine == "duckdb" and SQL_ON_DUCKDB):
            from funnelscope.analyses.traffic import portable as P

            return P.spend(ws, k, columns, first, last)
        cur = ws.duckdb.execute(sql.spend_sql(k, columns, first, last))
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}

    overall = rows(None)
    total = overall.get("all")
    for c, enables in (("impressions", "CTR and CPM"), ("clicks", "CTR, CPC and conversions "
                                                                   "per click")):
        if c not in columns:
            notes.append(f"the spend table has no {c} column: add {c} to get {enables}")
        elif total is not None and total[f"n_{c}"] < total["n_rows"]:
            lacking = total["n_rows"] - total[f"n_{c}"]
            notes.append(f"{lacking} spend row{'s' if lacking != 1 else ''} of the range "
                         f"lack{'s' if lacking == 1 else ''} {c}: {enables} are null where "
                         f"that happens (fill {c} in the spend table)")
    if total is None:
        notes.append("the spend table has no rows in the range: spend metrics are null")
    return overall, rows(key) if key else {}, {"first": first, "last": last}


def _local_day(us: int, tz: str) -> str:
    from zoneinfo import ZoneInfo

    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))
    return t.astimezone(ZoneInfo(tz)).date().isoformat()


def _iso(us: int | None, tz: str) -> str | None:
    if us is None:
        return None
    from zoneinfo import ZoneInfo

    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))
    return t.astimezone(ZoneInfo(tz)).isoformat()


def _empty(key: str) -> dict[str, Any]:
    return {"k0": key, "pv": 0, "uv": 0, "sessions": 0, "new_visitors": 0, "bounces": 0,
            "events": 0, "duration_us": 0, "conversions": 0, "converting_users": 0}


def _ratio(a: Any, b: Any, scale: float = 1.0) -> float | None:
    return None if a is None or b is None or b == 0 else scale * float(a) / float(b)


def _row(r: dict[str, Any], pages: Any, conversions: Any, spend: dict | None,
         has_spend: bool = True, *, spend_on: bool = True) -> dict[str, Any]:
    sessions = int(r["sessions"])
    pv = int(r["pv"]) if pages is not None else None
    conv = int(r["conversions"]) if conversions is not None else None
    buyers = int(r["converting_users"]) if conversions is not None else None
    out = {
        "pv": pv, "uv": int(r["uv"]), "sessions": sessions,
        "new_visitors": int(r["new_visitors"]), "bounces": int(r["bounces"]),
        "bounce_rate": _ratio(r["bounces"], sessions),
        "pages_per_session": _ratio(pv, sessions), "events": int(r["events"] or 0),
        "events_per_session": _ratio(r["events"], sessions),
        "avg_session_seconds": _ratio(r["duration_us"], sessions, 1e-6),
        "conversions": conv, "converting_users": buyers,
        "conversion_rate": _ratio(buyers, int(r["uv"])),
    }
    if not spend_on:
        return out
    s = spend if has_spend and spend is not None else {}
    cost = float(s["cost"]) if s.get("cost") is not None else None
    imp = float(s["impressions"]) if s.get("impressions") is not None and \
        s["n_impressions"] == s["n_rows"] else None
    clicks = float(s["clicks"]) if s.get("clicks") is not None and \
        s["n_clicks"] == s["n_rows"] else None
    out.update(cost=cost, impressions=imp, clicks=clicks, ctr=_ratio(clicks, imp),
               cpc=_ratio(cost, clicks), cpm=_ratio(cost, imp, 1000.0),
               cost_per_conversion=_ratio(cost, conv),
               conversion_rate_per_click=_ratio(conv, clicks))
    return out


def _frame(records: list[dict], keys: list[str] | None, spend: bool = True) -> Any:
    import pandas as pd

    cols = [*(keys or []), *TRAFFIC_COLUMNS, *(SPEND_COLUMNS if spend else [])]
    return pd.DataFrame(records, columns=cols)
