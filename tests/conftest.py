"""Shared fixtures: one workspace factory for every backend.

Analysis tests take ``make_workspace`` and say which tables they need; tests marked
``@pytest.mark.spark`` and using the ``backend`` fixture run on DuckDB and on PySpark local[2],
and must give identical results on both.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI (CI=true) replays the same generated examples every run, so a landing never depends on
# luck; local runs keep exploring new examples (and hypothesis's database keeps failures).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

BACKENDS = ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)]


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """One local[2] SparkSession for the whole run (start-up takes ~10 s)."""
    pytest.importorskip("pyspark")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("funnelscope-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Backend name: 'duckdb', or 'pyspark' for tests marked spark."""
    return request.param


@pytest.fixture
def make_workspace(request, tmp_path):
    """``make_workspace(tables, backend="duckdb", tz="UTC")`` -> a Workspace holding ``tables``.

    ``tables`` maps canonical table names to pandas DataFrames / Arrow tables / file paths,
    loaded through the normal ``ws.load`` path (validation included).
    """
    import funnelscope as fs

    created = []

    def factory(tables: dict, backend: str = "duckdb", tz: str = "UTC", **load_kwargs):
        if backend == "duckdb":
            ws = fs.connect(tz=tz)
        elif backend == "pyspark":
            spark = request.getfixturevalue("spark_session")
            db = f"fs_test_{len(created)}_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
            spark.catalog.setCurrentDatabase(db)
            ws = fs.connect(spark, tz=tz)
        else:  # pragma: no cover
            raise ValueError(backend)
        for name, data in tables.items():
            ws.load(data, name, **load_kwargs.get(name, {}))
        created.append(ws)
        return ws

    return factory
