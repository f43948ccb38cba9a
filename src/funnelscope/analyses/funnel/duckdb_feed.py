"""The funnel's kernel feed on DuckDB, built as SQL text: the DuckDB twin of ``matching.py``.

``matching.py`` states which events fill which steps as Ibis expressions (used on Spark and
by the portable expression). On DuckDB the same definitions are written here directly as
DuckDB SQL, so a funnel run imports neither Ibis nor pandas (about 0.7 s of a one-shot CLI
run) and DuckDB gets a plan it runs fast: a hash join of the event names against a small
``VALUES`` list when steps are plain event names. The two are held equal by the tests (the
engine on DuckDB against the plain-Python oracle, and DuckDB against Spark).

Every name reaches SQL through :func:`funnelscope.sqlsafe.ident` and every value through
:func:`funnelscope.sqlsafe.literal`.

Kernel feed columns (see ``kernel.py``): ``entity`` (int64 code), ``ts`` (µs), ``mask`` (bit
j-1: matches step j), ``excl`` (bit i: matches exclusion i; only with exclusions) and, with an
event-property breakdown, ``by_value`` (text of the entry events' property, NULL elsewhere),
which :func:`code_breakdown` turns into the kernel's ``row`` column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.funnel.scan import INTEGER_TYPES, entity_code_expr
from funnelscope.analyses.funnel.spec import FunnelSpec, instant_us
from funnelscope.engine.workspace import INTERNAL_COLUMNS, InPlaceView
from funnelscope.errors import SpecError
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

_COMPARE = {"=": "=", "==": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_MICROSECOND_TIMES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP"}
_CANONICAL = ("event_id", "user_id", "event", "ts")


@dataclass(frozen=True)
class Source:
    """The events relation: its SQL, its columns and their DuckDB types.

    ``in_place``: for a file analysed in place, its view's unfiltered projection (rows lacking
    a ``required`` column not yet dropped) and whether file statistics give ``ts``'s min/max;
    None for a table.
    """

    sql: str
    types: dict[str, str]
    in_place: InPlaceView | None = None
    required: tuple[str, ...] = ()

    @classmethod
    def of(cls, ws: Workspace, table: str = "events") -> Source:
        if not ws.has_table(table):
            ws.table(table)  # raises the workspace's "no such table" error with its hint
        sql = f"SELECT * FROM {ident(table)}"  # noqa: S608
        rel = ws.duckdb.sql(sql)
        types = {name: str(t).upper() for name, t in zip(rel.columns, rel.types, strict=True)
                 if name not in INTERNAL_COLUMNS}
        from funnelscope.data.schema import get_schema

        return cls(sql, types, ws.in_place.get(table), get_schema(table).required)

    @property
    def columns(self) -> list[str]:
        return list(self.types)


def condition(source: Source, conds: tuple, what: str) -> str:
    """AND of property conditions ``(name, op, value)`` as SQL (``TRUE`` when there are none)."""
    preds = []
    for name, op, value in conds:
        if name not in source.types:
            props = [c for c in source.columns if c not in (*_CANONICAL, "account_id")]
            raise SpecError(
                f"{what}: the events have no property {name!r}.",
                hint=f"Properties available: {', '.join(props) or 'none'}.",
            )
        col = ident(name)
        if op in _COMPARE:
            preds.append(f"({col} {_COMPARE[op]} {literal(value)})")
        elif op in ("in", "not in"):
            values = list(value)
            inside = f"{col} IN ({', '.join(literal(v) for v in values)})" if values else "FALSE"
            preds.append(f"({inside})" if op == "in" else f"(NOT ({inside}))")
        elif op == "contains":
            preds.append(f"contains(CAST({col} AS VARCHAR), {literal(str(value))})")
        elif op == "is null":
            preds.append(f"({col} IS NULL)")
        elif op == "is not null":
            preds.append(f"({col} IS NOT NULL)")
        else:  # pragma: no cover - FunnelSpec validates operators
            raise SpecError(f"{what}: unknown operator {op!r}.")
    return " AND ".join(preds) or "TRUE"


def _instant_sql(us: int) -> str:
    iso = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).isoformat()
    return f"CAST({literal(iso)} AS TIMESTAMPTZ)"


def filtered(ws: Workspace, spec: FunnelSpec, source: Source, *, named: bool = False) -> str:
    """SQL of the events the funnel analyses: entity present, within start/end, ``where``.

    ``named``: the caller keeps only events whose name equals a step's or exclusion's (never
    NULL). A file in place is then read through its unfiltered projection with the view's
    row filter minus its ``event IS NOT NULL`` test, which the name match implies (that test
    is on the trimmed name and costs about 0.05 s per 10M events).

    A file in place whose view has a ``ts_us`` column (times converted from epochs or naive
    local times) is always read through its projection, and its row filter and start/end test
    that BIGINT column (µs) instead of the TIMESTAMPTZ ``ts``, which then is never computed.
    """
    ent = spec.entity_column
    if ent not in source.types:
        raise SpecError(
            "entity='account' needs an account_id column in the events table.",
            hint="Load events with --map account_id=<your column>.",
        )
    relation = source.sql
    preds = [f"{ident(ent)} IS NOT NULL"]
    view = source.in_place
    fast = view is not None and view.ts_us is not None
    if view is not None and (named or fast):
        relation = view.unfiltered
        preds += [f"{_time_us(source) if c == 'ts' and fast else ident(c)} IS NOT NULL"
                  for c in source.required if not (named and c == "event")]
    tz = ws.config.timezone
    if spec.start:
        start = instant_us(spec.start, tz)
        preds.append(f"{_time_us(source)} >= {int(start)}" if fast
                     else f"ts >= {_instant_sql(start)}")
    if spec.end:
        end = instant_us(spec.end, tz)
        preds.append(f"{_time_us(source)} < {int(end)}" if fast else f"ts < {_instant_sql(end)}")
    if spec.where:
        preds.append(condition(source, spec.where, "where"))
    # each test once: DuckDB pushes a repeated test on a computed column (`user_id IS NOT
    # NULL` from the entity and from the row filter) into the Parquet scan about 10x slower
    preds = list(dict.fromkeys(preds))
    return f"SELECT * FROM ({relation}) AS fs_src WHERE {' AND '.join(preds)}"  # noqa: S608


def entity_is_native(spec: FunnelSpec, source: Source) -> bool:
    """True when the entity column is an integer that serves as its own code."""
    return source.types.get(spec.entity_column) in INTEGER_TYPES


def entity_code(spec: FunnelSpec, source: Source, qualifier: str = "") -> str:
    """SQL of the entity code: the integer id itself, else DuckDB's hash shifted to 63 bits."""
    kind = "integer" if entity_is_native(spec, source) else "hash"
    return entity_code_expr(spec.entity_column, kind, qualifier)


def _time_us(source: Source, prefix: str = "") -> str:
    """SQL of the event time in µs (or a µs TIMESTAMP the kernel reads as such).

    A file in place with a ``ts_us`` column: that column, which only a relation built by
    :func:`filtered` (the view's projection) has.
    """
    if source.in_place is not None and source.in_place.ts_us is not None:
        return prefix + ident(source.in_place.ts_us)
    ts = prefix + "ts"
    return ts if source.types.get("ts") in _MICROSECOND_TIMES else f"epoch_us({ts})"


def kernel_query(ws: Workspace, spec: FunnelSpec, source: Source, *, by_property: bool,
                 all_rows: bool = False) -> str:
    """SQL producing the kernel feed for ``spec`` (columns in the module docstring).

    ``all_rows``: every analysed event (the rows :func:`data_bounds` aggregates), also those
    matching no step or exclusion (``mask`` and ``excl`` 0), as strict mode needs anyway: the
    caller takes the data bounds from the feed and drops those rows (:func:`split_bounds`).
    """
    plain = not any(s.where for s in spec.steps) and not any(e.where for e in spec.exclude)
    keep_all = spec.mode == "strict" or all_rows
    base = filtered(ws, spec, source, named=not keep_all)
    q = "fs_ev."  # the events' own columns, never a VALUES column of the same name
    by = q + ident(spec.by) if by_property else None
    if plain:
        # one hash join against the distinct names: a name used by several steps (or steps
        # and exclusions) carries all their bits. About 30 % less CPU than IN + CASE at 10M
        # events; the names are quoted literals because bound parameters in the VALUES list
        # made DuckDB plan the join badly (6 s instead of 0.14 s).
        bits: dict[str, list[int]] = {}
        for j, s in enumerate(spec.steps):
            bits.setdefault(s.event, [0, 0])[0] |= 1 << j
        for i, e in enumerate(spec.exclude):
            bits.setdefault(e.event, [0, 0])[1] |= 1 << i
        values = ", ".join(f"({literal(name)}, {m}, {x})" for name, (m, x) in bits.items())
        join = "LEFT JOIN" if keep_all else "JOIN"
        mask, excl = "coalesce(fs_steps.mask, 0)", "coalesce(fs_steps.excl, 0)"
        body = (f"FROM ({base}) AS fs_ev {join} (VALUES {values}) AS fs_steps(name, mask, excl) "
                "ON fs_ev.event = fs_steps.name")
        where = ""
    else:
        mask = " + ".join(
            f"(CASE WHEN event = {literal(s.event)} AND {condition(source, s.where, f'step {j} ({s.event})')} "
            f"THEN {1 << (j - 1)} ELSE 0 END)" for j, s in enumerate(spec.steps, 1))
        excl = " + ".join(
            f"(CASE WHEN event = {literal(e.event)} AND {condition(source, e.where, f'exclusion {e.event!r}')} "
            f"THEN {1 << i} ELSE 0 END)" for i, e in enumerate(spec.exclude)) or "0"
        body = f"FROM ({base}) AS fs_ev"
        names = sorted({s.event for s in spec.steps} | {e.event for e in spec.exclude})
        where = "" if keep_all else f" WHERE event IN ({', '.join(literal(n) for n in names)})"
    cols = [f"{entity_code(spec, source, q)} AS entity", f"{_time_us(source, q)} AS ts",
            f"CAST({mask} AS UINTEGER) AS mask"]
    if spec.exclude or (all_rows and spec.mode != "strict"):
        cols.append(f"CAST({excl} AS UINTEGER) AS excl")
    if by is not None:
        cols.append(f"CASE WHEN ({mask}) & {spec.entry_mask} <> 0 THEN CAST({by} AS VARCHAR) "
                    "END AS by_value")
    # every part above is built from ident()/literal() and integers
    sql = f"SELECT {', '.join(cols)} {body}{where}"  # noqa: S608
    if not keep_all and not plain:
        relevant = "mask <> 0 OR excl <> 0" if spec.exclude else "mask <> 0"
        sql = f"SELECT * FROM ({sql}) AS fs_feed WHERE {relevant}"  # noqa: S608
    return sql


def bounds_need_scan(source: Source) -> bool:
    """True when :func:`data_bounds` would aggregate every analysed event: a file in place
    whose times have no statistics to start from (CSV, JSON lines; converted times without a
    Parquet window). The funnel then reads the bounds off its own feed (one pass, not two)."""
    view = source.in_place
    if view is None:
        return False
    return view.ts_window is None if view.ts_us is not None else not view.ts_statistics


def split_bounds(batches: Iterable, spec: FunnelSpec) -> tuple[Any, int | None, int | None]:
    """The min and max ``ts`` (µs) of an ``all_rows`` feed, and its batches for the kernel.

    Outside strict mode, rows matching no step and no exclusion are dropped (each batch
    filtered as it is met, the original released), as the ordinary feed never returns them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from funnelscope.analyses.funnel.scan import ReleasingBatches

    lo = hi = None
    kept = []
    for batch in batches:  # ReleasingBatches: each original is dropped once passed
        if batch.num_rows == 0:
            continue
        bounds = pc.min_max(batch.column("ts").cast(pa.int64()))
        b_lo, b_hi = bounds["min"].as_py(), bounds["max"].as_py()
        lo = b_lo if lo is None else min(lo, b_lo)
        hi = b_hi if hi is None else max(hi, b_hi)
        if spec.mode != "strict":
            relevant = pc.not_equal(pc.bit_wise_or(batch.column("mask"), batch.column("excl")), 0)
            batch = batch.filter(relevant)
            if not spec.exclude:
                batch = batch.drop_columns(["excl"])
        kept.append(batch)
    return ReleasingBatches(kept), lo, hi


def data_bounds(ws: Workspace, spec: FunnelSpec, source: Source) -> tuple[int | None, int | None]:
    """First and last event time (µs) of the analysed events: the default censoring end.

    Exact, and usually without a full scan: the min and max over a superset of the analysed
    events (a Parquet file in place before its row filter, whose statistics DuckDB reads, or a
    loaded table) are candidates; a query restricted to ``ts`` beyond each candidate (which
    DuckDB answers from the few row groups whose zone maps reach it) confirms it. When the
    extreme row itself is filtered out, or the file keeps no usable statistics (CSV, JSON,
    times converted on reading), it aggregates every analysed event instead.
    """
    con = ws.duckdb
    rows = filtered(ws, spec, source)
    literal_of = {"TIMESTAMP WITH TIME ZONE": "CAST(make_timestamp({}) AS TIMESTAMPTZ)",
                  "TIMESTAMP": "make_timestamp({})"}.get(source.types.get("ts"))
    view = source.in_place
    if view is not None and view.ts_us is not None:
        return _converted_bounds(ws, spec, source, rows)
    if literal_of is not None and (view is None or view.ts_statistics):
        superset = source.sql if view is None else view.unfiltered
        lo, hi = con.execute(
            f"SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM ({superset})"  # noqa: S608
        ).fetchone()
        if lo is None:
            return None, None
        first = con.execute(f"SELECT epoch_us(min(ts)) FROM ({rows}) WHERE ts <= "  # noqa: S608
                            f"{literal_of.format(int(lo))}").fetchone()[0]
        last = con.execute(f"SELECT epoch_us(max(ts)) FROM ({rows}) WHERE ts >= "  # noqa: S608
                           f"{literal_of.format(int(hi))}").fetchone()[0]
        if first is not None and last is not None:
            return first, last
    return con.execute(
        f"SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM ({rows})"  # noqa: S608
    ).fetchone()


def _converted_bounds(ws: Workspace, spec: FunnelSpec, source: Source,
                      rows: str) -> tuple[int | None, int | None]:
    """``data_bounds`` for a file in place whose times are converted (``ts_us``).

    With the view's ``ts_window`` (Parquet): the row filter runs only on the rows near the
    file's first and last raw times (a plain comparison on the file's column, materialised
    first so that DuckDB does not fold the row filter into one pass over the file); when
    their first and last analysed times pass the window's tests they are the answer.
    Otherwise it aggregates every analysed event.
    """
    from dataclasses import replace

    con = ws.duckdb
    view = source.in_place
    us = _time_us(source)
    if view.ts_window is not None:
        first_rows, last_rows, first_at_most, last_at_least = view.ts_window
        edge = replace(source, in_place=replace(view, unfiltered="SELECT * FROM fs_edge"))
        first, last = con.execute(
            # one scan per side: a single comparison reaches the Parquet reader, an OR does not
            f"WITH fs_edge AS MATERIALIZED (SELECT * FROM ({view.unfiltered}) AS fs_all "  # noqa: S608
            f"WHERE {first_rows} UNION ALL SELECT * FROM ({view.unfiltered}) AS fs_all "
            f"WHERE {last_rows}) "
            f"SELECT min({us}) FILTER (WHERE {first_rows}), max({us}) FILTER (WHERE {last_rows}) "
            f"FROM ({filtered(ws, spec, edge)}) AS fs_e"
        ).fetchone()
        if first is not None and last is not None and first <= first_at_most \
                and last >= last_at_least:
            return first, last
    return con.execute(f"SELECT min({us}), max({us}) FROM ({rows})").fetchone()  # noqa: S608


def code_breakdown(batches: Iterable, labels: list) -> Iterator:
    """Replace each batch's ``by_value`` text with the kernel's ``row`` column (int64 codes).

    ``labels`` is filled as values are met: code c stands for ``labels[c]``; NULL is -1.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    codes: dict[Any, int] = {}
    for batch in batches:
        names = batch.schema.names
        i = names.index("by_value")
        encoded = pc.dictionary_encode(batch.column(i))
        mapping = []
        for value in encoded.dictionary.to_pylist():
            if value not in codes:
                codes[value] = len(labels)
                labels.append(value)
            mapping.append(codes[value])
        row = pc.take(pa.array(mapping, pa.int64()), encoded.indices).fill_null(-1)
        yield batch.drop_columns(["by_value"]).append_column("row", row)


def attribute_by_code(ws: Workspace, spec: FunnelSpec, source: Source, table: str) -> dict:
    """``by`` from an entity table (customers, segments): entity code -> text value."""
    # an entity table's ids may be text where the events' are integers: TRY_CAST, not CAST
    code = (f"TRY_CAST({ident('user_id')} AS BIGINT)" if entity_is_native(spec, source)
            else entity_code_expr("user_id", "hash"))
    rows = ws.duckdb.execute(
        f"SELECT {code}, CAST({ident(spec.by)} AS VARCHAR) FROM {ident(table)}"  # noqa: S608
    ).fetchall()
    return dict(rows)


def ids_by_code(ws: Workspace, spec: FunnelSpec, codes) -> dict:
    """Hashed entity codes back to the ids in the data: {code: id}."""
    import pyarrow as pa

    source = Source.of(ws)
    col = ident(spec.entity_column)
    code = entity_code_expr(spec.entity_column, "hash")
    con = ws.duckdb
    name = "__fs_codes"
    con.register(name, pa.table({"code": pa.array(codes, pa.int64())}))
    try:
        rows = con.execute(
            f"SELECT c.code, i.entity FROM {name} c JOIN (SELECT DISTINCT {col} AS entity, "  # noqa: S608
            f"{code} AS code FROM ({source.sql}) AS s "
            f"WHERE {col} IS NOT NULL) i USING (code)"
        ).fetchall()
    finally:
        con.unregister(name)
    out: dict = {}
    for c, i in rows:
        if c in out and out[c] != i:
            raise SpecError("two entity ids share a 63-bit hash; report this data set as a bug.")
        out[c] = i
    return out
