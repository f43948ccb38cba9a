"""``--spark MASTER`` runs an analysis command on Spark: the same JSON as on DuckDB.

A Parquet file with the users' own column names (the in-place tests' log, epoch ms) is
analysed by ``funnelscope funnel`` and ``funnelscope retention`` in process, once on DuckDB and
once with ``--spark local[2]`` (the test session is reused: ``getOrCreate``); also by a Spark
catalog table's name and through ``--workspace`` naming a Spark database.
"""

from __future__ import annotations

import json
import os
import uuid

import pyarrow.parquet as pq
import pytest

from funnelscope.cli.app import main
from tests.cross_backend import assert_same

from .test_in_place_spark import table

pytestmark = pytest.mark.spark

MAP = "user_id=uid,event=name,ts=time_ms"
COMMANDS = {
    "funnel": ["funnel", "--steps", "view,cart,checkout,pay", "--window", "1h"],
    "retention": ["retention", "--period", "day", "--periods", "3"],
}


def run(capsys, args: list[str]) -> dict:
    main([str(a) for a in args] + ["--format", "json", "--tz", "UTC"])
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-spark") / "events.parquet"
    pq.write_table(table(), path)
    return path


@pytest.fixture(scope="module")
def database(spark_session):
    db = f"fs_cli_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    previous = spark_session.catalog.currentDatabase()
    spark_session.sql(f"CREATE DATABASE {db}")
    yield db
    spark_session.catalog.dropTempView("events")
    spark_session.catalog.setCurrentDatabase(previous)
    spark_session.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_spark_flag_gives_the_duckdb_json(capsys, spark_session, database, parquet, name):
    args = COMMANDS[name]
    duck = run(capsys, [*args, "--events", parquet, "--map", MAP])
    spark = run(capsys, [*args, "--events", parquet, "--map", MAP, "--spark", "local[2]",
                         "--spark-conf", "spark.sql.shuffle.partitions=4"])
    assert duck["meta"]["engine"] == "duckdb" and spark["meta"]["engine"] == "pyspark"
    assert_same(duck, spark, name)

    # a catalog table by name, in the database --workspace names
    spark_session.read.parquet(str(parquet)).write.mode("overwrite").saveAsTable(
        f"{database}.raw_events")
    by_table = run(capsys, [*args, "--events", "raw_events", "--map", MAP, "--spark", "local[2]",
                            "--workspace", database])
    assert_same(duck, by_table, name)


def test_spark_flag_errors(capsys, spark_session):
    with pytest.raises(SystemExit) as exit_:
        main(["funnel", "--steps", "a,b", "--events", "raw_events", "--spark", "local[2]",
              "--workspace", "no_such_database_here"])
    assert exit_.value.code != 0
    assert "no database 'no_such_database_here'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["funnel", "--steps", "a,b", "--events", "x.parquet", "--spark", "local[2]",
              "--spark-conf", "novalue"])
    assert "is not KEY=VALUE" in capsys.readouterr().err


def test_a_missing_file_is_reported_before_spark_starts(capsys, monkeypatch, tmp_path):
    """Starting a session takes seconds: a path that is not there (a ``/`` or a file suffix,
    not a URL or a catalog name) is an error at once, no session started."""
    import funnelscope.cli.common as common

    def no_session(*_args, **_kwargs):
        raise AssertionError("a Spark session was started")

    monkeypatch.setattr(common, "spark_session", no_session)
    monkeypatch.chdir(tmp_path)  # "events.csv" is not there
    for events in (str(tmp_path / "nope" / "events.parquet"), "events.csv"):
        with pytest.raises(SystemExit) as exit_:
            main(["funnel", "--steps", "a,b", "--events", events, "--spark", "local[2]"])
        assert exit_.value.code != 0
        err = capsys.readouterr().err
        assert "file not found" in err and "events." in err
    # a catalog table name is Spark's to look up: it reaches the session
    with pytest.raises(AssertionError, match="session was started"):
        main(["funnel", "--steps", "a,b", "--events", "analytics.raw_events",
              "--spark", "local[2]"])
