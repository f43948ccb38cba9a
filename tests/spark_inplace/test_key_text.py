"""The staged keys' decimal text (what reaches a Spark table's ``_key``) equals DuckDB's own
``CAST(_key AS VARCHAR)`` for every 128-bit value, edges of each branch included."""

from __future__ import annotations

import duckdb

from funnelscope.engine.spark_write import key_text_sql

EDGES = ["0", "1", "9", "10", "18446744073709551615", "18446744073709551616",
         "99999999999999999999999999999999999999", "100000000000000000000000000000000000000",
         "100000000000000000000000000000000000001", "170141183460469231731687303715884105727",
         "170141183460469231731687303715884105728", "199999999999999999999999999999999999999",
         "200000000000000000000000000000000000000", "299999999999999999999999999999999999999",
         "300000000000000000000000000000000000000", "340282366920938463463374607431768211455"]


def test_key_text_equals_duckdb_cast():
    con = duckdb.connect()
    con.execute("CREATE TABLE k AS SELECT CAST(md5_number(CAST(i AS VARCHAR)) AS UHUGEINT) AS _key "
                "FROM range(3000) r(i)")
    con.executemany("INSERT INTO k VALUES (CAST(? AS UHUGEINT))", [[v] for v in EDGES])
    con.execute("INSERT INTO k VALUES (NULL)")
    rows = con.execute(f"SELECT CAST(_key AS VARCHAR), {key_text_sql('_key')} FROM k").fetchall()
    assert len(rows) == 3000 + len(EDGES) + 1
    assert all(ours == theirs for theirs, ours in rows)
    texts = {ours for _, ours in rows}
    assert set(EDGES) <= texts and None in texts
