"""The paths analysis as DuckDB SQL text: window functions over each user's ordered events.

Every query starts from :func:`ordered_events_sql`: the events with user ``u``, event ``e``,
time ``t`` (µs since the epoch) and ``pos``, the event's place in the user's **total order**
``(ts, event_id NULLS LAST, event)`` (``row_number``). Events tied on all three have the same
name, so every answer is the same whichever of them comes first.

:func:`user_paths_sql` gives one row per anchored user: ``path`` (what the ``paths`` table
counts) and ``chain`` (the path with its anchor, what the transitions count). No Python loop
ever walks the events: anchors are ``min``/``max`` of ``pos``, runs of repeats are dropped with
``LAG``/``LEAD``, paths are ``list(e ORDER BY d)`` of the first ``depth`` numbered events.

Every user-supplied name reaches SQL through :func:`funnelscope.sqlsafe.literal` /
:func:`~funnelscope.sqlsafe.ident`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from funnelscope.analyses.paths.spec import END, START
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.analyses.paths.spec import PathsSpec


def ordered_events_sql(source: str, code: str, population: str | None,
                       has_event_id: bool = True) -> str:
    """SQL of the events in each user's total order: columns u, e, t (µs), pos (1-based).

    ``source``: SQL of the events relation. ``code``: SQL of the user's entity code (the
    funnel's), used only when ``population`` (SQL selecting the kept users' ``code``s) is
    given. Rows without a user, an event name or a time are left out.
    """
    tie = f"{ident('event_id')} NULLS LAST, " if has_event_id else ""
    keep = f" AND {code} IN ({population})" if population else ""
    return (
        f"SELECT {ident('user_id')} AS u, {ident('event')} AS e, epoch_us({ident('ts')}) AS t, "  # noqa: S608
        f"row_number() OVER (PARTITION BY {ident('user_id')} ORDER BY {ident('ts')}, {tie}"
        f"{ident('event')}) AS pos "
        f"FROM ({source}) AS fs_src WHERE {ident('user_id')} IS NOT NULL AND "
        f"{ident('event')} IS NOT NULL AND {ident('ts')} IS NOT NULL{keep}"
    )


def users_sql(source: str, code: str, population: str | None) -> str:
    """SQL counting the users :func:`ordered_events_sql` considers (no window needed)."""
    keep = f" AND {code} IN ({population})" if population else ""
    return (f"SELECT count(DISTINCT {ident('user_id')}) FROM ({source}) AS fs_src "  # noqa: S608
            f"WHERE {ident('user_id')} IS NOT NULL AND {ident('event')} IS NOT NULL AND "
            f"{ident('ts')} IS NOT NULL{keep}")


def _anchor_sql(spec: PathsSpec) -> str:
    """One row per anchored user: u, apos (the anchor's pos; 0 = before the first event),
    at (the anchor's time; the first event's for the journey start)."""
    if spec.anchor is None:
        return "SELECT u, 0 AS apos, min(t) AS at FROM ev GROUP BY u"
    pick = "max" if spec.occurrence == "last" else "min"
    return (f"SELECT ev.u, ev.pos AS apos, ev.t AS at FROM ev JOIN "  # noqa: S608
            f"(SELECT u, {pick}(pos) AS apos FROM ev WHERE e = {literal(spec.anchor)} "
            f"GROUP BY u) AS pick ON ev.u = pick.u AND ev.pos = pick.apos")


def user_paths_sql(spec: PathsSpec, source: str, code: str, population: str | None,
                   has_event_id: bool = True) -> str:
    """SQL with one row per anchored user: ``u``, ``path`` (list of event names, with the
    ``(end)`` / ``(start)`` marker when shorter than ``depth``) and ``chain`` (the path with
    its anchor: the anchor event, or ``(start)`` for the journey start, first when reading
    forwards, last when reading backwards)."""
    depth = int(spec.depth)
    within = spec.within_us
    backwards = spec.direction == "before"
    if backwards:
        window = "ev.pos <= a.apos" + (f" AND a.at - ev.t <= {int(within)}" if within is not None else "")
        neighbour = "lead(e) OVER (PARTITION BY u ORDER BY pos)"
        order = "pos DESC"
    else:
        window = "ev.pos >= a.apos" + (f" AND ev.t - a.at <= {int(within)}" if within is not None else "")
        neighbour = "lag(e) OVER (PARTITION BY u ORDER BY pos)"
        order = "pos"
    # the anchor row is numbered 0; the journey start has no anchor row, so its events start at 1
    offset = 0 if spec.anchor is None else 1
    repeats = "" if spec.keep_repeats else " WHERE nb IS NULL OR e <> nb"
    listed = "list(e ORDER BY d DESC)" if backwards else "list(e ORDER BY d)"
    shown = (f"coalesce({listed} FILTER (WHERE d >= 1), CAST([] AS VARCHAR[]))")
    if backwards:
        path = f"CASE WHEN len(p) < {depth} THEN list_prepend({literal(START)}, p) ELSE p END"
    else:
        path = f"CASE WHEN len(p) < {depth} THEN list_append(p, {literal(END)}) ELSE p END"
    if spec.to is not None:  # paths to conversion end with the conversion event itself
        path = f"list_append({path}, {literal(spec.to)})"
        chain = "path"
    elif backwards:
        chain = f"list_append(path, {literal(spec.anchor)})"
    else:
        head = literal(START) if spec.anchor is None else literal(spec.anchor)
        chain = f"list_prepend({head}, path)"
    return f"""
WITH ev AS ({ordered_events_sql(source, code, population, has_event_id)}),
a AS ({_anchor_sql(spec)}),
win AS (SELECT ev.u, ev.e, ev.pos FROM ev JOIN a ON ev.u = a.u WHERE {window}),
seq AS (SELECT u, e, pos, {neighbour} AS nb FROM win),
num AS (SELECT u, e, row_number() OVER (PARTITION BY u ORDER BY {order}) - {offset} AS d
        FROM seq{repeats}),
per AS (SELECT u, {shown} AS p FROM num WHERE d <= {depth} GROUP BY u),
paths AS (SELECT u, {path} AS path FROM per)
SELECT u, path, {chain} AS chain FROM paths"""  # noqa: S608


def top_paths_sql(table: str, top: int) -> str:
    """The ``top`` most common paths of the per-user table (ties: the path's list order),
    then one row (rank NULL) summing the rest: columns rank, path, users, paths."""
    return f"""
WITH counted AS (SELECT path, count(*) AS users FROM {ident(table)} GROUP BY path),
ranked AS (SELECT path, users, row_number() OVER (ORDER BY users DESC, path) AS rank FROM counted)
SELECT rank, path, users, 1 AS paths FROM ranked WHERE rank <= {int(top)}
UNION ALL
SELECT NULL, NULL, sum(users), count(*) FROM ranked WHERE rank > {int(top)} HAVING count(*) > 0
ORDER BY rank NULLS LAST"""  # noqa: S608


def path_transitions_sql(table: str, backwards: bool) -> str:
    """Depth-wise pairs of the per-user ``chain``s (path with anchor): depth 1 is the pair next to the
    anchor, depth d the pair d steps away (forwards: ``chain[d] -> chain[d+1]``; backwards:
    ``chain[L-d] -> chain[L-d+1]``). users = users with that pair at that depth."""
    if backwards:
        a, b = "chain[len(chain) - d]", "chain[len(chain) - d + 1]"
    else:
        a, b = "chain[d]", "chain[d + 1]"
    return f"""
SELECT d AS depth, {a} AS "from", {b} AS "to", count(*) AS users
FROM (SELECT chain, unnest(range(1, len(chain))) AS d FROM {ident(table)})
GROUP BY ALL"""  # noqa: S608


def matrix_sql(events: str, keep_repeats: bool) -> str:
    """The first-order transition matrix of every anchored user's whole log: each event to
    the user's next event (runs of repeats are one event unless ``keep_repeats``).
    ``events``: SQL of the ordered events (u, e, t, pos)."""
    repeats = "" if keep_repeats else " AND e <> prev"
    return f"""
SELECT prev AS "from", e AS "to", count(*) AS transitions, count(DISTINCT u) AS users
FROM (SELECT u, e, lag(e) OVER (PARTITION BY u ORDER BY pos) AS prev FROM ({events}))
WHERE prev IS NOT NULL{repeats}
GROUP BY ALL"""  # noqa: S608
