"""Loading into Spark through each transfer route gives the rows, rejections and load log
that loading into DuckDB gives: Parquet in a temporary directory (local master, the default;
``tests/engine/test_workspace.py`` covers it), Parquet under ``spark.funnelscope.stagingDir``
(a cluster's shared directory), and Arrow batches when there is neither."""

from __future__ import annotations

import os
import uuid

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.engine import spark_write

pytestmark = pytest.mark.spark

FRAME = pd.DataFrame({
    "event_id": ["e1", "e2", "e3", "e3", None, "e5"],
    "user_id": ["u1", "u1", "u2", "u2", "u3", ""],
    "event": ["view", "pay", "view", "view", "view", "view"],
    "ts": ["2026-01-01 10:00", "2026-01-01 11:00:00.123456", "1767261600", "1767261600",
           "2026-01-02T00:00:00+08:00", "2026-01-03"],
    "plan": ["free", None, "pro", "pro", "free", "pro"],
})


def rows(ws) -> list[tuple]:
    t = ws.table("events").to_pyarrow().to_pylist()
    return sorted((r["event_id"] or "", r["user_id"], r["event"], r["ts"].timestamp(), r["plan"])
                  for r in t)


@pytest.fixture
def spark(spark_session):
    db = f"fs_load_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    previous = spark_session.catalog.currentDatabase()
    spark_session.sql(f"CREATE DATABASE {db}")
    spark_session.catalog.setCurrentDatabase(db)
    yield spark_session
    spark_session.catalog.setCurrentDatabase(previous)
    spark_session.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")


def load_twice(ws) -> list:
    first, again = ws.load(FRAME), ws.load(FRAME.iloc[:3])
    return [(r.loaded, r.duplicates, r.rejected) for r in (first, again)]


@pytest.mark.parametrize("route", ["staging dir", "arrow"])
def test_every_route_loads_what_duckdb_loads(spark, route, tmp_path, monkeypatch):
    duck = fs.connect(tz="Asia/Shanghai")
    expected = load_twice(duck)
    assert expected == [(4, 1, 1), (0, 3, 0)]
    if route == "staging dir":
        spark.conf.set(spark_write.STAGING_DIR_SETTING, str(tmp_path))
    else:
        monkeypatch.setattr(spark.sparkContext, "master", "yarn")
    try:
        ws = fs.connect(spark, tz="Asia/Shanghai")
        assert load_twice(ws) == expected
    finally:
        spark.conf.unset(spark_write.STAGING_DIR_SETTING)
        monkeypatch.undo()
    assert rows(ws) == rows(duck)
    assert ws.rejected().count().execute() == 1
    assert list(tmp_path.iterdir()) == []  # the staged files are gone
