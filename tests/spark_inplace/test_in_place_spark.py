"""Data analysed in place on Spark gives the same JSON as the same data loaded into DuckDB.

One small event log (ties, repeats, a non-ASCII name; the paths tests' generator) is written
as a Parquet file with the users' own column names (``uid``, ``name``, epoch milliseconds in
``time_ms``) and a ``platform`` property, and saved as a Spark metastore table. The reference is
that file loaded into a DuckDB workspace with the same column map; Spark analyses the file (by
path) and the table (by name) in place, with no load. Funnel, retention, activity and paths must
give equal JSON (floats to 12 significant digits, engine name and timings aside), and the
funnel's step counts must equal the plain-Python oracle of ``tests/funnel/oracle.py``.
"""

from __future__ import annotations

import os
import uuid

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import funnelscope as fs
from funnelscope.errors import InputError, MissingColumnsError
from tests.cross_backend import assert_same
from tests.funnel.oracle import OEvent, OStep, funnel_levels
from tests.paths.test_spark_backends import log

pytestmark = pytest.mark.spark

MAP = {"user_id": "uid", "event": "name", "ts": "time_ms"}
STEPS = ["view", "cart", "checkout", "pay"]
HOUR_MS = 3_600_000
REQUESTS = {
    "funnel": ("funnel", dict(steps=STEPS, window="1h")),
    "funnel by platform, strict": ("funnel", dict(steps=STEPS[:3], window="2h", mode="strict",
                                                  by="platform")),
    "retention": ("retention", dict(period="day", periods=3)),
    "activity": ("activity", dict(period="day")),
    "paths": ("paths", dict(after="view", depth=3)),
}


def table() -> pa.Table:
    """The log with ms times (each user's µs offsets floored to ms: ties stay ties)."""
    events = log(seed=11, users=60)
    return pa.table({
        "event_id": [e.event_id for e in events],
        "uid": [e.user for e in events],
        "name": [e.event for e in events],
        "time_ms": pa.array([e.ts // 1000 for e in events], pa.int64()),
        "platform": [("web", "app", "ios")[hash(e.user) % 3] for e in events],
    })


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("in-place")
    parquet = folder / "events.parquet"
    pq.write_table(table(), parquet)
    return {"table": table(), "parquet": parquet, "folder": folder}


@pytest.fixture(scope="module")
def reference(data):
    ws = fs.connect(tz="UTC")
    ws.load(data["parquet"], "events", columns=MAP)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def spark(spark_session):
    """The test session in a database of its own (dropped afterwards)."""
    db = f"fs_inplace_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    previous = spark_session.catalog.currentDatabase()
    spark_session.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    spark_session.catalog.setCurrentDatabase(db)
    yield spark_session
    for view in ("events", "customers", "orders"):
        spark_session.catalog.dropTempView(view)
    spark_session.catalog.setCurrentDatabase(previous)
    spark_session.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")


def same_answers(reference, ws) -> None:
    assert ws.engine == "pyspark"
    for label, (analysis, kwargs) in REQUESTS.items():
        duck = getattr(reference, analysis)(**kwargs).to_dict()
        spark = getattr(ws, analysis)(**kwargs).to_dict()
        assert_same(duck, spark, label)


def test_a_parquet_path_in_place_equals_the_loaded_file(spark, reference, data):
    ws = fs.connect(spark, events=str(data["parquet"]), columns={"events": MAP}, tz="UTC")
    assert "events" not in {t.name for t in ws.tables() if t.name.startswith("_")}
    assert set(ws.table("events").columns) >= {"event_id", "user_id", "event", "ts",
                                               "account_id", "platform"}
    same_answers(reference, ws)

    # the funnel's step counts against the plain-Python oracle
    t = data["table"].to_pylist()
    levels = funnel_levels(
        [OEvent(r["uid"], r["name"], r["time_ms"] * 1000, event_id=r["event_id"] or f"auto{i}")
         for i, r in enumerate(t)], [OStep(s) for s in STEPS], HOUR_MS * 1000)
    counts = [sum(1 for lv in levels.values() if lv >= j) for j in range(1, len(STEPS) + 1)]
    steps = ws.funnel(steps=STEPS, window="1h").to_dict()["steps"]
    assert [s["entities"] for s in steps] == counts
    assert counts[-1] > 0


def test_a_metastore_table_in_place_equals_the_loaded_file(spark, reference, data):
    spark.read.parquet(str(data["parquet"])).write.saveAsTable("raw_events")
    ws = fs.connect(spark, events="raw_events", columns={"events": MAP}, tz="UTC")
    same_answers(reference, ws)


def test_text_and_naive_times_read_in_the_workspace_zone(spark, data):
    """ISO text without an offset, with an offset and epoch digits in one CSV column, read in
    Asia/Shanghai; and a TIMESTAMP_NTZ column: the same instants DuckDB's load stores."""
    rows = ["2026-03-01 08:00:00", "2026-03-01T09:30:00+00:00", "1772355600", "2026-03-01 23:59:59.5",
            "not a time", "", "2026-03-02 00:00:00Z"]
    csv = data["folder"] / "texts.csv"
    pacsv.write_csv(pa.table({"user_id": [f"u{i}" for i in range(len(rows))],
                              "event": ["view"] * len(rows), "ts": rows}), csv)
    duck = fs.connect(tz="Asia/Shanghai")
    duck.load(csv, "events")
    ws = fs.connect(spark, events=str(csv), tz="Asia/Shanghai")

    def instants(w):
        t = w.table("events")
        out = t.select("user_id", "ts").to_pyarrow().to_pylist()
        return sorted((r["user_id"], r["ts"].timestamp()) for r in out)

    assert instants(ws) == instants(duck)
    assert len(instants(ws)) == 5  # the unreadable and the empty time are left out

    ntz = spark.sql("SELECT 'u1' AS user_id, 'view' AS event, "
                    "TIMESTAMP_NTZ'2026-03-01 08:00:00' AS ts")
    ntz.write.saveAsTable("ntz_events")
    ws = fs.connect(spark, events="ntz_events", tz="Asia/Shanghai")
    assert instants(ws) == [("u1", 1772323200.0)]  # 00:00 UTC


def test_bad_sources_are_clear_errors(spark, data):
    with pytest.raises(InputError, match="neither a file nor a table"):
        fs.connect(spark, events="no_such_table")
    with pytest.raises(InputError, match="file not found"):
        fs.connect(spark, events=str(data["folder"] / "missing.parquet"))
    with pytest.raises(MissingColumnsError, match="uid"):
        fs.connect(spark, events=str(data["parquet"]))
