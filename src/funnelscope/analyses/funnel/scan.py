"""Feed the fast funnel kernel from DuckDB: stream a query's Arrow batches, choose entity codes.

The query must produce the kernel's columns (see ``kernel.py``): ``entity`` (int64 code),
``ts`` (int64 µs, or a µs ``TIMESTAMP``/``TIMESTAMPTZ`` which is read as its int64 value
without a cast — cheaper than ``epoch_us``), ``mask`` (uint32), optionally ``excl`` (uint32)
and ``row`` (int64). In ordered and any mode the query should keep only events with
``mask <> 0 OR excl <> 0``; strict mode needs every event of the entity.

Batches move zero-copy from DuckDB to the kernel. ``fetch_batches`` (the default feed) lets
DuckDB materialise the result as Arrow on all its threads (the relation API's parallel Arrow
collector: about 2x faster than pulling a streaming result, which converts on one thread),
then hands the batches over one by one, dropping each after the kernel has copied it, so the
peak is about the larger of the Arrow result and the kernel's partitions, never both.
``stream_batches`` pulls a streaming result on a reader thread instead (bound parameters
allowed, bounded memory for any size).

Entity codes (``choose_entity_code``): an integer user column is its own code. A string (or
other) column is coded as ``hash(column) >> 1`` (DuckDB's 64-bit hash, shifted to fit int64);
because two different ids could share a hash, ``choose_entity_code`` counts distinct ids and
distinct codes once and falls back to a dense code (``dense_rank`` over the ids: exact, but a
full sort) when they differ. The check is a full aggregate over the column, so a workspace
should run it once per table version and remember the answer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from funnelscope.analyses.funnel.kernel import KernelOutput, KernelSpec, run_kernel
from funnelscope.sqlsafe import ident

DEFAULT_BATCH_ROWS = 1 << 20
_DONE = object()


@dataclass(frozen=True)
class EntityCode:
    """How an entity column becomes the kernel's int64 ``entity``.

    ``kind`` is "integer" (the column itself), "hash" (``hash(col) >> 1``) or "dense"
    (``dense_rank() OVER (ORDER BY col)``). ``expr`` is the SQL expression (the column name
    already quoted). Decode a code back to ids by computing ``expr`` next to the column.
    """

    kind: str
    expr: str


def entity_code_expr(column: str, kind: str, qualifier: str = "") -> str:
    """The SQL expression for ``column`` coded as ``kind`` (see :class:`EntityCode`).

    ``qualifier``: a relation alias the column is read from (``"fs_ev."``), or nothing.
    """
    col = qualifier + ident(column)
    if kind == "integer":
        return f"CAST({col} AS BIGINT)"
    if kind == "hash":
        return f"CAST(hash({col}) >> 1 AS BIGINT)"
    if kind == "dense":
        return f"CAST(dense_rank() OVER (ORDER BY {col}) AS BIGINT)"
    raise ValueError(f"unknown entity code kind {kind!r}")


INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                 "UINTEGER"}  # DuckDB types that fit int64: such ids are their own entity code


def choose_entity_code(con, source_sql: str, column: str) -> EntityCode:
    """Pick the entity code for ``column`` of the relation ``source_sql`` on connection ``con``.

    Integers up to 32 bits unsigned and BIGINT are used as they are; anything else is hashed,
    unless hashing merges two distinct values, in which case the dense code is returned.
    ``source_sql`` is SQL text built by the caller (a table name or a subquery).
    """
    col = ident(column)
    # col is quoted by ident(); source_sql is SQL the caller built from quoted parts
    rel = con.sql(f"SELECT {col} FROM ({source_sql}) AS src LIMIT 0")  # noqa: S608
    dtype = str(rel.types[0]).upper()
    if dtype in INTEGER_TYPES:
        return EntityCode("integer", entity_code_expr(column, "integer"))
    hashed = entity_code_expr(column, "hash")
    ids, codes = con.sql(
        f"SELECT count(DISTINCT {col}), count(DISTINCT {hashed}) FROM ({source_sql}) AS src"  # noqa: S608
    ).fetchone()
    if ids == codes:
        return EntityCode("hash", hashed)
    return EntityCode("dense", entity_code_expr(column, "dense"))


class ReleasingBatches:
    """Record batches handed over once each and dropped as soon as the consumer moves on.

    ``num_rows`` is known before the first batch (the kernel sizes its partitions from it).
    """

    def __init__(self, batches: list) -> None:
        self.num_rows = sum(b.num_rows for b in batches)
        self._pending = list(reversed(batches))

    def __iter__(self) -> Iterator:
        while self._pending:
            yield self._pending.pop()


def fetch_batches(con, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> ReleasingBatches:
    """The Arrow record batches of ``query`` on ``con``, materialised on all DuckDB threads.

    Each batch is released once the consumer asks for the next one, so a consumer that copies
    batches (the kernel's partitioner) never holds the whole result twice.
    """
    table = con.sql(query).to_arrow_table(batch_rows)
    return ReleasingBatches(table.to_batches())


def stream_batches(con, query: str, params=None, *, batch_rows: int = DEFAULT_BATCH_ROWS,
                   prefetch: int = 2) -> Iterator:
    """Yield the Arrow record batches of ``query`` on ``con``, read ahead on a thread.

    ``params`` are bound query parameters (``?`` placeholders). The reader thread stops when
    the consumer stops iterating (the generator is closed) or the result is exhausted; an
    error in DuckDB is raised in the consumer.
    """
    reader = con.execute(query, params or []).to_arrow_reader(batch_rows)
    if prefetch <= 0:
        yield from reader
        return
    q: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def pump() -> None:
        try:
            for batch in reader:
                while not stop.is_set():
                    try:
                        q.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            q.put(exc)

    thread = threading.Thread(target=pump, name="funnelscope-scan", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def run_query_kernel(con, query: str, spec: KernelSpec, params=None, *,
                     batch_rows: int = DEFAULT_BATCH_ROWS, prefetch: int = 2,
                     threads: int | None = None, stream: bool | None = None) -> KernelOutput:
    """Run the funnel kernel over the rows of ``query`` (columns entity, ts, mask[, excl, row]).

    ``stream``: pull a streaming result (:func:`stream_batches`) instead of the parallel
    materialisation (:func:`fetch_batches`); default: stream only when ``params`` are given.
    """
    if stream is None:
        stream = bool(params)
    if stream:
        batches = stream_batches(con, query, params, batch_rows=batch_rows, prefetch=prefetch)
    else:
        if params:
            raise ValueError("fetch_batches takes no bound parameters: quote values with sqlsafe")
        batches = fetch_batches(con, query, batch_rows=batch_rows)
    return run_kernel(batches, spec, threads=threads)
