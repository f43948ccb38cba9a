"""Ingest inputs: CSV dialects, TSV, Parquet, JSON lines, pandas / polars / Arrow objects.

Every format must give the same canonical rows as a plain-Python reading of the same records
(the oracle: ``EXPECTED`` below, written out by hand from ``RECORDS``).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import funnelscope as fs
from funnelscope.errors import InputError, MissingColumnsError

RECORDS = [  # event_id, user_id, event, ts, note (a property with awkward text)
    ("e1", "u1", "view", "2024-01-01 10:00:00", "plain"),
    ("e2", "u2", "支付", "2024-01-01T10:00:00+08:00", 'has "quotes", commas; and\na newline'),
    ("e3", "用户三", "add_to_cart", "2024-01-02 00:00:00.5", "tab\there|pipe"),
]
EXPECTED = [
    ("e1", "u1", "view", datetime(2024, 1, 1, 10, tzinfo=UTC), "plain"),
    ("e2", "u2", "支付", datetime(2024, 1, 1, 2, tzinfo=UTC), 'has "quotes", commas; and\na newline'),
    ("e3", "用户三", "add_to_cart", datetime(2024, 1, 2, 0, 0, 0, 500000, tzinfo=UTC),
     "tab\there|pipe"),
]
HEADER = ("event_id", "user_id", "event", "ts", "note")


def events(ws) -> list[tuple]:
    rows = ws.events.order_by("event_id").to_pyarrow().to_pylist()
    return [(r["event_id"], r["user_id"], r["event"], r["ts"], r["note"]) for r in rows]


def write_csv(path, delimiter=",", bom=False, records=RECORDS, header=HEADER):
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(records)
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
@pytest.mark.parametrize("bom", [False, True])
def test_csv_delimiter_is_sniffed_with_or_without_bom(tmp_path, delimiter, bom):
    path = write_csv(tmp_path / "events.csv", delimiter, bom)
    ws = fs.connect()
    report = ws.load(path)
    assert (report.read, report.loaded, report.rejected) == (3, 3, 0)
    assert events(ws) == EXPECTED
    assert ws.events.columns[:4] == ("event_id", "user_id", "event", "ts")  # BOM not in a name


def test_quoted_fields_with_embedded_delimiters_and_newlines(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        'event_id,user_id,event,ts,note\n'
        'a,u1,view,2024-01-01 00:00:00,"x, y"\n'
        'b,u2,view,2024-01-01 00:00:00,"line1\nline2\nline3"\n'
        'c,u3,view,2024-01-01 00:00:00,"say ""hi"""\n'
        'd,,view,2024-01-01 00:00:00,after the newlines\n',
        encoding="utf-8",
    )
    ws = fs.connect()
    report = ws.load(path)
    notes = dict(ws.duckdb.execute("SELECT event_id, note FROM events").fetchall())
    assert notes == {"a": "x, y", "b": "line1\nline2\nline3", "c": 'say "hi"'}
    # a quoted newline does not start a new row: d is data row 4 although it is on line 7
    assert [(r.row, r.column) for r in report.rejections] == [(4, "user_id")]


def test_tsv(tmp_path):
    path = write_csv(tmp_path / "events.tsv", "\t")
    ws = fs.connect()
    ws.load(path)
    assert events(ws) == EXPECTED


def test_parquet(tmp_path):
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(dict(zip(HEADER, zip(*RECORDS, strict=True), strict=True))), path)
    ws = fs.connect()
    ws.load(path)
    assert events(ws) == EXPECTED


def test_json_lines_with_nested_properties(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [dict(zip(HEADER, r, strict=True)) for r in RECORDS]
    lines[0]["properties"] = {"plan": "pro", "seats": 3, "price": 9.5, "tags": ["a", "b"]}
    lines[1]["properties"] = {"plan": "企业", "seats": 10}
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                    encoding="utf-8")
    ws = fs.connect()
    report = ws.load(path)
    assert report.rejected == 0
    assert events(ws) == EXPECTED
    t = ws.events.order_by("event_id").to_pyarrow().to_pylist()
    assert [(r["plan"], r["seats"], r["price"]) for r in t] == [
        ("pro", 3, 9.5), ("企业", 10, None), (None, None, None)
    ]
    assert json.loads(t[0]["tags"]) == ["a", "b"]


def test_explicit_format_for_an_unusual_name(tmp_path):
    path = write_csv(tmp_path / "events.export")
    ws = fs.connect()
    with pytest.raises(InputError, match="cannot tell the format"):
        ws.load(path)
    ws.load(path, format="csv")
    assert events(ws) == EXPECTED


def frame_dict():
    return {name: list(col) for name, col in zip(HEADER, zip(*RECORDS, strict=True), strict=True)}


@pytest.mark.parametrize("kind", ["pandas", "arrow_table", "arrow_batch", "arrow_reader"])
def test_python_objects(kind):
    data = frame_dict()
    if kind == "pandas":
        import pandas as pd

        source = pd.DataFrame(data)
    elif kind == "arrow_table":
        source = pa.table(data)
    elif kind == "arrow_batch":
        source = pa.RecordBatch.from_pydict(data)
    else:
        source = pa.RecordBatchReader.from_batches(
            pa.schema([(n, pa.string()) for n in HEADER]), pa.table(data).to_batches()
        )
    ws = fs.connect()
    report = ws.load(source)
    assert (report.read, report.loaded) == (3, 3)
    assert events(ws) == EXPECTED


def test_polars():
    pl = pytest.importorskip("polars")
    ws = fs.connect()
    ws.load(pl.DataFrame(frame_dict()))
    assert events(ws) == EXPECTED


def test_pandas_with_typed_columns_and_missing_values():
    import pandas as pd

    df = pd.DataFrame({
        "user_id": [1, 2, None], "event": ["view", "view", "view"],
        "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 12:00"],
                             utc=True),
        "score": [0.5, None, 2.0], "flag": [True, False, True],
    })
    ws = fs.connect()
    report = ws.load(df)
    assert (report.loaded, report.rejected) == (2, 1)
    assert report.rejections[0].column == "user_id"
    rows = ws.events.order_by("ts").to_pyarrow().to_pylist()
    assert [(r["user_id"], r["score"], r["flag"]) for r in rows] == [("1.0", 0.5, True),
                                                                     ("2.0", None, False)]


def test_unconvertible_frame_is_a_clear_error():
    import pandas as pd

    df = pd.DataFrame({"user_id": ["u", "v"], "event": ["e", "e"], "ts": ["2024-01-01"] * 2,
                       "mixed": [1, "x"]}).astype({"mixed": object})
    with pytest.raises(InputError, match="mixed|Arrow"):
        fs.connect().load(df)


def test_files_are_not_read_through_pandas(tmp_path, monkeypatch):
    """Files stream through DuckDB: pandas and pyarrow readers must not be touched."""
    import pandas as pd
    import pyarrow.csv
    import pyarrow.json

    def forbidden(*args, **kwargs):
        raise AssertionError("a file load went through pandas / a pyarrow reader")

    for mod, name in [(pd, "read_csv"), (pd, "read_parquet"), (pd, "read_json"),
                      (pd, "DataFrame"), (pq, "read_table"),
                      (pyarrow.csv, "read_csv"), (pyarrow.json, "read_json")]:
        monkeypatch.setattr(mod, name, forbidden)
    csv_path = write_csv(tmp_path / "a.csv")
    pq_path = tmp_path / "b.parquet"
    pq.write_table(pa.table(frame_dict()), pq_path)
    ws = fs.connect()
    ws.load(csv_path)
    ws.load(pq_path)
    assert ws.duckdb.execute("SELECT count(*) FROM events").fetchone() == (3,)


# ----- columns -------------------------------------------------------------------------------
def test_missing_required_column_fails_before_anything_is_written(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("uid,event_name,time\nu,view,2024-01-01\n", encoding="utf-8")
    ws = fs.connect(tmp_path / "w.duckdb")
    with pytest.raises(MissingColumnsError) as err:
        ws.load(path)
    message = str(err.value)
    assert "user_id, event, ts" in message  # what is missing
    assert "uid, event_name, time" in message  # what the file has
    assert "--map" in message
    assert ws.tables(include_internal=True) == []


def test_map_to_a_column_the_file_lacks_names_both(tmp_path):
    path = write_csv(tmp_path / "x.csv")
    with pytest.raises(MissingColumnsError, match="uid.*Its columns are: event_id, user_id"):
        fs.connect().load(path, columns={"user_id": "uid"})


def test_column_map(tmp_path):
    path = write_csv(tmp_path / "x.csv", header=("id", "distinct_id", "event_name", "time", "note"))
    ws = fs.connect()
    ws.load(path, columns={"event_id": "id", "user_id": "distinct_id", "event": "event_name",
                           "ts": "time"})
    assert events(ws) == EXPECTED
    assert "distinct_id" not in ws.events.columns


# ----- unreadable files ----------------------------------------------------------------------
def test_rows_with_the_wrong_number_of_fields_are_a_clear_error(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("user_id,event,ts\nu1,view,2024-01-01\nu2,view,2024-01-01,extra\n",
                    encoding="utf-8")
    ws = fs.connect()
    with pytest.raises(InputError, match=r"row 2 \(line 3\) has 4 fields but the header has 3"):
        ws.load(path)
    assert ws.tables(include_internal=True) == []


def test_a_late_ragged_row_names_its_line(tmp_path):
    path = tmp_path / "late.csv"
    body = "".join(f"u{i},view,2024-01-01\n" for i in range(30_000))
    path.write_text("user_id,event,ts\n" + body + "u,view,2024-01-01,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 30002 has 4 fields but the header has 3"):
        fs.connect().load(path)


@pytest.mark.parametrize(("name", "content", "match"), [
    ("missing.csv", None, "file not found"),
    ("bad.parquet", b"not parquet at all", "cannot read bad.parquet as parquet"),
    ("bad.jsonl", b'{"user_id": "u"}\n{not json\n', "cannot read bad.jsonl as jsonl"),
])
def test_unreadable_inputs(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        fs.connect().load(path)


def test_header_only_file_loads_nothing(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("user_id,event,ts\n", encoding="utf-8")
    report = fs.connect().load(path)
    assert (report.read, report.loaded, report.duplicates, report.rejected) == (0, 0, 0, 0)
