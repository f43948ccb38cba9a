"""Reloads under another --tz, id conflicts, and clear errors for files that cannot load.

Expected values are written out by hand from the rules in docs/data-model.md.
"""

from __future__ import annotations

import gzip

import pyarrow as pa
import pytest

import funnelscope as fs
from funnelscope.data import ingest
from funnelscope.data.ingest import guess_encoding
from funnelscope.errors import ConfigError, InputError, ValidationError

NAIVE = "event_id,user_id,event,ts\ne1,u1,view,2024-03-05 10:00:00\n"


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def counts(report):
    return (report.read, report.loaded, report.duplicates, report.conflicts, report.rejected)


# ----- 1. the same file twice adds nothing, whatever --tz --------------------------------------
@pytest.mark.parametrize("with_id", [True, False])
def test_reloading_with_another_tz_adds_nothing(tmp_path, with_id):
    text = NAIVE if with_id else "user_id,event,ts\nu1,view,2024-03-05 10:00:00\n"
    path = write(tmp_path / "e.csv", text + text.splitlines()[1].replace("u1", "u2").replace("e1", "e2") + "\n")
    ws = fs.connect(tmp_path / "w.duckdb")
    assert counts(ws.load(path, tz="Asia/Shanghai")) == (2, 2, 0, 0, 0)
    for tz in ("UTC", None, "America/New_York"):
        assert counts(ws.load(path, tz=tz)) == (2, 0, 2, 0, 0)
    # stored once, as read the first time: 10:00 in Shanghai is 02:00 UTC
    assert ws.duckdb.execute("SELECT DISTINCT CAST(ts AS VARCHAR) FROM events").fetchall() == [
        ("2024-03-05 02:00:00+00",)]


def test_reload_key_reads_naive_times_as_utc_and_offsets_as_instants(tmp_path):
    """Keys are computed as if the load were in UTC: naive 10:00 keys like 10:00Z."""
    ws = fs.connect()
    ws.load(write(tmp_path / "a.csv", "user_id,event,ts\nu,view,2024-03-05 10:00:00\n"),
            tz="Asia/Shanghai")
    same = ws.load(write(tmp_path / "b.csv", "user_id,event,ts\nu,view,2024-03-05T10:00:00Z\n"))
    assert (same.loaded, same.duplicates) == (0, 1)
    other = ws.load(write(tmp_path / "c.csv", "user_id,event,ts\nu,view,2024-03-05T10:00:00+08:00\n"))
    assert (other.loaded, other.duplicates) == (1, 0)


def test_deals_key_is_tz_independent(tmp_path):
    path = write(tmp_path / "d.csv", "deal_id,stage,stage_entered_at,amount\n"
                 "d1,target,2024-01-01 09:00,5\nd1,potential,2024-01-02 09:00,5\n")
    ws = fs.connect()
    assert counts(ws.load(path, "deals", tz="Asia/Shanghai")) == (2, 2, 0, 0, 0)
    assert counts(ws.load(path, "deals", tz="Europe/Berlin")) == (2, 0, 2, 0, 0)


# ----- 2. conflicts: same id, other values -----------------------------------------------------
def test_conflicts_within_one_file_and_across_loads(tmp_path):
    first = write(tmp_path / "a.csv", (
        "event_id,user_id,event,ts,plan\n"
        "e1,u1,view,2024-01-01 10:00:00,pro\n"
        "e1,u1,view,2024-01-01 10:00:00,pro\n"     # row 2: same id, same values: duplicate
        "e1,u1,pay,2024-01-01 10:00:00,pro\n"      # row 3: same id, other event: conflict
        "e2,u2,view,2024-01-01 11:00:00,\n"
    ))
    ws = fs.connect()
    report = ws.load(first)
    assert counts(report) == (4, 2, 1, 1, 0)
    assert [(r.row, r.column, r.value, r.reason) for r in report.rejections] == [
        (3, "event_id", "e1", "event_id e1 appears earlier in this input (row 1) with "
         "different values; kept the first")]
    second = write(tmp_path / "b.csv", (
        "event_id,user_id,event,ts,plan\n"
        "e2,u2,view,2024-01-01 11:00:00,\n"        # duplicate of load 1
        "e2,u2,view,2024-01-01 11:00:00,free\n"    # conflict with load 1 (plan added)
        "e3,u3,view,2024-01-01 12:00:00,\n"
    ))
    report = ws.load(second)
    assert counts(report) == (3, 1, 1, 1, 0)
    assert [(r.row, r.reason) for r in report.rejections] == [
        (2, "event_id e2 was loaded before with different values (load 1); kept the first")]
    stored = ws.duckdb.execute(
        'SELECT load_id, "row", "column", value, reason, json_extract_string(raw, \'$.event\') '
        'FROM _rejected ORDER BY load_id').fetchall()
    assert [s[:4] for s in stored] == [(1, 3, "event_id", "e1"), (2, 2, "event_id", "e2")]
    assert stored[0][5] == "pay"  # the whole raw row is kept
    assert dict(ws.duckdb.execute("SELECT event_id, event FROM events").fetchall()) == {
        "e1": "view", "e2": "view", "e3": "view"}  # the first rows won
    loads = ws.duckdb.execute('SELECT "read", loaded, duplicates, conflicts, rejected FROM _loads '
                              "ORDER BY load_id").fetchall()
    assert loads == [(4, 2, 1, 1, 0), (3, 1, 1, 1, 0)]
    # loading a file again: its conflicts are counted again but recorded once
    again = ws.load(second)
    assert counts(again) == (3, 0, 2, 1, 0) and again.new_rejections == 0


def test_a_conflict_with_a_stored_row_wins_over_the_input_order():
    ws = fs.connect()
    ws.load(pa.table({"order_id": ["o1"], "user_id": ["u"], "ts": ["2024-01-01"], "amount": ["5"]}),
            "orders")
    report = ws.load(pa.table({"order_id": ["o1", "o1"], "user_id": ["u", "u"],
                               "ts": ["2024-01-01"] * 2, "amount": ["6", "5"]}), "orders")
    # row 1 differs from the stored o1 (conflict); row 2 equals it (duplicate)
    assert counts(report) == (2, 0, 1, 1, 0)
    assert report.rejections[0].reason == (
        "order_id o1 was loaded before with different values (load 1); kept the first")


def test_multi_column_key_conflict_names_every_key_column():
    ws = fs.connect()
    report = ws.load(pa.table({"date": ["2024-01-01", "2024-01-01"], "channel": ["ads", "ads"],
                               "campaign": ["c1", "c1"], "cost": ["1", "2"]}), "spend")
    assert counts(report) == (2, 1, 0, 1, 0)
    r = report.rejections[0]
    assert (r.row, r.column, r.value) == (2, "date, channel, campaign", "2024-01-01, ads, c1")
    assert r.reason.startswith("date 2024-01-01, channel ads, campaign c1 appears earlier")


def test_strict_load_fails_on_a_conflict_and_writes_nothing():
    ws = fs.connect()
    data = pa.table({"event_id": ["e1", "e1"], "user_id": ["u", "v"], "event": ["x", "x"],
                     "ts": ["2024-01-01"] * 2})
    with pytest.raises(ValidationError, match=r"row 2, column event_id: event_id e1 appears "
                       r"earlier .*1 row\(s\) conflict"):
        ws.load(data, strict=True)
    assert ws.tables(include_internal=True) == []


def test_rows_stored_with_the_old_id_key_are_duplicates_not_conflicts():
    """Earlier versions stored md5('id' || chr(31) || id) as the key of rows with an id."""
    ws = fs.connect()
    data = pa.table({"event_id": ["e1"], "user_id": ["u"], "event": ["x"], "ts": ["2024-01-01"]})
    ws.load(data)
    ws.duckdb.execute("UPDATE events SET _key = md5_number('id' || chr(31) || event_id)")
    assert counts(ws.load(data)) == (1, 0, 1, 0, 0)


# ----- 3. clear errors ---------------------------------------------------------------------------
def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.csv: the file is empty \(0 bytes\)") as err:
        fs.connect().load(path)
    assert err.value.source == str(path)


GBK_TEXT = "user_id,event,ts\n用户一,支付,2024-01-01\n用户二,浏览,2024-01-02\n"


def test_gbk_file_names_the_encoding_and_loads_with_it(tmp_path):
    path = write(tmp_path / "e.csv", GBK_TEXT, "gbk")
    ws = fs.connect()
    with pytest.raises(InputError, match=r"e\.csv is not UTF-8 text: line 2 .*looks like gbk.*"
                       r"--encoding gbk") as err:
        ws.load(path)
    assert (err.value.row, err.value.source) == (1, str(path))
    report = ws.load(path, encoding="gbk")
    assert counts(report) == (2, 2, 0, 0, 0)
    assert sorted(ws.duckdb.execute("SELECT user_id, event FROM events").fetchall()) == [
        ("用户一", "支付"), ("用户二", "浏览")]
    assert report.source == str(path)  # the temporary UTF-8 copy never shows
    assert counts(ws.load(path, encoding="gbk")) == (2, 0, 2, 0, 0)


def test_bad_bytes_after_the_sample_are_found_by_line(tmp_path):
    head = "user_id,event,ts\n" + "u,view,2024-01-01\n" * 20_000  # > the 64 KiB sample
    path = tmp_path / "e.csv"
    path.write_bytes(head.encode() + "u,支付,2024-01-01\n".encode("gbk"))
    with pytest.raises(InputError, match="line 20002 has bytes that are not UTF-8"):
        fs.connect().load(path)


@pytest.mark.parametrize(("encoding", "text", "expected"), [
    ("utf-16", GBK_TEXT, "utf-16"),
    ("gbk", GBK_TEXT, "gbk"),
    ("latin-1", "user_id,event,ts\nJosé,vue,2024-01-01\nRené,été,2024-01-02\n", "cp1252"),
    ("cp1252", "user_id,event,ts\nu,\u201cquoted\u201d,2024-01-01\n", "cp1252"),
    ("latin-1", "a\x81b\n", "latin-1"),
])
def test_guess_encoding(encoding, text, expected):
    assert guess_encoding(text.encode(encoding)) == expected


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1", "gb18030"])
def test_encoding_option_transcodes(tmp_path, encoding):
    text = "user_id,event,ts\nJosé,vue,2024-01-01\n" if encoding == "latin-1" else GBK_TEXT
    path = write(tmp_path / "e.csv", text, encoding)
    ws = fs.connect()
    ws.load(path, encoding=encoding)
    assert ws.duckdb.execute("SELECT user_id FROM events ORDER BY user_id").fetchone()[0] in (
        "José", "用户一")


def test_encoding_works_on_gzip_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    path = tmp_path / "e.csv.gz"
    path.write_bytes(gzip.compress(GBK_TEXT.encode("gbk")))
    ws = fs.connect()
    assert ws.load(path, encoding="gbk").loaded == 2
    with pytest.raises(InputError, match="not valid utf-16"):
        ws.load(write(tmp_path / "odd.csv", "abc", "latin-1"), encoding="utf-16")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_bad_encoding_arguments(tmp_path):
    ws = fs.connect()
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        ws.load(write(tmp_path / "e.csv", NAIVE), encoding="klingon")
    with pytest.raises(ConfigError, match="applies to files only"):
        ws.load(pa.table({"a": ["1"]}), encoding="gbk")


def test_encoding_with_parquet_is_refused(tmp_path):
    path = tmp_path / "e.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"user_id": ["u"], "event": ["e"], "ts": ["2024-01-01"]}), path)
    with pytest.raises(ConfigError, match="not parquet"):
        fs.connect().load(path, encoding="gbk")


def test_over_long_line_names_the_row(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_LINE_BYTES", 1000)
    monkeypatch.setitem(ingest._READERS, "csv",
                        ingest._READERS["csv"].replace("2000000", "1000"))
    path = write(tmp_path / "e.csv", "user_id,event,ts\n" + "u,view,2024-01-01\n" * 3
                 + "u," + "x" * 5000 + ",2024-01-01\n" + "u,view,2024-01-01\n")
    with pytest.raises(InputError, match=r"e\.csv: row 4 \(line 5\) is 0\.0 MB long; the limit "
                       r"is 0\.001 MB per line") as err:
        fs.connect().load(path)
    assert err.value.row == 4


def test_over_long_line_at_the_real_limit(tmp_path):
    path = write(tmp_path / "e.csv", "user_id,event,ts\nu," + "x" * 2_500_000 + ",2024-01-01\n")
    with pytest.raises(InputError, match=r"row 1 \(line 2\) is 2\.5 MB long; the limit is 2 MB"):
        fs.connect().load(path)


def test_over_long_header_is_refused_before_reading(tmp_path):
    path = write(tmp_path / "e.csv", "a" * 2_100_000 + "\n1\n")
    with pytest.raises(InputError, match=r"the header \(line 1\) is too long"):
        fs.connect().load(path)


def test_very_wide_file_fails_fast_with_the_count_and_limit(tmp_path, monkeypatch):
    header = ",".join(f"c{i}" for i in range(10_000))
    path = write(tmp_path / "wide.csv", header + "\n" + ",".join("1" * 10_000) + "\n")

    def no_duckdb(*_args, **_kwargs):  # the check must come before DuckDB reads anything
        raise AssertionError("DuckDB was asked to read the file")

    monkeypatch.setattr(ingest, "_input_columns", no_duckdb)
    with pytest.raises(InputError, match=r"wide\.csv has 10,000 columns; funnelscope loads at "
                       r"most 2,000 columns"):
        fs.connect().load(path)


def test_very_wide_data_frame_is_refused():
    table = pa.table({f"c{i}": ["1"] for i in range(2_001)})
    with pytest.raises(InputError, match="has 2,001 columns"):
        fs.connect().load(table)
