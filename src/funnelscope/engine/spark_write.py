"""Move a load's rows between the private staging DuckDB and Spark in bulk, through Parquet.

``ws.load`` on Spark validates and dedupes in a private DuckDB (see
``WorkspaceBase._load_via_staging``). The rows then reach Spark as one Parquet file that
DuckDB writes and Spark reads (``saveAsTable`` / ``insertInto``), and the keys already in a
Spark table come back the same way: no Python objects per row, no pandas, no Py4J per row.

The Parquet file lives in a directory both sides can read: a fresh temporary directory when
the session's master is local (``local``, ``local[2]``...), else the directory named by the
Spark setting ``spark.funnelscope.stagingDir`` (a path mounted on the driver and every
executor). Without either, the rows go as Arrow batches (``createDataFrame`` of an Arrow
table; still no per-row path, but the whole load is held in the driver's memory).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    import duckdb

STAGING_DIR_SETTING = "spark.funnelscope.stagingDir"

# 10^38: the 128-bit keys below it are HUGEINTs; those above have one more leading digit
_E38 = "CAST('100000000000000000000000000000000000000' AS UHUGEINT)"


def key_text_sql(column: str) -> str:
    """SQL of a UHUGEINT column's decimal text, equal to ``CAST(column AS VARCHAR)``.

    DuckDB 1.4 converts UHUGEINT to text at ~250 µs per value (4 minutes per million keys);
    through HUGEINT it is ~1 µs. Values from 10^38 (the top 39-digit range) get their leading
    digit d and the text of ``value - d * 10^38`` zero-padded to 38 digits. NULL stays NULL.
    """
    k = ident(column)
    lead = (f"(CASE WHEN {k} >= CAST(3 AS UHUGEINT) * {_E38} THEN 3 "
            f"WHEN {k} >= CAST(2 AS UHUGEINT) * {_E38} THEN 2 ELSE 1 END)")
    return (
        f"(CASE WHEN {k} < {_E38} THEN CAST(CAST({k} AS HUGEINT) AS VARCHAR) "
        f"ELSE CAST({lead} AS VARCHAR) || lpad(CAST(CAST({k} - CAST({lead} AS UHUGEINT) * "
        f"{_E38} AS HUGEINT) AS VARCHAR), 38, '0') END)"
    )


class SparkStaging:
    """Bulk transfer between a staging DuckDB and the Spark session of ``backend`` (an Ibis
    PySpark backend). Use as a context manager: the temporary files go when it exits."""

    def __init__(self, backend: Any) -> None:
        self.session = backend._session
        self._root: Path | None = None
        self._owned = False

    def __enter__(self) -> SparkStaging:
        configured = self.session.conf.get(STAGING_DIR_SETTING, None)
        if configured:
            self._root = Path(configured) / f"funnelscope-{uuid.uuid4().hex}"
            self._root.mkdir(parents=True)
        elif self.session.sparkContext.master.startswith("local"):
            self._root = Path(tempfile.mkdtemp(prefix="funnelscope-spark-"))
        self._owned = self._root is not None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    def _path(self) -> Path:
        assert self._root is not None
        return self._root / uuid.uuid4().hex

    # ----- DuckDB -> Spark ----------------------------------------------------------------
    def write(self, stage: duckdb.DuckDBPyConnection, select_sql: str, params: list,
              table: str, *, create: bool) -> int:
        """Append the rows of ``select_sql`` (over ``stage``) to Spark table ``table`` in the
        current database, creating it (Parquet) when ``create``; return the row count.

        Column types are the ones the earlier Arrow path gave (Ibis's mapping of the Arrow
        types); appended rows are cast to the table's own column types, matched by name.
        """
        import ibis
        from ibis.backends.pyspark.datatypes import PySparkSchema
        from pyspark.sql import functions as F

        arrow_schema = stage.execute(f"SELECT * FROM ({select_sql}) LIMIT 0",  # noqa: S608
                                     params).to_arrow_table().schema
        target = PySparkSchema.from_ibis(ibis.schema(arrow_schema))
        if self._root is not None:
            path = self._path()
            count = stage.execute(f"COPY ({select_sql}) TO {literal(str(path))} (FORMAT parquet)",
                                  params).fetchone()[0]
            df = self.session.read.parquet(str(path))
        else:
            data = stage.execute(select_sql, params).to_arrow_table()
            count = data.num_rows
            df = self.session.createDataFrame(data)
        if create:
            df = df.select(*[F.col(_q(f.name)).cast(f.dataType).alias(f.name) for f in target])
            df.write.saveAsTable(table, format="parquet", mode="error")
        else:
            have = self.session.table(table).schema
            df = df.select(*[F.col(_q(f.name)).cast(f.dataType).alias(f.name)
                             if f.name in df.columns else F.lit(None).cast(f.dataType).alias(f.name)
                             for f in have])
            df.write.insertInto(table)
        return int(count)

    # ----- Spark -> DuckDB ----------------------------------------------------------------
    def read(self, stage: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> str | None:
        """``columns`` of Spark table ``table``, as a DuckDB relation's SQL (a Parquet scan, or
        a registered Arrow table without a staging directory); None when it has no rows."""
        df = self.session.table(table).select(*[_q(c) for c in columns])
        if self._root is None:
            name = f"__fs_spark_{uuid.uuid4().hex}"
            stage.register(name, df.toArrow())
            return ident(name)
        path = self._path()
        df.write.parquet(str(path))
        if not any(path.glob("*.parquet")):
            return None
        return f"read_parquet({literal(str(path / '*.parquet'))})"


def _q(name: str) -> str:
    """A column name as Spark's ``col()`` reads it (backquoted: dots are not struct paths)."""
    return "`" + name.replace("`", "``") + "`"
