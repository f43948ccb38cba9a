"""The experiment's per-user metrics as Ibis expressions: the relations of :mod:`.engine` on
any engine (PySpark, and DuckDB through Ibis).

Same relations, same semantics as the SQL text of :mod:`.engine` (held equal by
``tests/experiment/test_spark_backends.py``):

* **units** — ``code, variant, n_variants, anchor`` (µs since the epoch): first exposure to
  the experiment (:func:`exposure_units`) or first entry event of the funnel
  (:func:`column_units`). ``code`` is the funnel kernel's entity code on that engine (an
  integer id itself; a text id ``hash >> 1`` on DuckDB, ``xxhash64 >> 1`` on Spark), so the
  funnel's levels join the units.
* **per-user metrics** — ``code, y, x``: y in [anchor, anchor + W], x in [anchor − W, anchor)
  (:func:`count_values`, :func:`revenue_values`); conversion after an anchor runs the funnel
  kernel on :func:`anchored_feed` (:func:`anchored_conversion`): on DuckDB over the feed's
  Arrow batches, on Spark inside ``repartition(entity).mapInArrow`` like the funnel, so the
  per-user flags stay in Spark.
* **summaries** — per variant: n, Σy, mean, sample variance of y and x, sample covariance
  (:func:`summaries`).

Only per-variant rows (and the experiment names) come back to Python; the events never do.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from funnelscope.engine.timezones import epoch_us


@ibis.udf.scalar.builtin(name="xxhash64")
def _xxhash64(value: str) -> dt.int64:
    """Spark: 64-bit xxHash (the funnel's entity code on Spark is this >> 1)."""


@ibis.udf.scalar.builtin(name="hash")
def _duckdb_hash(value: str) -> dt.uint64:
    """DuckDB: 64-bit hash (the funnel's entity code on DuckDB is this >> 1)."""


def native_ids(ws: Any) -> bool:
    """True when the events' user_id is an integer the funnel uses as its own entity code."""
    dtype = ws.events.user_id.type()
    if ws.engine == "pyspark":
        return dtype.is_int32() or dtype.is_int64()
    return dtype.is_integer() and not dtype.is_uint64()


def entity_code(ws: Any, column: Any, native: bool, user_table: bool = False) -> Any:
    """The funnel kernel's int64 entity code of a user_id column (:mod:`.engine`'s
    ``event_code`` / ``user_code``): ids of a user table that are not integers when the
    events' are give NULL."""
    if native:
        return column.try_cast("int64") if user_table else column.cast("int64")
    text = column if column.type().is_string() else column.cast("string")
    if ws.engine == "pyspark":
        return (_xxhash64(text) >> 1).cast("int64")
    return (_duckdb_hash(text) >> 1).cast("int64")


def events_of(ws: Any, native: bool, names: Sequence[str] | None = None) -> Any:
    """``code, t, event`` of the events (optionally only those named ``names``)."""
    t = ws.events
    preds = [t.user_id.notnull(), t.ts.notnull()]
    if names is not None:
        preds.append(t.event.isin(list(names)))
    t = t.filter(*preds)
    return t.select(code=entity_code(ws, t.user_id, native), t=epoch_us(ws, t.ts), event=t.event)


def experiments(ws: Any) -> list[str]:
    """Experiment names of the exposures table, most exposures first (then by name)."""
    x = ws.table("exposures")
    x = x.filter(x.experiment.notnull())
    g = x.group_by(e=x.experiment.cast("string")).agg(n=x.count()).order_by([ibis.desc("n"), "e"])
    return [str(v) for v in g.to_pyarrow()["e"].to_pylist()]


def _between(value: Any, start_us: int | None, end_us: int | None) -> list:
    preds = []
    if start_us is not None:
        preds.append(value >= int(start_us))
    if end_us is not None:
        preds.append(value < int(end_us))
    return preds


def exposure_units(ws: Any, experiment: str, native: bool, start_us: int | None,
                   end_us: int | None) -> Any:
    """Users exposed to ``experiment``: variant(s) over all their exposures, anchor = their
    first exposure; only users whose first exposure lies in [start, end)."""
    x = ws.table("exposures")
    x = x.filter(x.experiment.cast("string") == str(experiment), x.user_id.notnull(),
                 x.variant.notnull(), x.ts.notnull())
    x = x.select(code=entity_code(ws, x.user_id, native, user_table=True),
                 variant=x.variant.cast("string"), t=epoch_us(ws, x.ts))
    x = x.filter(x.code.notnull())
    g = x.group_by("code").agg(variant=x.variant.min(), n_variants=x.variant.nunique(),
                               anchor=x.t.min())
    preds = _between(g.anchor, start_us, end_us)
    return g.filter(*preds) if preds else g


def column_variants(ws: Any, table: Any, column: str, native: bool, user_table: bool) -> Any:
    """``code, variant, n_variants`` from a relation with user_id and ``column``: the one
    non-null value per user (min) and how many distinct values the user has."""
    r = table.filter(table[column].notnull(), table.user_id.notnull())
    r = r.select(code=entity_code(ws, r.user_id, native, user_table),
                 v=r[column].cast("string"))
    return r.group_by("code").agg(variant=r.v.min(), n_variants=r.v.nunique())


def column_units(ws: Any, filtered_events: Any, entry_names: Sequence[str], native: bool,
                 variants: Any) -> Any:
    """Users entering the funnel (an entry event among ``filtered_events``): anchor = their
    first entry event; variant and n_variants (0 without one) from ``variants``."""
    f = filtered_events.filter(filtered_events.event.isin(list(entry_names)))
    f = f.select(code=entity_code(ws, f.user_id, native), t=epoch_us(ws, f.ts))
    entry = f.group_by("code").agg(anchor=f.t.min())
    v = variants.select(vcode="code", variant="variant", n_variants="n_variants")
    j = entry.left_join(v, entry.code == v.vcode)
    return j.select(code=j.code, variant=j.variant, n_variants=j.n_variants.fill_null(0),
                    anchor=j.anchor)


def _windowed(units: Any, rows: Any, window_us: int) -> tuple[Any, Any, Any]:
    """``units`` joined with ``rows`` (code, t, ...) on code, rows within [anchor − W,
    anchor + W]; and the post / pre predicates on the joined table."""
    w = int(window_us)
    j = units.select("code", "anchor").join(rows, "code")
    j = j.filter(j.t >= j.anchor - w, j.t <= j.anchor + w)
    post = (j.t >= j.anchor) & (j.t <= j.anchor + w)
    pre = (j.t >= j.anchor - w) & (j.t < j.anchor)
    return j, post, pre


def count_values(units: Any, events: Any, window_us: int) -> Any:
    """``code, y, x``: events of one name in the window (y) and in the pre-period (x)."""
    j, post, pre = _windowed(units, events, window_us)
    return j.group_by("code").agg(y=j.count(where=post), x=j.count(where=pre))


def revenue_values(ws: Any, units: Any, native: bool, window_us: int) -> Any:
    """``code, y, x``: sum of orders.amount in the window (y) and in the pre-period (x)."""
    o = ws.table("orders")
    o = o.filter(o.user_id.notnull(), o.ts.notnull(), o.amount.notnull())
    o = o.select(code=entity_code(ws, o.user_id, native, user_table=True),
                 t=epoch_us(ws, o.ts), amount=o.amount.cast("float64"))
    j, post, pre = _windowed(units, o, window_us)
    return j.group_by("code").agg(y=j.amount.sum(where=post).fill_null(0.0),
                                  x=j.amount.sum(where=pre).fill_null(0.0))


def anchored_feed(units: Any, events: Any, steps: Sequence[str], window_us: int,
                  post: bool) -> Any:
    """The kernel feed of "the steps after the anchor" (``entity, ts, mask``): a synthetic
    step-1 event per user at the anchor (post) or at anchor − W (pre), then the users' step
    events (bit j for step j) inside [anchor, anchor + W] (post) or [anchor − W, anchor)."""
    bits: dict[str, int] = {}
    for j, name in enumerate(steps, 1):
        bits[name] = bits.get(name, 0) | (1 << j)
    w = int(window_us)
    first = units.select(entity=units.code,
                         ts=(units.anchor if post else units.anchor - w).cast("int64"),
                         mask=ibis.literal(1, "int64"))
    ev = events.filter(events.event.isin(list(bits)))
    j = units.select("code", "anchor").join(ev, "code")
    cond = ((j.t >= j.anchor) & (j.t <= j.anchor + w)) if post else \
        ((j.t >= j.anchor - w) & (j.t < j.anchor))
    mask = ibis.cases(*[(j.event == name, m) for name, m in bits.items()], else_=0)
    rest = j.filter(cond).select(entity=j.code, ts=j.t.cast("int64"), mask=mask.cast("int64"))
    return first.union(rest, distinct=False)


class Scratch:
    """Relations made for one run (Ibis caches, Spark temporary views): released on close."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._cached: list = []
        self._views: list = []

    def cache(self, expr: Any) -> Any:
        """``expr`` computed once (a temporary table on DuckDB, a cached view on Spark)."""
        out = expr.cache()
        self._cached.append(out)
        return out

    def flags(self, codes: Any, values: Any) -> Any:
        """An Ibis table ``code, y`` from two int64 arrays computed in Python (the funnel's
        per-entry levels)."""
        import pyarrow as pa

        table = pa.table({"code": pa.array(codes, pa.int64()), "y": pa.array(values, pa.int64())})
        if self.ws.engine != "pyspark":
            return ibis.memtable(table)
        session = self.ws.backend._session
        df = session.createDataFrame(table.to_pandas(), "code long, y long")
        return self._view(df)

    def _view(self, df: Any) -> Any:
        name = f"__fs_exp_{uuid.uuid4().hex[:12]}"
        df = df.cache()
        df.createOrReplaceTempView(name)
        self._views.append((name, df))
        return self.ws.backend.table(name)

    def close(self) -> None:
        for expr in self._cached:
            with contextlib.suppress(Exception):  # best effort on a closed connection
                expr.release()
        for name, df in self._views:
            with contextlib.suppress(Exception):
                self.ws.backend._session.catalog.dropTempView(name)
                df.unpersist()
        self._cached, self._views = [], []


def anchored_conversion(scratch: Scratch, feed: Any, n_steps: int, window_us: int,
                        mode: str) -> Any:
    """Ibis table ``code, y``: y = 1 when the user's ``feed`` (:func:`anchored_feed`) reaches
    all ``n_steps`` steps after the synthetic first one, by the funnel kernel (ordered / any
    mode semantics of docs/funnels.md). DuckDB: the kernel reads the feed's Arrow batches;
    Spark: the kernel runs per entity partition (``mapInArrow``) and the flags stay in Spark."""
    import numpy as np
    import pyarrow as pa

    from funnelscope.analyses.funnel.kernel import KernelSpec, run_kernel

    ws = scratch.ws
    k = n_steps + 1
    kspec = KernelSpec(n_steps=k, window_us=int(window_us), mode=mode)
    schema = pa.schema([("entity", pa.int64()), ("ts", pa.int64()), ("mask", pa.uint32())])
    if ws.engine != "pyspark":
        from funnelscope.analyses.funnel.scan import ReleasingBatches

        table = ws.backend.to_pyarrow(feed).cast(schema)
        out = run_kernel(ReleasingBatches(table.to_batches()), kspec)
        del table
        return ibis.memtable(pa.table({"code": pa.array(out.entity, pa.int64()),
                                       "y": pa.array((out.level >= k).astype(np.int64),
                                                     pa.int64())}))
    from pyspark.sql import types as T  # noqa: N812

    session = ws.backend._session
    df = session.sql(ws.backend.compile(feed))
    parts = max(1, int(session.conf.get("spark.sql.shuffle.partitions", "4")))
    out_schema = T.StructType([T.StructField("code", T.LongType()),
                               T.StructField("y", T.LongType())])

    def per_partition(batches):
        cast = [b.cast(schema) for b in batches]
        if not cast:
            return
        res = run_kernel(cast, kspec)
        yield pa.RecordBatch.from_pydict({
            "code": pa.array(res.entity, pa.int64()),
            "y": pa.array((res.level >= k).astype(np.int64), pa.int64())})

    return scratch._view(df.repartition(parts, "entity").mapInArrow(per_partition, out_schema))


def summaries(units: Any, values: Sequence[tuple[Any, Any]]) -> list[tuple]:
    """:mod:`.engine`'s ``summaries`` on Ibis relations: one row per variant (sorted) of the
    users with exactly one variant: ``variant, n``, then per metric ``sum_y, mean_y, var_y,
    mean_x, var_x, cov_xy``. ``values``: per metric its ``code, y`` relation and its ``code,
    x`` relation (None: no covariate); users absent from a relation count 0."""
    t = units.filter(units.n_variants == 1).select("code", "variant")
    names = []
    for i, (yrel, xrel) in enumerate(values):
        both = xrel is yrel
        rel = yrel.select(c=yrel.code, **{f"y{i}": yrel.y, **({f"x{i}": yrel.x} if both else {})})
        t = t.left_join(rel, t.code == rel.c).drop("c")
        if xrel is not None and not both:
            xr = xrel.select(c=xrel.code, **{f"x{i}": xrel.x})
            t = t.left_join(xr, t.code == xr.c).drop("c")
        names.append((f"y{i}", f"x{i}" if xrel is not None else None))
    agg: dict[str, Any] = {"n": t.count()}
    for i, (yn, xn) in enumerate(names):
        y = t[yn].fill_null(0).cast("float64")
        agg.update({f"s{i}": y.sum(), f"m{i}": y.mean(), f"v{i}": y.var(how="sample")})
        if xn is not None:
            x = t[xn].fill_null(0).cast("float64")
            agg.update({f"mx{i}": x.mean(), f"vx{i}": x.var(how="sample"),
                        f"c{i}": y.cov(x, how="sample")})
    rows = t.group_by("variant").agg(**agg).order_by("variant").to_pyarrow().to_pylist()
    out = []
    for r in rows:
        row: list = [r["variant"], int(r["n"])]
        for i, (_, xn) in enumerate(names):
            row += [r[f"s{i}"], r[f"m{i}"], r[f"v{i}"]]
            row += [r[f"mx{i}"], r[f"vx{i}"], r[f"c{i}"]] if xn is not None else [None] * 3
        out.append(tuple(row))
    return out


def unit_counts(units: Any) -> tuple[int, int, int]:
    """(users in the experiment, users with several variants, users without a variant)."""
    r = units.agg(total=units.count(), multiple=units.count(where=units.n_variants > 1),
                  none=units.count(where=units.n_variants == 0)).to_pyarrow().to_pylist()[0]
    return int(r["total"] or 0), int(r["multiple"] or 0), int(r["none"] or 0)
