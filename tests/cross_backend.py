"""The one comparison of the cross-backend tests (``tests/*/test_spark_backends.py``): the same
analysis on a DuckDB and a Spark workspace must give the same JSON."""

from __future__ import annotations

import math

#: meta keys that name the run, not the answer
ENGINE_ONLY = {"engine", "seconds", "elapsed_s"}


def assert_same(a, b, path: str = "", abs_tol: float = 1e-15) -> None:
    """Equal JSON; floats to 12 significant digits (and ``abs_tol`` near 0); in ``meta``, the
    engine name and timings are ignored."""
    if isinstance(a, dict):
        keys = set(a) - ENGINE_ONLY if path.endswith("meta") else set(a)
        assert keys == (set(b) - ENGINE_ONLY if path.endswith("meta") else set(b)), path
        for k in keys:
            assert_same(a[k], b[k], f"{path}/{k}", abs_tol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]", abs_tol)
    elif isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=abs_tol), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b and type(a) is type(b), f"{path}: {a!r} != {b!r}"


def duckdb_and_spark(spark_session, tables: dict, tz: str | None = None, prefix: str = "fs"):
    """Yield ``{"duckdb": ws, "pyspark": ws}`` holding the same ``tables`` (name -> frame), the
    Spark one in a database of its own; for a module-scoped fixture. Afterwards the session's
    current database is set back before that database is dropped, so later Spark tests of the
    same session never find themselves in a dropped database."""
    import os
    import uuid

    import funnelscope as fs

    options = {} if tz is None else {"tz": tz}
    duck = fs.connect(**options)
    db = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    previous = spark_session.catalog.currentDatabase()
    spark_session.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    spark_session.catalog.setCurrentDatabase(db)
    try:
        spark = fs.connect(spark_session, **options)
        for ws in (duck, spark):
            for name, frame in tables.items():
                ws.load(frame, name)
        yield {"duckdb": duck, "pyspark": spark}
    finally:
        duck.close()
        spark_session.catalog.setCurrentDatabase(previous)
        spark_session.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")
