"""Ingest rules: quarantine, strict loads, dedupe keys, property columns, names, column maps.

Each test states the rule of docs/data-model.md it pins and compares with values written out
by hand or computed in plain Python.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import funnelscope as fs
from funnelscope.errors import ValidationError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def rejected(ws, table=None):
    where = "" if table is None else f"WHERE \"table\" = '{table}'"
    return ws.duckdb.execute(
        f'SELECT "row", "column", value, reason, CAST(raw AS VARCHAR), source FROM _rejected '
        f'{where} ORDER BY load_id, "row"'
    ).fetchall()


def count(ws, table):
    return ws.duckdb.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


# ----- quarantine ------------------------------------------------------------------------------
def test_each_kind_of_invalid_row_is_quarantined_with_row_column_value_reason(tmp_path):
    path = write(tmp_path / "orders.csv", (
        "order_id,user_id,ts,amount,currency\n"
        "o1,u1,2024-01-01 10:00:00,10.5,CNY\n"           # row 1 fine
        "o2,  ,2024-01-01 10:00:00,3,CNY\n"              # row 2 empty user_id (blank)
        "o3,u3,yesterday,3,CNY\n"                        # row 3 unparseable time
        "o4,u4,2024-01-01 10:00:00,12 yuan,CNY\n"        # row 4 non-numeric amount
        "o5,u5,2024-01-01 10:00:00,,CNY\n"               # row 5 empty amount
        "o6,u6,2024-01-01 10:00:00,NaN,CNY\n"            # row 6 not a finite number
        "o7,u7,2024-01-01 10:00:00,1e3,USD\n"            # row 7 fine (1000)
    ))
    ws = fs.connect()
    report = ws.load(path, "orders")
    assert (report.read, report.loaded, report.duplicates, report.rejected) == (7, 2, 0, 5)
    got = [(r.row, r.column, r.value) for r in report.rejections]
    assert got == [(2, "user_id", "  "), (3, "ts", "yesterday"), (4, "amount", "12 yuan"),
                   (5, "amount", None), (6, "amount", "NaN")]
    reasons = [r.reason for r in report.rejections]
    assert reasons[0] == "user_id is empty"
    assert reasons[1].startswith("ts: not a time")
    assert reasons[2] == reasons[4] == "amount: not a number"
    assert reasons[3] == "amount is empty"
    stored = rejected(ws)
    assert [(r[0], r[1], r[2], r[3]) for r in stored] == [
        (r.row, r.column, r.value, r.reason) for r in report.rejections
    ]
    assert json.loads(stored[1][4]) == {"order_id": "o3", "user_id": "u3", "ts": "yesterday",
                                        "amount": "3", "currency": "CNY"}
    assert {r[5] for r in stored} == {str(path)}
    amounts = dict(ws.duckdb.execute("SELECT order_id, amount FROM orders").fetchall())
    assert amounts == {"o1": 10.5, "o7": 1000.0}


def test_deal_rules_unknown_stage_and_closed_status(tmp_path):
    path = write(tmp_path / "deals.csv", (
        "deal_id,stage,stage_entered_at,amount,closed\n"
        "d1,lead,2024-01-01,100,\n"
        "d1,mql,2024-01-02,100,open\n"
        "d1,sql,2024-01-03,100,WON\n"
        "d2,lead,2024-01-01,50,maybe\n"          # row 4: bad closed status
        "d3,Lead,2024-01-01,50,lost\n"           # row 5: stages are case-sensitive
        "d4,negotiation,2024-01-01,50,lost\n"    # row 6: unknown stage
    ))
    ws = fs.connect()
    report = ws.load(path, "deals", stages=["lead", "mql", "sql", "won"])
    assert [(r.row, r.column, r.value) for r in report.rejections] == [
        (4, "closed", "maybe"), (5, "stage", "Lead"), (6, "stage", "negotiation")
    ]
    assert report.rejections[1].reason == (
        "unknown stage Lead (the workspace's stages are: lead, mql, sql, won; set them with "
        "--stages)"
    )
    assert report.rejections[0].reason == "closed: closed must be won, lost or open"
    closed = ws.duckdb.execute("SELECT stage, closed FROM deals ORDER BY stage_entered_at").fetchall()
    assert closed == [("lead", "open"), ("mql", "open"), ("sql", "won")]
    assert ws.config.deal_stages == ["lead", "mql", "sql", "won"]


def test_invalid_json_properties_are_quarantined(tmp_path):
    path = write(tmp_path / "e.csv", (
        "user_id,event,ts,properties\n"
        'u1,view,2024-01-01,"{""plan"": ""pro"", ""n"": 2}"\n'
        'u2,view,2024-01-01,{not json\n'
        'u3,view,2024-01-01,"[1, 2]"\n'
        'u4,view,2024-01-01,\n'
    ))
    ws = fs.connect()
    report = ws.load(path)
    assert [(r.row, r.column, r.value, r.reason) for r in report.rejections] == [
        (2, "properties", "{not json", "properties is not a JSON object"),
        (3, "properties", "[1, 2]", "properties is not a JSON object"),
    ]
    rows = ws.duckdb.execute("SELECT user_id, plan, n FROM events ORDER BY user_id").fetchall()
    assert rows == [("u1", "pro", 2), ("u4", None, None)]


def test_the_first_failing_check_in_schema_column_order_is_reported(tmp_path):
    """user_id, event, ts are checked in that order; empty before unreadable; properties last."""
    path = write(tmp_path / "e.csv", (
        "user_id,event,ts,properties\n"
        ",,nonsense,{bad\n"           # fails user_id, event, ts, properties -> user_id
        "u,,nonsense,{bad\n"          # event
        "u,e,nonsense,{bad\n"         # ts (unreadable)
        "u,e,,{bad\n"                 # ts (empty)
        "u,e,2024-01-01,{bad\n"       # properties
    ))
    report = fs.connect().load(path)
    assert [(r.row, r.column, r.reason.split(":")[0]) for r in report.rejections] == [
        (1, "user_id", "user_id is empty"), (2, "event", "event is empty"),
        (3, "ts", "ts"), (4, "ts", "ts is empty"), (5, "properties", "properties is not a JSON object"),
    ]


def test_mapped_columns_are_named_in_the_reason(tmp_path):
    path = write(tmp_path / "e.csv", "uid,name,time\nu,view,soon\n")
    report = fs.connect().load(path, columns={"user_id": "uid", "event": "name", "ts": "time"})
    r = report.rejections[0]
    assert (r.column, r.value) == ("ts", "soon")
    assert r.reason.startswith("ts (time): not a time")


def test_only_the_first_hundred_rejections_are_reported_but_all_are_kept(tmp_path):
    body = "".join(f"u{i},view,bad-{i}\n" for i in range(250))
    path = write(tmp_path / "e.csv", "user_id,event,ts\n" + body)
    ws = fs.connect()
    report = ws.load(path)
    assert report.rejected == 250
    assert [r.row for r in report.rejections] == list(range(1, 101))
    assert count(ws, "_rejected") == 250


def test_strict_load_fails_whole_and_writes_nothing(tmp_path):
    good = write(tmp_path / "good.csv", "event_id,user_id,event,ts\na,u,view,2024-01-01\n")
    bad = write(tmp_path / "bad.csv", (
        "event_id,user_id,event,ts,newprop\nb,u,view,2024-01-02,1\nc,,view,2024-01-02,2\n"
    ))
    ws = fs.connect(tmp_path / "w.duckdb")
    ws.load(good)
    before = ws.tables(include_internal=True)
    columns_before = ws.events.columns
    config_before = ws.config.to_json()
    with pytest.raises(ValidationError, match=r"row 2, column user_id: user_id is empty"):
        ws.load(bad, strict=True, columns={"event_id": "event_id"}, stages=["x", "y"])
    assert ws.tables(include_internal=True) == before
    assert ws.events.columns == columns_before  # no new property column either
    assert ws.config.to_json() == config_before
    ws2 = fs.connect(tmp_path / "w2.duckdb")
    with pytest.raises(ValidationError):
        ws2.load(bad, strict=True)
    assert ws2.tables(include_internal=True) == []


def test_strict_load_of_valid_rows_loads(tmp_path):
    path = write(tmp_path / "good.csv", "user_id,event,ts\nu,view,2024-01-01\n")
    report = fs.connect().load(path, strict=True)
    assert (report.loaded, report.rejected) == (1, 0)


# ----- dedupe ----------------------------------------------------------------------------------
def test_same_file_twice_adds_nothing_and_says_so(tmp_path):
    path = write(tmp_path / "e.csv", (
        "event_id,user_id,event,ts\n"
        "e1,u,view,2024-01-01\ne2,u,view,2024-01-01\ne1,u,view,2024-01-01\n"
        "e3,,view,2024-01-01\n"
    ))
    ws = fs.connect()
    first = ws.load(path)
    assert (first.read, first.loaded, first.duplicates, first.rejected) == (4, 2, 1, 1)
    second = ws.load(path)
    assert (second.read, second.loaded, second.duplicates, second.rejected) == (4, 0, 3, 1)
    assert (first.new_rejections, second.new_rejections) == (1, 0)
    assert count(ws, "events") == 2
    assert count(ws, "_rejected") == 1  # rejections are not recorded twice
    loads = ws.duckdb.execute(
        'SELECT load_id, "read", loaded, duplicates, rejected FROM _loads ORDER BY load_id'
    ).fetchall()
    assert loads == [(1, 4, 2, 1, 1), (2, 4, 0, 3, 1)]


def test_same_bad_row_in_another_file_is_recorded_for_that_file(tmp_path):
    text = "user_id,event,ts\n,view,2024-01-01\n"
    a, b = write(tmp_path / "a.csv", text), write(tmp_path / "b.csv", text)
    ws = fs.connect()
    ws.load(a)
    ws.load(b)
    assert [r[5] for r in rejected(ws)] == [str(a), str(b)]


def test_event_id_is_the_key_when_present_else_full_content():
    ws = fs.connect()
    ws.load(pa.table({
        "event_id": ["e1", "e1", None, None, None, " e2 "],
        "user_id": ["u", "v", "u", "u", "u", "u"],          # e1 twice: second is a conflict
        "event": ["view", "view", "pay", "pay", "pay", "x"],
        "ts": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01", "2024-01-03", "2024-01-01"],
    }))
    rows = ws.duckdb.execute(
        "SELECT event_id, user_id, event, CAST(ts AS VARCHAR) FROM events ORDER BY _load, event"
    ).fetchall()
    assert sorted(rows, key=str) == sorted([
        ("e1", "u", "view", "2024-01-01 00:00:00+00"),
        (None, "u", "pay", "2024-01-01 00:00:00+00"),   # content duplicate dropped once
        (None, "u", "pay", "2024-01-03 00:00:00+00"),
        ("e2", "u", "x", "2024-01-01 00:00:00+00"),    # ids are trimmed
    ], key=str)
    # a later row with a known id but other content is a conflict; with the same content a
    # duplicate (the id is trimmed, the time written another way)
    report = ws.load(pa.table({"event_id": ["e2"], "user_id": ["someone else"],
                               "event": ["other"], "ts": ["2030-01-01"]}))
    assert (report.loaded, report.duplicates, report.conflicts) == (0, 0, 1)
    report = ws.load(pa.table({"event_id": ["e2 "], "user_id": ["u"], "event": ["x"],
                               "ts": ["2024-01-01T00:00:00Z"]}))
    assert (report.loaded, report.duplicates, report.conflicts) == (0, 1, 0)


def test_content_key_ignores_column_order_and_empty_columns():
    ws = fs.connect()
    ws.load(pa.table({"user_id": ["u"], "event": ["e"], "ts": ["2024-01-01"], "plan": ["p"]}))
    same = pa.table({"plan": ["p"], "extra": [None], "ts": ["2024-01-01T00:00:00Z"],
                     "event": ["e"], "user_id": ["u"]}).cast(pa.schema([
                         ("plan", pa.string()), ("extra", pa.string()), ("ts", pa.string()),
                         ("event", pa.string()), ("user_id", pa.string())]))
    report = ws.load(same)
    assert (report.loaded, report.duplicates) == (0, 1)
    other = pa.table({"user_id": ["u"], "event": ["e"], "ts": ["2024-01-01"], "plan": ["q"]})
    assert ws.load(other).loaded == 1


@pytest.mark.parametrize(("table", "data", "expected"), [
    # (loaded, duplicates, conflicts): same key + same values = duplicate, other values = conflict
    ("orders", {"order_id": ["o1", "o1", None, None, "o1"], "user_id": ["u", "v", "u", "u", "u"],
                "ts": ["2024-01-01"] * 5, "amount": ["1", "2", "3", "3", "1"]}, (2, 2, 1)),
    ("customers", {"user_id": ["u", "u", "v"], "channel": ["ads", "seo", "ads"]}, (2, 0, 1)),
    ("deals", {"deal_id": ["d", "d", "d", "d"], "stage": ["target", "target", "potential", "target"],
               "stage_entered_at": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-02-01"],
               "amount": ["1", "999", "1", "1"]}, (3, 0, 1)),
    ("spend", {"date": ["2024-01-01"] * 4, "channel": ["ads", "ads", "ads", "seo"],
               "campaign": ["c1", "c1", "c2", "c1"], "cost": ["1", "2", "3", "4"]}, (3, 0, 1)),
    ("spend", {"date": ["2024-01-01"] * 3, "channel": ["ads", "ads", "seo"],
               "cost": ["1", "1", "3"]}, (2, 1, 0)),
])
def test_dedupe_key_of_each_table(table, data, expected):
    """order_id; user_id; deal_id+stage+stage_entered_at; date+channel+campaign; first row wins."""
    ws = fs.connect()
    report = ws.load(pa.table(data), table)
    assert (report.loaded, report.duplicates, report.conflicts) == expected
    assert report.read == report.loaded + report.duplicates + report.conflicts + report.rejected
    again = ws.load(pa.table(data), table)
    # loaded again: the first rows are duplicates, the conflicting ones conflict again
    assert (again.loaded, again.duplicates, again.conflicts) == (
        0, expected[0] + expected[1], expected[2])


def test_customers_first_load_wins(tmp_path):
    ws = fs.connect()
    ws.load(pa.table({"user_id": ["u"], "channel": ["ads"]}), "customers")
    ws.load(pa.table({"user_id": ["u"], "channel": ["seo"]}), "customers")
    assert ws.duckdb.execute("SELECT channel FROM customers").fetchall() == [("ads",)]


# ----- property columns ------------------------------------------------------------------------
def test_property_type_inference_and_the_leading_zero_rule(tmp_path):
    path = write(tmp_path / "e.csv", (
        "user_id,event,ts,count,price,flag,zip,code,mixed,empty,sci,signed,spaced,big\n"
        "u1,view,2024-01-01,1,1.5,true,007,A1,1,,1e3,-3, 4 ,9223372036854775808\n"
        "u2,view,2024-01-01,22,2,FALSE,123,B2,x,,2.5E-1,+4,5,1\n"
        "u3,view,2024-01-01,,3.25,,,C3,2,,,0,6,2\n"
    ))
    ws = fs.connect()
    ws.load(path)
    types = dict(ws.duckdb.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'events'").fetchall())
    assert {k: types[k] for k in ("count", "price", "flag", "zip", "code", "mixed", "empty",
                                  "sci", "signed", "spaced", "big")} == {
        "count": "BIGINT", "price": "DOUBLE", "flag": "BOOLEAN", "zip": "VARCHAR",
        "code": "VARCHAR", "mixed": "VARCHAR", "empty": "VARCHAR", "sci": "DOUBLE",
        "signed": "BIGINT", "spaced": "BIGINT", "big": "DOUBLE",
    }
    rows = ws.duckdb.execute(
        "SELECT count, price, flag, zip, mixed, sci, signed, spaced FROM events ORDER BY user_id"
    ).fetchall()
    assert rows == [(1, 1.5, True, "007", "1", 1000.0, -3, 4),
                    (22, 2.0, False, "123", "x", 0.25, 4, 5),
                    (None, 3.25, None, None, "2", None, 0, 6)]


def test_json_properties_keys_become_typed_columns_and_clashes_are_prefixed(tmp_path):
    ws = fs.connect()
    props = [json.dumps(p, ensure_ascii=False) for p in (
        {"plan": "pro", "seats": 3, "ratio": 0.5, "vip": True, "user_id": "inner", "城市": "上海",
         "note": "from json"},
        {"plan": "free", "seats": 10, "ratio": 2, "vip": False, "nested": {"a": [1, 2]}},
    )]
    ws.load(pa.table({"user_id": ["u1", "u2"], "event": ["e", "e"], "ts": ["2024-01-01"] * 2,
                      "note": ["column", "column"], "properties": props}))
    rows = ws.events.order_by("user_id").to_pyarrow().to_pylist()
    assert [(r["plan"], r["seats"], r["ratio"], r["vip"], r["城市"]) for r in rows] == [
        ("pro", 3, 0.5, True, "上海"), ("free", 10, 2.0, False, None)
    ]
    assert rows[0]["properties.user_id"] == "inner" and rows[0]["user_id"] == "u1"
    assert rows[0]["note"] == "column" and rows[0]["properties.note"] == "from json"
    assert json.loads(rows[1]["nested"]) == {"a": [1, 2]}
    assert "properties" not in ws.events.columns


def test_an_extra_column_named_like_a_mapped_canonical_column_is_kept_apart(tmp_path):
    path = write(tmp_path / "e.csv", "uid,user_id,event,ts\nU1,legacy,view,2024-01-01\n")
    ws = fs.connect()
    ws.load(path, columns={"user_id": "uid"})
    row = ws.events.to_pyarrow().to_pylist()[0]
    assert (row["user_id"], row["properties.user_id"]) == ("U1", "legacy")


def test_columns_named_like_internal_ones_are_kept(tmp_path):
    path = write(tmp_path / "e.csv",
                 "user_id,event,ts,_key,_load,__fs_row,_utm,rowid\nu,view,2024-01-01,a,b,c,d,e\n"
                 ",view,2024-01-01,a,b,c,d,e\n")
    ws = fs.connect()
    report = ws.load(path)
    assert [(r.row, r.column) for r in report.rejections] == [(2, "user_id")]
    row = ws.events.to_pyarrow().to_pylist()[0]
    assert {k: row[k] for k in ("properties._key", "properties._load", "__fs_row", "_utm",
                                "rowid")} == {"properties._key": "a", "properties._load": "b",
                                              "__fs_row": "c", "_utm": "d", "rowid": "e"}


def test_chinese_names_and_values_round_trip_exactly(tmp_path):
    path = write(tmp_path / "事件.csv", (
        "用户,事件名,时间,城市,金额\n"
        "张三,浏览商品,2024-01-01 08:00:00,北京,12.5\n"
        "李四,支付,2024-01-01 09:00:00,上海 浦东,7\n"
    ))
    ws = fs.connect(tz="Asia/Shanghai")
    ws.load(path, columns={"user_id": "用户", "event": "事件名", "ts": "时间"})
    rows = ws.events.order_by("ts").to_pyarrow().to_pylist()
    assert [(r["user_id"], r["event"], r["城市"], r["金额"]) for r in rows] == [
        ("张三", "浏览商品", "北京", 12.5), ("李四", "支付", "上海 浦东", 7.0)
    ]
    f = ws.events.filter(ws.events.event == "支付").城市.to_pyarrow().to_pylist()
    assert f == ["上海 浦东"]
    report = ws.load(write(tmp_path / "坏.csv", "用户,事件名,时间\n王五,支付,明天\n"))
    assert (report.rejections[0].value, report.rejections[0].column) == ("明天", "ts")
    assert rejected(ws)[0][2] == "明天"
    assert json.loads(rejected(ws)[0][4]) == {"用户": "王五", "事件名": "支付", "时间": "明天"}


# ----- hostile names ---------------------------------------------------------------------------
HOSTILE = ['a"b', "it's", '"; DROP TABLE events; --', "x'); DROP TABLE events; --", "a.b",
           "semi;colon", "new\nline", "$1", "?", "back\\slash", "  spaced  "]


def test_hostile_column_names_values_and_paths_load_and_nothing_else_happens(tmp_path):
    ws = fs.connect(tmp_path / "w.duckdb")
    ws.load(pa.table({"user_id": ["seed"], "event": ["e"], "ts": ["2024-01-01"]}))
    folder = tmp_path / "it's a \"dir\"; DROP TABLE events; --"
    folder.mkdir()
    data = {"user_id": ["'; DROP TABLE events; --", 'u"2'], "event": ["view", "'--"],
            "ts": ["2024-01-01", "2024-01-02"]}
    for i, name in enumerate(HOSTILE):
        data[name] = [f"v{i}'\"", f"{i}; DROP TABLE events"]
    import pyarrow.parquet as pq

    path = folder / "ev'il\".parquet"
    pq.write_table(pa.table(data), path)
    report = ws.load(path, columns={"user_id": "user_id"})
    assert (report.read, report.loaded, report.rejected) == (2, 2, 0)
    tables = {t.name for t in ws.tables(include_internal=True)}
    assert tables == {"events", "_loads", "_rejected", "_funnelscope_config"}
    assert count(ws, "_rejected") == 0
    assert count(ws, "events") == 3
    rows = ws.events.filter(ws.events.user_id != "seed").order_by("ts").to_pyarrow().to_pylist()
    assert [r["user_id"] for r in rows] == data["user_id"]
    for name in HOSTILE:
        assert [r[name] for r in rows] == data[name]
    src = ws.duckdb.execute("SELECT source FROM _loads WHERE load_id = 2").fetchone()[0]
    assert src == str(path)


def test_hostile_csv_header_and_values_through_the_text_path(tmp_path):
    header = ['user_id', 'event', 'ts', '"; DROP TABLE events; --', "it's", "properties"]
    import csv

    path = tmp_path / "h'\"; --.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerow(["u1", "'; DROP TABLE x", "2024-01-01", "1", "a'b",
                    json.dumps({'"; DROP TABLE events; --': "k", "it's": 5})])
        w.writerow(["", "e", "2024-01-01", "2", "c", "{}"])
    ws = fs.connect()
    report = ws.load(path)
    assert (report.loaded, report.rejected) == (1, 1)
    row = ws.events.to_pyarrow().to_pylist()[0]
    assert row['"; DROP TABLE events; --'] == 1
    assert row["properties.\"; DROP TABLE events; --"] == "k"
    assert row["it's"] == "a'b" and row["properties.it's"] == 5
    assert row["event"] == "'; DROP TABLE x"
    assert ws.duckdb.execute("SELECT source FROM _rejected").fetchone()[0] == str(path)


def test_hostile_stage_names_and_map(tmp_path):
    stages = ["it's", '"; DROP TABLE deals; --', "阶段"]
    ws = fs.connect()
    report = ws.load(pa.table({"id": ["d", "d", "d"], "stage": stages,
                               "at": ["2024-01-01", "2024-01-02", "2024-01-03"]}),
                     "deals", columns={"deal_id": "id", "stage_entered_at": "at"}, stages=stages)
    assert report.loaded == 3
    report = ws.load(pa.table({"id": ["e"], "stage": ["x'; --"], "at": ["2024-01-01"]}), "deals")
    assert report.rejections[0].reason.startswith("unknown stage x'; -- (the workspace's stages "
                                                  "are: it's, \"; DROP TABLE deals; --, 阶段")


# ----- column maps and schema evolution -------------------------------------------------------
def test_column_map_is_remembered_for_the_next_load_of_the_same_table(tmp_path):
    a = write(tmp_path / "a.csv", "uid,name,time\nu1,view,2024-01-01\n")
    b = write(tmp_path / "b.csv", "uid,name,time\nu2,view,2024-01-02\n")
    c = write(tmp_path / "c.csv", "user_id,name,time\nu3,view,2024-01-03\n")
    ws = fs.connect(tmp_path / "w.duckdb")
    ws.load(a, columns={"user_id": "uid", "event": "name", "ts": "time"})
    ws = fs.connect(tmp_path / "w.duckdb")  # a new session: the map lives in the workspace
    assert ws.config.column_maps["events"] == {"user_id": "uid", "event": "name", "ts": "time"}
    assert ws.load(b).loaded == 1
    # a remembered entry whose column the file lacks is skipped (c has canonical user_id)
    assert ws.load(c).loaded == 1
    assert sorted(ws.events.user_id.to_pyarrow().to_pylist()) == ["u1", "u2", "u3"]
    assert "uid" not in ws.events.columns
    # other tables do not use it
    with pytest.raises(Exception, match="needs column"):
        ws.load(a, "orders")
    # a new --map is merged into the remembered one
    d = write(tmp_path / "d.csv", "uid,action,time\nu4,view,2024-01-04\n")
    ws.load(d, columns={"event": "action"})
    assert ws.config.column_maps["events"] == {"user_id": "uid", "event": "action", "ts": "time"}


def test_schema_evolution_new_property_and_widening_types(tmp_path):
    ws = fs.connect(tmp_path / "w.duckdb")
    ws.load(pa.table({"user_id": ["u1"], "event": ["e"], "ts": ["2024-01-01"], "n": ["1"],
                      "flag": ["true"]}))
    ws.load(pa.table({"user_id": ["u2"], "event": ["e"], "ts": ["2024-01-02"], "n": ["2.5"],
                      "country": ["CN"]}))
    ws.load(pa.table({"user_id": ["u3"], "event": ["e"], "ts": ["2024-01-03"], "n": ["many"],
                      "flag": ["7"]}))
    ws.load(pa.table({"user_id": ["u4"], "event": ["e"], "ts": ["2024-01-04"],
                      "i32": pa.array([1], pa.int32())}))
    ws.load(pa.table({"user_id": ["u5"], "event": ["e"], "ts": ["2024-01-05"],
                      "i32": pa.array([2**40], pa.int64())}))
    types = dict(ws.duckdb.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'events'").fetchall())
    assert (types["n"], types["flag"], types["country"], types["i32"]) == (
        "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT")
    rows = ws.duckdb.execute("SELECT user_id, n, flag, country, i32 FROM events ORDER BY user_id"
                             ).fetchall()
    # stored values convert with their column: n went BIGINT -> DOUBLE -> VARCHAR, so 1 is '1.0'
    assert rows == [("u1", "1.0", "true", None, None), ("u2", "2.5", None, "CN", None),
                    ("u3", "many", "7", None, None), ("u4", None, None, None, 1),
                    ("u5", None, None, None, 2**40)]


def test_integer_then_decimal_widens_to_double(tmp_path):
    ws = fs.connect()
    ws.load(pa.table({"user_id": ["u1"], "event": ["e"], "ts": ["2024-01-01"], "n": ["1"]}))
    ws.load(pa.table({"user_id": ["u2"], "event": ["e"], "ts": ["2024-01-01"], "n": ["2.5"]}))
    assert ws.duckdb.execute("SELECT n FROM events ORDER BY user_id").fetchall() == [(1.0,), (2.5,)]
