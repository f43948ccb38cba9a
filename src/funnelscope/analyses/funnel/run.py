"""Run a funnel spec on a workspace: step events -> per-entry paths -> FunnelResult.

The sequence logic runs in one kernel (``kernel.run_kernel``) on every engine:

* DuckDB: the kernel feed is DuckDB SQL text (``duckdb_feed``: no Ibis, no pandas); DuckDB
  materialises only the columns the kernel needs as Arrow batches on all its threads and the
  kernel copies them batch by batch; the event table never becomes Python objects.
* PySpark: the same kernel runs inside Spark, per partition of entities
  (``repartition(hash(entity)).mapInArrow``), so the work is distributed and the answers are
  identical by construction.

The kernel returns one row per entry (entity, or first-step event for totals): its level and
the reported path's step times (``Entries``). Everything after that is small and computed with
numpy; pandas is imported only for period trends or when a DataFrame is asked for.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from funnelscope.analyses.event_names import (
    check_event_names,
    checking_event_names,
    event_name_counts,
)
from funnelscope.analyses.funnel.entries import NOT_REACHED, Entries, labels_of
from funnelscope.analyses.funnel.spec import FunnelSpec
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    from funnelscope.analyses.funnel.result import FunnelResult
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

ENTITY_TABLES = ("customers", "segments")  # where a `by` that is not an event property is looked up
BATCH_ROWS = 1 << 20


def kernel_spec(spec: FunnelSpec):
    from funnelscope.analyses.funnel.kernel import KernelSpec

    k = len(spec.steps)
    within = tuple(-1 if s.within_us is None else int(s.within_us) for s in spec.steps)
    return KernelSpec(
        n_steps=k, window_us=int(spec.window_us), within_us=within, mode=spec.mode,
        exclusions=tuple((e.from_step, e.to_step) for e in spec.exclude),
        first_time=spec.first_time, count=spec.count,
    )


def run_duckdb(ws: Workspace, spec: FunnelSpec) -> tuple[Entries, dict]:
    """Per-entry paths on DuckDB: SQL-text feed -> Arrow batches -> kernel."""
    from funnelscope.analyses.funnel import duckdb_feed as feed
    from funnelscope.analyses.funnel.kernel import run_kernel
    from funnelscope.analyses.funnel.scan import fetch_batches

    source = feed.Source.of(ws)
    by_property = bool(spec.by) and spec.by in source.types
    one_pass = feed.bounds_need_scan(source)  # a CSV in place: read it once, not twice
    batches = fetch_batches(ws.duckdb, feed.kernel_query(ws, spec, source, by_property=by_property,
                                                         all_rows=one_pass))
    if one_pass:
        batches, lo, hi = feed.split_bounds(batches, spec)
    labels: list = []
    if by_property:
        batches = feed.code_breakdown(batches, labels)
    out = run_kernel(batches, kernel_spec(spec))
    if not one_pass:
        lo, hi = feed.data_bounds(ws, spec, source)
    by_value = labels_of(out.entry_row, labels) if by_property else None
    entries = Entries(out.entity, out.level, out.step_ts, by_value)
    native = feed.entity_is_native(spec, source)
    return entries, {"data_start_us": lo, "data_end_us": hi,
                     "entity_codes": "native" if native else "hash63"}


def run_spark(ws: Workspace, spec: FunnelSpec) -> tuple[Entries, dict]:
    """Per-entry paths on PySpark: the kernel runs per entity partition via mapInArrow."""
    import pyarrow as pa
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql import types as T  # noqa: N812

    from funnelscope.analyses.funnel.kernel import run_kernel
    from funnelscope.analyses.funnel.matching import data_bounds, step_events

    ev = step_events(ws, spec)
    session = ws.backend._session
    df = session.sql(ws.backend.compile(ev))
    by_labels: list[str | None] = []
    by_property = bool(spec.by) and spec.by in ws.events.columns
    if by_property:
        by_labels = sorted(
            (r[0] for r in df.filter(F.col("mask").bitwiseAND(spec.entry_mask) != 0)
             .select("by_value").distinct().collect()),
            key=lambda v: (v is not None, v or ""),
        )
        mapping = session.createDataFrame(
            [(i, v) for i, v in enumerate(by_labels)], "code long, v string"
        )
        df = df.join(mapping, df.by_value.eqNullSafe(mapping.v), "left")
        row_col = F.coalesce(F.col("code"), F.lit(-1)).cast("long")
    else:
        row_col = F.lit(0).cast("long")
    ent = F.col("entity")
    if not isinstance(df.schema["entity"].dataType, (T.LongType, T.IntegerType)):
        ent = F.shiftright(F.xxhash64("entity"), 1)  # 63-bit hash, as on DuckDB's path
    feed = df.select(
        ent.cast("long").alias("entity"), F.col("ts_us").cast("long").alias("ts"),
        F.col("mask").cast("int").alias("mask"), F.col("excl").cast("int").alias("excl"),
        row_col.alias("row"),
    )
    k = len(spec.steps)
    kspec = kernel_spec(spec)
    parts = max(1, int(session.conf.get("spark.sql.shuffle.partitions", "4")))
    schema = T.StructType(
        [T.StructField("entity", T.LongType()), T.StructField("level", T.ByteType()),
         T.StructField("entry_row", T.LongType())]
        + [T.StructField(f"t{j}", T.LongType()) for j in range(1, k + 1)]
    )

    def per_partition(batches):
        cast = [b.cast(pa.schema([("entity", pa.int64()), ("ts", pa.int64()), ("mask", pa.uint32()),
                                   ("excl", pa.uint32()), ("row", pa.int64())])) for b in batches]
        if not cast:
            return
        res = run_kernel(cast, kspec)
        cols = {"entity": pa.array(res.entity, pa.int64()), "level": pa.array(res.level, pa.int8()),
                "entry_row": pa.array(res.entry_row, pa.int64())}
        for j in range(k):
            col = res.step_ts[:, j]
            cols[f"t{j + 1}"] = pa.array(col, pa.int64(), mask=col == NOT_REACHED)
        yield pa.RecordBatch.from_pydict(cols)

    result = feed.repartition(parts, "entity").mapInArrow(per_partition, schema)
    table = pa.Table.from_batches(result._collect_as_arrow()) if hasattr(result, "_collect_as_arrow") \
        else pa.Table.from_pandas(result.toPandas())
    lo, hi = data_bounds(ws, spec)
    step_ts = np.column_stack([
        table[f"t{j}"].fill_null(NOT_REACHED).to_numpy() for j in range(1, k + 1)
    ]).reshape(table.num_rows, k)
    by_value = labels_of(table["entry_row"].to_numpy(), by_labels) if by_property else None
    entries = Entries(table["entity"].to_numpy(), table["level"].to_numpy(), step_ts, by_value)
    t1 = np.where(step_ts[:, 0] == NOT_REACHED, 0, step_ts[:, 0])
    entries = entries.take(np.lexsort([t1, entries.entity]))
    return entries, {"data_start_us": lo, "data_end_us": hi, "entity_codes": "hash63"}


def run(ws: Workspace, spec: FunnelSpec) -> FunnelResult:
    """Evaluate ``spec`` on ``ws`` and return a :class:`FunnelResult`."""
    from funnelscope.analyses.funnel.result import build_result

    started = time.perf_counter()
    by_table = None
    if spec.by and spec.by not in ws.columns("events"):
        by_table = next((t for t in ENTITY_TABLES if ws.has_table(t) and spec.by in ws.columns(t)), None)
        if by_table is None:
            raise SpecError(
                f"by={spec.by!r} is neither an event property nor a column of the customers or "
                f"segments tables.",
                hint="Use a property of the first step's event (e.g. channel), a customers column, "
                "or a saved segment (funnelscope rfm --save gives rfm_segment).",
            )
    if spec.exclude:
        # an unknown exclusion name would silently exclude nothing: a LIMIT 1 probe per name
        # (milliseconds; exclusion funnels only, the plain funnel's hot path is untouched)
        check_event_names(ws, [e.event for e in spec.exclude], "exclusion")
    if ws.engine == "duckdb":
        entries, meta = run_duckdb(ws, spec)
    elif ws.engine == "pyspark":
        entries, meta = run_spark(ws, spec)
    else:
        raise SpecError(f"funnels are not implemented on the {ws.engine} engine yet.")
    if by_table is not None:
        entries.by_value = _entity_attribute(ws, spec, entries.entity, meta, by_table)
    meta["engine"] = ws.engine
    meta["entity_column"] = spec.entity_column
    meta["seconds"] = round(time.perf_counter() - started, 4)
    result = build_result(ws, spec, entries, meta)
    steps = result.records("steps")
    if (not steps or steps[-1]["entities"] == 0) and checking_event_names():
        # a step reached by nobody (or no entries at all): a 0 is an answer only when every
        # name is an event of the data. Looked up once, and only in this case, so the usual
        # funnel pays nothing; a step whose filter matches no rows is a true 0.
        check_event_names(ws, [s.event for s in spec.steps], "step", known=event_name_counts(ws))
    return result


def _entity_attribute(ws: Workspace, spec: FunnelSpec, codes: np.ndarray, meta: dict,
                      table: str) -> np.ndarray:
    """``by`` from an entity table (customers, segments): look it up per entity code."""
    if ws.engine == "duckdb":
        from funnelscope.analyses.funnel import duckdb_feed as feed

        mapping = feed.attribute_by_code(ws, spec, feed.Source.of(ws), table)
    else:
        from pyspark.sql import functions as F  # noqa: N812

        c = ws.table(table)
        lookup = c.select(entity=c["user_id"], v=c[spec.by].cast("string"))
        sdf = ws.backend._session.sql(ws.backend.compile(lookup))
        df = sdf.select(F.shiftright(F.xxhash64("entity"), 1).alias("code"), "v").toPandas()
        mapping = dict(zip(df["code"].to_numpy().tolist(), df["v"].tolist(), strict=False))
    return np.array([mapping.get(int(x)) for x in codes], dtype=object)


def entity_ids(ws: Workspace, spec: FunnelSpec, codes: np.ndarray, meta: dict) -> list:
    """Map entity codes back to the ids in the data (for re-targeting lists)."""
    if meta.get("entity_codes") == "native" or len(codes) == 0:
        return [int(c) for c in codes]
    if ws.engine == "duckdb":
        from funnelscope.analyses.funnel import duckdb_feed as feed

        mapping = feed.ids_by_code(ws, spec, codes)
    else:
        from pyspark.sql import functions as F  # noqa: N812

        ev = ws.events
        ids = ev.select(entity=ev[spec.entity_column]).distinct()
        sdf = ws.backend._session.sql(ws.backend.compile(ids))
        wanted = set(int(c) for c in codes)
        df = sdf.select(F.shiftright(F.xxhash64("entity"), 1).alias("code"), "entity").toPandas()
        df = df[df["code"].isin(wanted)]
        if df["code"].duplicated().any():
            raise SpecError("two entity ids share a 63-bit hash; report this data set as a bug.")
        mapping = dict(zip(df["code"].tolist(), df["entity"].tolist(), strict=False))
    return [mapping.get(int(c)) for c in codes]
