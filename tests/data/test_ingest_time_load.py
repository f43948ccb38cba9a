"""The loader's fast time conversion equals the reference parser for every value.

``ingest._time_sql`` (what ``load`` stores) must give exactly ``timeparse.timestamp_sql``'s
instant, NULLs included, for text, naive, epoch-integer and epoch-decimal columns, in UTC and in
zones with DST; the oracle is the reference expression (ICU ``timezone()`` per row).
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelscope.data import ingest
from funnelscope.data.timeparse import timestamp_sql

TEXTS = [
    "2024-01-01T10:00:00Z", "2024-01-01 10:00:00Z", " 2024-03-10T02:30:00.123456Z ",
    "2024-01-01T10:00:00z", "2024-01-01Tx0:00:00Z", "2024-01-01T5Z", "2024-01-01TZ",
    "2024-01-01T10:00:00+08:00", "2024-01-01 10:00:00", "2024-03-10 02:30:00",
    "2024-11-03 01:30:00", "1704103200", "1704103200000", "1704103200.5", "-5",
    "20240101T100000Z", "2024-02-30T00:00:00Z", "soon", "", "   ", None, "Z", "1234567890Z",
    "２０２４-01-01T10:00:00Z", "2024-01-01T10:00:00ZZ", "9999-12-31T23:59:59Z",
]
ZONES = ["UTC", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe"]


def compare(con: duckdb.DuckDBPyConnection, source_type: str, tz: str, unit: str | None):
    con.execute("DROP TABLE IF EXISTS __fs_stage")
    con.execute("CREATE TEMP TABLE __fs_stage AS SELECT x FROM t")
    fast = ingest._time_sql(con, "x", source_type, tz, unit)
    ref = timestamp_sql("x", source_type, tz, unit)
    rows = con.execute(
        f"SELECT x, epoch_us({fast}) AS a, epoch_us({ref}) AS b FROM __fs_stage "
        "WHERE a IS DISTINCT FROM b").fetchall()
    assert rows == []


@pytest.mark.parametrize("tz", ZONES)
def test_text_times(tz):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in TEXTS])
    for unit in (None, "s", "ms"):
        compare(con, "VARCHAR", tz, unit)


@pytest.mark.parametrize("tz", ZONES)
def test_naive_times_across_dst(tz):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t AS SELECT TIMESTAMP '2023-12-31 00:00:00' "
                "+ INTERVAL (range * 17) MINUTE AS x FROM range(40000) "
                "UNION ALL SELECT NULL UNION ALL SELECT TIMESTAMP '1850-06-01 12:00:00'")
    compare(con, "TIMESTAMP", tz, None)
    con.execute("CREATE OR REPLACE TABLE t AS SELECT CAST(x AS DATE) AS x FROM t")
    compare(con, "DATE", tz, None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1),
                          st.integers(-(10**18), 10**18),
                          st.sampled_from([0, 10**11 - 1, 10**11, 10**14 - 1, 10**14,
                                           10**17 - 1, 10**17, 250_000_000_000, -(2**63)])),
                min_size=1, max_size=30),
       st.sampled_from([None, "s", "ms", "us", "ns"]))
def test_epoch_integers(values, unit):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (x BIGINT)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    compare(con, "BIGINT", "UTC", unit)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e18, 1e18, allow_nan=False), min_size=1, max_size=30),
       st.sampled_from([None, "s", "ms", "us", "ns"]))
def test_epoch_doubles(values, unit):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (x DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    compare(con, "DOUBLE", "UTC", unit)


def test_property_types_look_past_the_first_rows(tmp_path):
    """Type inference reads a sample first; a value after it still decides the column's type
    (oracle: the documented rules applied in Python)."""
    import re

    import funnelscope as fs

    n = 12_500
    cols = {
        "late_text": [str(i) for i in range(n - 1)] + ["x"],
        "ints": [str(i - 50) for i in range(n)],
        "late_zero": [str(i + 1) for i in range(n - 1)] + ["007"],
        "late_decimal": [str(i) for i in range(n - 1)] + ["2.5"],
        "bools": ["true" if i % 3 else " FALSE " for i in range(n)],
        "mixed_early": ["1.5", "true"] + [""] * (n - 2),
    }

    def oracle(values):
        vals = [v.strip() for v in values if v.strip()]
        if not vals or any(re.match(r"^[+-]?0[0-9]", v) for v in vals):
            return "VARCHAR"
        if all(re.fullmatch(r"[+-]?[0-9]+", v) and -2**63 <= int(v) < 2**63 for v in vals):
            return "BIGINT"
        if all(re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", v)
               for v in vals):
            return "DOUBLE"
        if all(v.lower() in ("true", "false") for v in vals):
            return "BOOLEAN"
        return "VARCHAR"

    lines = ["user_id,event,ts," + ",".join(cols)]
    lines += [f"u{i},view,2024-01-01T00:00:00Z," + ",".join(c[i] for c in cols.values())
              for i in range(n)]
    path = tmp_path / "props.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws = fs.connect(str(tmp_path / "ws.duckdb"))
    assert ws.load(path).loaded == n
    types = dict(ws.duckdb.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'events'").fetchall())
    assert {c: types[c] for c in cols} == {c: oracle(v) for c, v in cols.items()}


@pytest.mark.parametrize("extra", [None, "file_row_number"])
def test_parquet_read_in_place_equals_the_staged_copy(tmp_path, extra):
    """A Parquet file is staged as a view (row numbers from the reader); the same rows given
    as an Arrow table are copied into a staging table. Rows, counts, row numbers, reasons and
    raw rows of the rejections and conflicts must be the same (a column named like the
    reader's row number falls back to the copy and stays a property)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 3000
    base = [i % 2900 for i in range(n)]  # rows 2900+ repeat rows 0-99: 50 conflicts, 50 copies
    rows = {
        "event_id": [f"e{b}" if b % 7 else None for b in base],
        "user_id": [None if b % 101 == 5 else f"u{b % 40}" for b in base],
        "event": ["view" if b % 3 else "buy" for b in base],
        "ts": [None if b % 97 == 3 else 1704067200000 + b * 1000 + (2900 <= i < 2950)
               for i, b in enumerate(base)],
        "price": [float(b % 13) for b in base],
    }
    if extra:
        rows[extra] = list(range(n))
    table = pa.table(rows)
    path = tmp_path / "e.parquet"
    pq.write_table(table, path, row_group_size=512)

    def run(source, name):
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        con.execute("SET TimeZone = 'UTC'")
        report = ingest.load_into_duckdb(con, source, "events")
        data = con.execute("SELECT * EXCLUDE (_load) REPLACE (epoch_us(ts) AS ts) FROM events "
                           "ORDER BY rowid").fetchall()
        bad = con.execute('SELECT "row", "column", value, reason, CAST(raw AS VARCHAR) '
                          'FROM _rejected ORDER BY "row"').fetchall()
        return (report.read, report.loaded, report.duplicates, report.conflicts,
                report.rejected), data, bad

    in_place, copied = run(path, "a"), run(table, "b")
    assert in_place == copied
    counts = in_place[0]
    assert counts[0] == n and counts[3] > 0 and counts[4] > 0
    assert (counts[2] > 0) == (extra is None)  # the row-number column makes every row unique
