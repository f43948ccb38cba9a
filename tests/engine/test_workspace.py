"""The Workspace: opening, settings kept in the file, table listing, in-place files, and the
same loaded tables read back identically from DuckDB and PySpark."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import funnelscope as fs
from funnelscope.engine.timezones import epoch_us
from funnelscope.errors import ConfigError, MissingTableError, WorkspaceError

EVENTS_CSV = (
    "event_id,uid,name,time,plan,城市\n"
    "e1,u1,view,2024-01-01 10:00:00,pro,北京\n"
    "e2,u2,支付,2024-01-01T10:00:00+08:00,free,上海\n"
    "e3,,view,2024-01-02 10:00:00,free,上海\n"
    "e4,u1,view,not a time,pro,北京\n"
)
MAP = {"user_id": "uid", "event": "name", "ts": "time"}


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def canonical_rows(ws, table: str) -> list[tuple]:
    """Every column of a canonical table, instants as epoch µs, sorted: engine-independent."""
    t = ws.table(table)
    cols = {c: (epoch_us(ws, t[c]) if t[c].type().is_timestamp() else t[c]) for c in t.columns}
    rows = t.select(**cols).to_pyarrow().to_pylist()
    return sorted((tuple(sorted(r.items())) for r in rows), key=repr)


# ----- opening and settings ---------------------------------------------------------------------
def test_settings_live_in_the_workspace_file(tmp_path):
    path = tmp_path / "w.duckdb"
    ws = fs.connect(path)
    ws.set_timezone("Asia/Shanghai")
    ws.load(write(tmp_path / "e.csv", EVENTS_CSV), columns=MAP)
    ws.backend.disconnect()
    again = fs.connect(path, read_only=True)
    assert again.config.timezone == "Asia/Shanghai"
    assert again.config.column_maps == {"events": MAP}
    assert again.config.input_timezones == {"events": "Asia/Shanghai"}
    with pytest.raises(WorkspaceError, match="read-only"):
        again.load(write(tmp_path / "e.csv", EVENTS_CSV))


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown time zone"):
        fs.connect(tz="Mars/Olympus")
    ws = fs.connect()
    with pytest.raises(ConfigError, match="unknown time zone"):
        ws.load(pa.table({"user_id": ["u"], "event": ["e"], "ts": ["2024-01-01"]}), tz="CET+1")
    with pytest.raises(ConfigError, match="repeats"):
        ws.load(pa.table({"deal_id": ["d"], "stage": ["a"], "stage_entered_at": ["2024-01-01"]}),
                "deals", stages=["a", "a"])
    with pytest.raises(ConfigError, match="unknown table"):
        ws.load(pa.table({"x": [1]}), "sessions")
    with pytest.raises(WorkspaceError, match="not found"):
        fs.connect(tmp_path / "missing.duckdb", read_only=True)


def test_table_listing_and_hidden_internal_columns(tmp_path):
    ws = fs.connect()
    with pytest.raises(MissingTableError, match="funnelscope load FILE --table orders"):
        ws.orders  # noqa: B018
    ws.load(write(tmp_path / "e.csv", EVENTS_CSV), columns=MAP)
    ws.load(pa.table({"user_id": ["u1", "u2"], "channel": ["ads", "seo"]}), "customers")
    assert [(t.name, t.rows) for t in ws.tables()] == [("events", 2), ("customers", 2)]
    internal = {t.name: t.rows for t in ws.tables(include_internal=True)}
    assert internal["_rejected"] == 2 and internal["_loads"] == 2
    assert ws.events.columns == ("event_id", "user_id", "event", "ts", "account_id", "plan", "城市")
    assert ws.backend.table("events").columns[-2:] == ("_key", "_load")
    assert ws.rejected("events").count().execute() == 2
    assert ws.rejected("customers").count().execute() == 0


# ----- in-place files ----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_files_in_place_are_views_with_canonical_columns(tmp_path, suffix):
    csv_path = write(tmp_path / "e.csv", EVENTS_CSV)
    path = csv_path
    if suffix != "csv":
        import duckdb

        path = tmp_path / f"e.{suffix}"
        fmt = "(FORMAT parquet)" if suffix == "parquet" else "(FORMAT json)"
        duckdb.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar=true)) "
                       f"TO '{path}' {fmt}")
    in_place = fs.connect(events=path, columns={"events": MAP})
    assert in_place.duckdb.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'events'"
    ).fetchone() == ("VIEW",)
    loaded = fs.connect()
    loaded.load(csv_path, columns=MAP)
    assert in_place.events.columns[:5] == ("event_id", "user_id", "event", "ts", "account_id")
    assert str(in_place.events.ts.type()) == str(loaded.events.ts.type())
    # the view holds the rows a load would keep (the rejected ones are left out)
    view = [(r["event_id"], r["user_id"], r["event"], r["ts"], r["城市"])
            for r in in_place.events.order_by("event_id").to_pyarrow().to_pylist()]
    table = [(r["event_id"], r["user_id"], r["event"], r["ts"], r["城市"])
             for r in loaded.events.order_by("event_id").to_pyarrow().to_pylist()]
    assert view == table
    assert in_place.funnel(["view", "支付"], window="7d") is not None


def test_file_in_place_uses_the_time_zone_and_needs_the_required_columns(tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user_id": ["u"], "event": ["e"], "ts": ["2024-01-01 08:00:00"]}),
                   path)
    ws = fs.connect(events=path, tz="Asia/Shanghai")
    assert ws.duckdb.execute("SELECT CAST(ts AS VARCHAR) FROM events").fetchone() == (
        "2024-01-01 00:00:00+00",)
    with pytest.raises(Exception, match="needs column"):
        fs.connect(orders=path)


# ----- the same tables on DuckDB and PySpark ------------------------------------------------------
def sample_tables(tmp_path):
    events = write(tmp_path / "events.csv", EVENTS_CSV)
    orders = pa.table({"order_id": ["o1", "o2", "o2", None], "user_id": ["u1", "u2", "u2", ""],
                       "ts": ["2024-01-03 12:00:00.123456", "2024-01-04", "2024-01-04", "x"],
                       "amount": ["10.5", "20", "20", "1"], "currency": ["CNY", "USD", "USD", ""]})
    deals = pa.table({"deal_id": ["d1", "d1", "d2"], "stage": ["target", "potential", "bogus"],
                      "stage_entered_at": ["2024-01-01", "2024-01-05", "2024-01-02"],
                      "amount": [100.0, 100.0, 5.0], "owner": ["王", "王", "李"],
                      "closed": ["", "won", "lost"]})
    return {"events": events, "orders": orders, "deals": deals}


@pytest.mark.spark
def test_loaded_tables_read_the_same_on_every_backend(make_workspace, backend, tmp_path):
    tables = sample_tables(tmp_path)
    kwargs = {"events": {"columns": MAP}}
    reference = make_workspace(tables, backend="duckdb", **kwargs)
    ws = make_workspace(tables, backend=backend, **kwargs)
    assert ws.engine == backend
    for name in tables:
        assert canonical_rows(ws, name) == canonical_rows(reference, name), name

    # loading again adds nothing, on both; rejections and the load log are kept on both
    for w in (ws, reference):
        report = w.load(tables["orders"], "orders")
        assert (report.loaded, report.duplicates, report.rejected) == (0, 3, 1)
    rej = ws.rejected().select("table", "row", "column", "value").to_pyarrow().to_pylist()
    ref = reference.rejected().select("table", "row", "column", "value").to_pyarrow().to_pylist()
    assert sorted(map(repr, rej)) == sorted(map(repr, ref))
    assert len(rej) == 4  # events 2, orders 1, deals 1: not recorded twice
    loads = ws.backend.table("_loads").order_by("load_id").select(
        "load_id", "table", "read", "loaded", "duplicates", "rejected").to_pyarrow().to_pylist()
    assert [r["load_id"] for r in loads] == [1, 2, 3, 4]
    assert loads[-1] == {"load_id": 4, "table": "orders", "read": 4, "loaded": 0,
                         "duplicates": 3, "rejected": 1}

    # a later file with a new property column
    more = pa.table({"user_id": ["u3"], "event": ["view"], "ts": ["2024-01-05"],
                     "utm_source": ["微信"]})
    for w in (ws, reference):
        assert w.load(more).loaded == 1
    assert canonical_rows(ws, "events") == canonical_rows(reference, "events")
    assert json.dumps(canonical_rows(ws, "events"), ensure_ascii=False, default=str).count("微信") == 1


def test_memory_target_is_in_memory_and_writes_no_file(tmp_path, monkeypatch):
    import funnelscope as fs

    monkeypatch.chdir(tmp_path)
    ws = fs.connect(":memory:")
    assert ws.path is None
    ws.close()
    assert list(tmp_path.iterdir()) == []
