"""Run a funnel spec on a workspace: step events -> per-entry paths -> FunnelResult.

The sequence logic runs in one kernel (``kernel.run_kernel``) on every engine:

* DuckDB: the step events stream out of DuckDB as Arrow record batches (zero-copy, only the
  columns the kernel needs) straight into the kernel; the event table never becomes Python
  objects.
* PySpark: the same kernel runs inside Spark, per partition of entities
  (``repartition(hash(entity)).mapInArrow``), so the work is distributed and the answers are
  identical by construction.

The kernel returns one row per entry (entity, or first-step event for totals): its level and
the reported path's step times. Everything after that is small and computed in pandas.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from funnelscope.analyses.funnel.matching import data_bounds, entity_column, step_events
from funnelscope.analyses.funnel.spec import FunnelSpec
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    from funnelscope.analyses.funnel.result import FunnelResult
    from funnelscope.engine.workspace import Workspace

NOT_REACHED = np.iinfo(np.int64).min
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


def run_duckdb(ws: Workspace, spec: FunnelSpec) -> tuple[pd.DataFrame, dict]:
    """Per-entry paths on DuckDB via Arrow batches into the kernel."""
    import ibis

    from funnelscope.analyses.funnel.kernel import run_kernel
    from funnelscope.analyses.funnel.scan import entity_code_expr, stream_batches

    ev = step_events(ws, spec)
    by_labels: list[str | None] = []
    row_expr = "CAST(0 AS BIGINT)"
    base_sql = ibis.to_sql(ev, dialect="duckdb")
    con = ws.duckdb
    entry_mask = _entry_mask(spec)
    if spec.by and spec.by in ws.events.columns:
        by_labels = [r[0] for r in con.execute(
            f"SELECT DISTINCT by_value FROM ({base_sql}) WHERE (mask & {entry_mask}) <> 0 "  # noqa: S608
            "ORDER BY 1 NULLS FIRST"
        ).fetchall()]
        con.execute("CREATE OR REPLACE TEMP TABLE __fs_by_codes (code BIGINT, v VARCHAR)")
        con.executemany("INSERT INTO __fs_by_codes VALUES (?, ?)", list(enumerate(by_labels)))
        base_sql = (
            f"SELECT e.*, c.code AS by_code FROM ({base_sql}) e "  # noqa: S608
            "LEFT JOIN __fs_by_codes c ON e.by_value IS NOT DISTINCT FROM c.v"
        )
        row_expr = "coalesce(by_code, -1)"
    native = ev.schema()["entity"].is_integer()
    ent_code = entity_code_expr("entity", "integer" if native else "hash")
    columns = [f"{ent_code} AS entity", "ts_us AS ts", "CAST(mask AS UINTEGER) AS mask"]
    if spec.exclude:
        columns.append("CAST(excl AS UINTEGER) AS excl")
    if by_labels:
        columns.append(f"{row_expr} AS row")
    sql = f"SELECT {', '.join(columns)} FROM ({base_sql})"  # noqa: S608
    out = run_kernel(stream_batches(con, sql), kernel_spec(spec))
    lo, hi = data_bounds(ws, spec)
    entries = _entries_frame(out.entity, out.level, out.step_ts, out.entry_row, by_labels)
    return entries, {"data_start_us": lo, "data_end_us": hi,
                     "entity_codes": "native" if native else "hash63"}


def run_spark(ws: Workspace, spec: FunnelSpec) -> tuple[pd.DataFrame, dict]:
    """Per-entry paths on PySpark: the kernel runs per entity partition via mapInArrow."""
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql import types as T  # noqa: N812

    from funnelscope.analyses.funnel.kernel import run_kernel

    ev = step_events(ws, spec)
    session = ws.backend._session
    df = session.sql(ws.backend.compile(ev))
    by_labels: list[str | None] = []
    entry_mask = _entry_mask(spec)
    if spec.by and spec.by in ws.events.columns:
        by_labels = sorted(
            (r[0] for r in df.filter(F.col("mask").bitwiseAND(entry_mask) != 0)
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
    entries = _entries_frame(table["entity"].to_numpy(), table["level"].to_numpy(), step_ts,
                             table["entry_row"].to_numpy(), by_labels)
    order = np.lexsort([entries["t1"].fillna(0).to_numpy(), entries["entity"].to_numpy()])
    entries = entries.iloc[order].reset_index(drop=True)
    return entries, {"data_start_us": lo, "data_end_us": hi, "entity_codes": "hash63"}


def _entry_mask(spec: FunnelSpec) -> int:
    """Steps whose events can be an entry (carry the `by` value): step 1, or any step in any mode."""
    return (1 << len(spec.steps)) - 1 if spec.mode == "any" else 1


def _entries_frame(entity, level, step_ts, entry_row, by_labels: list) -> pd.DataFrame:
    """One row per entry: entity code, level, t1..tk (nullable µs), by_value (label or None)."""
    data = {"entity": np.asarray(entity, dtype=np.int64), "level": np.asarray(level, dtype=np.int64)}
    for j in range(step_ts.shape[1]):
        col = np.asarray(step_ts[:, j], dtype=np.int64)
        data[f"t{j + 1}"] = pd.arrays.IntegerArray(col.copy(), col == NOT_REACHED)
    frame = pd.DataFrame(data)
    frame["by_value"] = _labels(entry_row, by_labels)
    return frame


def _labels(codes: np.ndarray, by_labels: list) -> np.ndarray | None:
    if not by_labels:
        return np.full(len(codes), None, dtype=object)
    lookup = np.array(list(by_labels) + [None], dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    return lookup[np.where((codes >= 0) & (codes < len(by_labels)), codes, len(by_labels))]


def run(ws: Workspace, spec: FunnelSpec) -> FunnelResult:
    """Evaluate ``spec`` on ``ws`` and return a :class:`FunnelResult`."""
    from funnelscope.analyses.funnel.result import build_result

    started = time.perf_counter()
    by_table = None
    if spec.by and spec.by not in ws.events.columns:
        by_table = next((t for t in ENTITY_TABLES if ws.has_table(t) and spec.by in ws.table(t).columns), None)
        if by_table is None:
            raise SpecError(
                f"by={spec.by!r} is neither an event property nor a column of the customers or "
                f"segments tables.",
                hint="Use a property of the first step's event (e.g. channel), a customers column, "
                "or a saved segment (funnelscope rfm --save gives rfm_segment).",
            )
    if ws.engine == "duckdb":
        entries, meta = run_duckdb(ws, spec)
    elif ws.engine == "pyspark":
        entries, meta = run_spark(ws, spec)
    else:
        raise SpecError(f"funnels are not implemented on the {ws.engine} engine yet.")
    if by_table is not None:
        entries["by_value"] = _entity_attribute(ws, spec, entries["entity"].to_numpy(), meta, by_table)
    meta["engine"] = ws.engine
    meta["entity_column"] = entity_column(spec)
    meta["seconds"] = round(time.perf_counter() - started, 4)
    return build_result(ws, spec, entries, meta)


def _entity_attribute(ws: Workspace, spec: FunnelSpec, codes: np.ndarray, meta: dict,
                      table: str) -> np.ndarray:
    """``by`` from an entity table (customers, segments): look it up per entity code."""
    c = ws.table(table)
    col = "user_id"
    lookup = c.select(entity=c[col], v=c[spec.by].cast("string"))
    if ws.engine == "duckdb":
        import ibis

        sql = ibis.to_sql(lookup, dialect="duckdb")
        code_sql = "CAST(hash(entity) >> 1 AS BIGINT)" if meta["entity_codes"] == "hash63" else "entity"
        df = ws.duckdb.execute(f"SELECT {code_sql} AS code, v FROM ({sql})").df()  # noqa: S608
    else:
        from pyspark.sql import functions as F  # noqa: N812

        sdf = ws.backend._session.sql(ws.backend.compile(lookup))
        df = sdf.select(F.shiftright(F.xxhash64("entity"), 1).alias("code"), "v").toPandas()
    mapping = dict(zip(df["code"].to_numpy().tolist(), df["v"].tolist(), strict=False))
    return np.array([mapping.get(int(x)) for x in codes], dtype=object)


def entity_ids(ws: Workspace, spec: FunnelSpec, codes: np.ndarray, meta: dict) -> list:
    """Map entity codes back to the ids in the data (for re-targeting lists)."""
    if meta.get("entity_codes") == "native" or len(codes) == 0:
        return [int(c) for c in codes]
    ev = ws.events
    ent = entity_column(spec)
    ids = ev.select(entity=ev[ent]).distinct()
    if ws.engine == "duckdb":
        import ibis

        con = ws.duckdb
        con.register("__fs_codes", pa.table({"code": pa.array(codes, pa.int64())}))
        try:
            df = con.execute(
                f"SELECT c.code, i.entity FROM __fs_codes c JOIN (SELECT entity, "  # noqa: S608
                f"CAST(hash(entity) >> 1 AS BIGINT) AS code FROM ({ibis.to_sql(ids, dialect='duckdb')})) i "
                "USING (code)"
            ).df()
        finally:
            con.unregister("__fs_codes")
    else:
        from pyspark.sql import functions as F  # noqa: N812

        sdf = ws.backend._session.sql(ws.backend.compile(ids))
        wanted = set(int(c) for c in codes)
        df = sdf.select(F.shiftright(F.xxhash64("entity"), 1).alias("code"), "entity").toPandas()
        df = df[df["code"].isin(wanted)]
    if df["code"].duplicated().any():
        raise SpecError("two entity ids share a 63-bit hash; report this data set as a bug.")
    mapping = dict(zip(df["code"].tolist(), df["entity"].tolist(), strict=False))
    return [mapping.get(int(c)) for c in codes]
