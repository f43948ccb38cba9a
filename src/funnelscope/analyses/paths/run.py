"""Run a paths request on a DuckDB workspace (docs/journeys.md).

Steps, all in DuckDB:

1. with ``dropped`` / ``converted``, the funnel engine (:func:`funnelscope.analyses.funnel.funnel`)
   finds each user's level over ``steps``; the codes of the users kept (level == the anchor
   step: dropped; level > it: converted) go to DuckDB as a registered Arrow column and the
   events are joined on the funnel's own entity code, so no id list is built in Python;
2. one temporary table holds each anchored user's path (``sql.user_paths_sql``: window
   functions and ``list(... ORDER BY ...)``; one row per user, at most depth + 2 names);
3. the top paths, their transitions (or the whole-log matrix) and the sessions are small
   ``GROUP BY`` answers read from it and from the events.

Spark runs the same steps as the Ibis relations of :mod:`.portable` (the kept users' codes go
to Spark as a cached temporary view; one row per distinct path, the matrix pairs and the session
answers come back, never the events); other engines raise a
:class:`~funnelscope.errors.SpecError`. The JSON is the same (tests/paths/test_spark_backends.py).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import pandas as pd

from funnelscope.analyses.event_names import check_event_names
from funnelscope.analyses.paths import sql
from funnelscope.analyses.paths.request import resolve
from funnelscope.analyses.paths.result import PATH_COLUMNS, TRANSITION_COLUMNS, PathsResult
from funnelscope.analyses.paths.sessions import STEP_COLUMNS, SUMMARY_COLUMNS, sessions
from funnelscope.analyses.paths.spec import OTHER, PathsSpec
from funnelscope.errors import SpecError
from funnelscope.sqlsafe import ident

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: DuckDB runs the SQL text of :mod:`.sql` (True) or the Ibis relations of :mod:`.portable`
#: that Spark runs (False). Both give the same JSON (tests/paths/test_spark_backends.py); the
#: SQL text is the DuckDB path (unchanged, and it needs no Ibis compilation).
SQL_ON_DUCKDB = True


def paths(
    ws: Workspace,
    after: str | None = None,
    before: str | None = None,
    to: str | None = None,
    occurrence: str = "first",
    depth: int = 3,
    within: str | None = None,
    keep_repeats: bool = False,
    dropped: bool = False,
    converted: bool = False,
    steps: list[str] | str | None = None,
    window: str | None = None,
    mode: str | None = None,
    top: int = 20,
    matrix: bool = False,
    session_gap: str = "30m",
    funnel: str | None = None,
) -> PathsResult:
    """User paths around an event, transitions and sessions: a :class:`PathsResult`.

    after: paths of the ``depth`` events after each user's first (``occurrence="last"``:
    last) ``after`` event. before: the ``depth`` events leading to it. to: the most common
    paths to each user's first ``to`` event (the ``depth`` events before it, then the event
    itself). None of the three: each user's first ``depth`` events. Runs of one event count
    once unless ``keep_repeats``; ``within`` (e.g. "1d") keeps only events at most that long
    from the anchor; a path shorter than ``depth`` ends with ``(end)`` (starts with
    ``(start)`` before an anchor). dropped / converted: only users whose funnel over
    ``steps`` (``window``, default 7d; ``mode``, default ordered) stopped at the anchor step /
    reached a later one; without steps, the funnel named ``funnel`` in funnelscope.yml, else
    its first funnel whose steps include the anchor (not last).
    top: paths listed (the rest is one "(other)" row). matrix: transitions of the whole logs
    instead of the paths. session_gap: inactivity that ends a session (a gap exactly this
    long does not). Times: seconds. Exact rules: docs/journeys.md.

    >>> ws.paths(after="checkout", dropped=True, steps=["view", "add_to_cart", "checkout", "pay"])
    """
    started = time.perf_counter()
    if isinstance(steps, str):
        from funnelscope.analyses.event_names import split_names

        steps = split_names(steps)
    steps, window, mode, funnel = resolve(
        getattr(ws, "definitions", None), after or before, bool(dropped or converted), funnel,
        list(steps) if steps else None, window, mode)
    spec = PathsSpec(after=after, before=before, to=to, occurrence=occurrence, depth=depth,
                     within=within, keep_repeats=keep_repeats, dropped=dropped,
                     converted=converted, steps=tuple(steps or ()), window=window, mode=mode,
                     top=top, matrix=matrix, session_gap=session_gap, funnel=funnel)
    if ws.engine not in ("duckdb", "pyspark"):
        raise SpecError(f"paths run on DuckDB and PySpark workspaces, not on {ws.engine}.",
                        hint="Load the events into a DuckDB workspace (funnelscope load FILE "
                             "--workspace W), analyse the file in place (--events FILE) or "
                             "open them with fs.connect(spark_session).")
    for option, names in spec.event_names().items():
        check_event_names(ws, names, option)
    if ws.engine != "duckdb" or not SQL_ON_DUCKDB:
        return _paths_portable(ws, spec, started)
    from funnelscope.analyses.funnel.duckdb_feed import Source

    source = Source.of(ws)
    con = ws.duckdb
    meta: dict[str, Any] = {"mode": spec.mode_name, "direction": spec.direction,
                            "anchor": spec.anchor}
    registered: str | None = None
    table = f"__fs_paths_{uuid.uuid4().hex}"
    try:
        code, population = "NULL", None
        if spec.dropped or spec.converted:
            registered, code, meta["funnel"] = _population(ws, spec, source)
            population = f"SELECT code FROM {ident(registered)}"  # noqa: S608
        has_id = "event_id" in source.types
        events = sql.ordered_events_sql(source.sql, code, population, has_id)
        con.execute(f"CREATE TEMP TABLE {ident(table)} AS "
                    + sql.user_paths_sql(spec, source.sql, code, population, has_id))
        anchored = int(con.execute(f"SELECT count(*) FROM {ident(table)}").fetchone()[0])  # noqa: S608
        users = int(con.execute(sql.users_sql(source.sql, code, population)).fetchone()[0])
        path_rows, other_paths, distinct = _top_paths(con, table, spec.top, anchored)
        scope = events if spec.anchor is None else \
            f"SELECT * FROM ({events}) AS fs_ev WHERE u IN (SELECT u FROM {ident(table)})"  # noqa: S608
        if spec.matrix:
            transitions = _matrix(con, scope, spec.keep_repeats)
        else:
            transitions = _path_transitions(con, table, spec.direction == "before")
        summary, steps_rows = sessions(con, scope, spec.session_gap_us)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {ident(table)}")
        if registered is not None:
            con.unregister(registered)
    return _paths_result(ws, spec, started, meta, path_rows, transitions, summary, steps_rows,
                         users=users, anchored_users=anchored, distinct_paths=distinct,
                         other_paths=other_paths)


def _paths_result(ws: Workspace, spec: PathsSpec, started: float, meta: dict,
                  path_rows: list, transitions: list, summary: list, steps_rows: list,
                  **counts: int) -> PathsResult:
    """The :class:`PathsResult` of either engine: its four tables and ``meta`` with the counts,
    engine, time zone and run time (s)."""
    meta.update(counts, engine=ws.engine, timezone=ws.config.timezone,
                elapsed_s=round(time.perf_counter() - started, 4))
    tables = {
        "paths": pd.DataFrame(path_rows, columns=PATH_COLUMNS),
        "transitions": pd.DataFrame(transitions, columns=TRANSITION_COLUMNS),
        "sessions": pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
        "time_on_step": pd.DataFrame(steps_rows, columns=STEP_COLUMNS),
    }
    return PathsResult(spec=spec, tables=tables, meta=meta)


def _population(ws: Workspace, spec: PathsSpec, source: Any) -> tuple[str, str, dict]:
    """Run the funnel; register the kept users' entity codes. Returns (registered name, SQL
    of the events' entity code, facts for meta)."""
    import pyarrow as pa

    from funnelscope.analyses.funnel.duckdb_feed import entity_code

    result, codes, facts = _split(ws, spec)
    name = f"__fs_paths_users_{uuid.uuid4().hex}"
    ws.duckdb.register(name, pa.table({"code": pa.array(codes, pa.int64())}))
    return name, entity_code(result.spec, source), facts


def _split(ws: Workspace, spec: PathsSpec) -> tuple[Any, Any, dict]:
    """Run the funnel: (its result, the kept users' entity codes, facts for meta)."""
    import numpy as np

    from funnelscope.analyses.funnel import funnel

    result = funnel(ws, list(spec.steps), spec.window, mode=spec.mode, entity="user",
                    count="uniques")
    j = spec.step_index
    level = result.paths.level
    keep = level == j if spec.dropped else level > j
    codes = np.unique(result.paths.entity[keep]).astype(np.int64)
    facts = {"steps": list(spec.steps), "window": spec.window, "funnel_mode": spec.mode,
             "step": spec.anchor, "step_index": j, "reached_step": int((level >= j).sum()),
             "dropped_after_step": int((level == j).sum()),
             "reached_next_step": int((level > j).sum()),
             "kept": "dropped" if spec.dropped else "converted"}
    return result, codes, facts


def _top_paths(con: Any, table: str, top: int, anchored: int) -> tuple[list[dict], int, int]:
    """(rows of the paths table, distinct paths folded into "(other)", distinct paths)."""
    rows, folded, distinct = [], 0, 0
    for rank, path, users, n in con.execute(sql.top_paths_sql(table, top)).fetchall():
        users = int(users)
        share = users / anchored if anchored else None
        if rank is None:
            folded = int(n)
            rows.append({"path": [OTHER], "users": users, "share": share})
        else:
            rows.append({"path": list(path), "users": users, "share": share})
        distinct += int(n)
    return rows, folded, distinct


def _path_transitions(con: Any, table: str, backwards: bool) -> list[dict]:
    rows = con.execute(sql.path_transitions_sql(table, backwards)).fetchall()
    return _transition_records(rows)


def _transition_records(rows: list) -> list[dict]:
    """Records of the transitions table from rows (depth, from, to, users)."""
    out_of: dict[tuple, int] = {}
    for depth, a, _b, users in rows:
        out_of[depth, a] = out_of.get((depth, a), 0) + int(users)
    records = [{"depth": int(d), "from": a, "to": b, "users": int(n), "transitions": int(n),
                "share": int(n) / out_of[d, a]} for d, a, b, n in rows]
    records.sort(key=lambda r: (r["depth"], -r["users"], r["from"], r["to"]))
    return records


def _matrix(con: Any, events: str, keep_repeats: bool) -> list[dict]:
    rows = con.execute(sql.matrix_sql(events, keep_repeats)).fetchall()
    return _matrix_records(rows)


def _matrix_records(rows: list) -> list[dict]:
    """Records of the transitions table from matrix rows (from, to, transitions, users)."""
    out_of: dict[str, int] = {}
    for a, _b, n, _u in rows:
        out_of[a] = out_of.get(a, 0) + int(n)
    records = [{"depth": None, "from": a, "to": b, "users": int(u), "transitions": int(n),
                "share": int(n) / out_of[a]} for a, b, n, u in rows]
    records.sort(key=lambda r: (-r["transitions"], r["from"], r["to"]))
    return records


# ----- any engine (Spark): the Ibis relations of .portable -------------------------------------
def _path_list(spec: PathsSpec, n: int, cols: tuple) -> tuple[list[str], list[str]]:
    """(path, chain) of a user (:func:`.sql.user_paths_sql`) from the numbered events
    ``cols[:n]`` (number 1 nearest the anchor)."""
    from funnelscope.analyses.paths.spec import END, START

    depth = int(spec.depth)
    events = [str(e) for e in cols[:n]]
    if spec.direction == "before":
        path = events[::-1]
        path = [START, *path] if n < depth else path
    else:
        path = [*events, END] if n < depth else events
    if spec.to is not None:
        path = [*path, spec.to]
        return path, path
    if spec.direction == "before":
        return path, [*path, spec.anchor]
    return path, [START if spec.anchor is None else spec.anchor, *path]


def _paths_portable(ws: Workspace, spec: PathsSpec, started: float) -> PathsResult:
    """:func:`paths` on any engine through Ibis (:mod:`.portable`): the same tables."""
    import numpy as np

    from funnelscope.analyses.experiment import portable as X
    from funnelscope.analyses.paths import portable as P

    meta: dict[str, Any] = {"mode": spec.mode_name, "direction": spec.direction,
                            "anchor": spec.anchor}
    scratch = X.Scratch(ws)
    try:
        population = None
        if spec.dropped or spec.converted:
            _result, codes, meta["funnel"] = _split(ws, spec)
            population = scratch.flags(codes, np.zeros(len(codes), np.int64))
        ev = P.ordered_events(ws, population, X.native_ids(ws))
        users = P.user_count(ev)
        anchor = scratch.cache(P.anchors(ev, spec))
        counted = P.path_counts(ev, anchor, spec)
        if spec.anchor is None:
            scope = ev
        else:
            a = P.anchored_users(anchor)
            scope = ev.semi_join(a, ev.u == a.u)
        if spec.matrix:
            transitions = _matrix_records(P.matrix(scope, spec.keep_repeats))
        summary, steps_rows = P.sessions(scope, spec.session_gap_us)
    finally:
        scratch.close()
    backwards = spec.direction == "before"
    by_path: dict[tuple, int] = {}
    pairs: dict[tuple, int] = {}
    for n, cols, count in counted:
        path, chain = _path_list(spec, n, cols)
        by_path[tuple(path)] = by_path.get(tuple(path), 0) + count
        length = len(chain)
        for d in range(1, length):
            a_, b_ = (chain[length - d - 1], chain[length - d]) if backwards else \
                (chain[d - 1], chain[d])
            pairs[d, a_, b_] = pairs.get((d, a_, b_), 0) + count
    anchored = sum(by_path.values())
    ranked = sorted(by_path.items(), key=lambda kv: (-kv[1], [e.encode() for e in kv[0]]))
    path_rows = [{"path": list(p), "users": u, "share": u / anchored if anchored else None}
                 for p, u in ranked[:spec.top]]
    rest = ranked[spec.top:]
    if rest:
        folded = sum(u for _, u in rest)
        path_rows.append({"path": [OTHER], "users": folded,
                          "share": folded / anchored if anchored else None})
    if not spec.matrix:
        transitions = _transition_records([(d, a_, b_, n) for (d, a_, b_), n in pairs.items()])
    return _paths_result(ws, spec, started, meta, path_rows, transitions, summary, steps_rows,
                         users=users, anchored_users=anchored, distinct_paths=len(ranked),
                         other_paths=len(rest))
