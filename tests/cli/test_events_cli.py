"""``funnelscope events``: event names with users, events, first/last seen, most users first."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from typer.testing import CliRunner

import funnelscope as fs
from funnelscope.cli.app import app, main

ROWS = [("u1", "view", "2024-01-01 10:00"), ("u1", "pay", "2024-01-01 10:10"),
        ("u2", "view", "2024-01-01 11:00"), ("u2", "view", "2024-01-02 11:00"),
        ("u3", "支付", "2024-01-03 08:00"), ("u3", "view", "2024-01-03 09:00"),
        ("u3", "pay", "2024-01-03 09:30"), ("u4", "pay", "2024-01-04 12:00")]
# users desc, events desc, name: view (3 users, 4 events), pay (3, 3), 支付 (1, 1)
EXPECTED = [
    {"event": "view", "users": 3, "events": 4, "first_seen": "2024-01-01T10:00:00+00:00",
     "last_seen": "2024-01-03T09:00:00+00:00"},
    {"event": "pay", "users": 3, "events": 3, "first_seen": "2024-01-01T10:10:00+00:00",
     "last_seen": "2024-01-04T12:00:00+00:00"},
    {"event": "支付", "users": 1, "events": 1, "first_seen": "2024-01-03T08:00:00+00:00",
     "last_seen": "2024-01-03T08:00:00+00:00"},
]


@pytest.fixture
def workspace(tmp_path):
    path = tmp_path / "w.duckdb"
    ws = fs.connect(path)
    ws.duckdb.register("fs_rows", pa.table({
        "event_id": pa.array([str(i) for i in range(len(ROWS))]),
        "user_id": pa.array([r[0] for r in ROWS]),
        "event": pa.array([r[1] for r in ROWS]),
        "ts": pa.array([datetime.fromisoformat(r[2]).replace(tzinfo=UTC) for r in ROWS],
                       pa.timestamp("us", tz="UTC")),
    }))
    ws.duckdb.execute("CREATE TABLE events AS SELECT * FROM fs_rows")
    ws.close()
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["events", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_json(workspace):
    assert json.loads(run("--workspace", str(workspace), "--format", "json")) == {"events": EXPECTED}


def test_limit(workspace):
    out = json.loads(run("-w", str(workspace), "-f", "json", "--limit", "2"))
    assert [r["event"] for r in out["events"]] == ["view", "pay"]


def test_csv(workspace):
    rows = list(csv.DictReader(io.StringIO(run("-w", str(workspace), "-f", "csv"))))
    assert [(r["event"], int(r["users"]), int(r["events"])) for r in rows] == \
        [(r["event"], r["users"], r["events"]) for r in EXPECTED]
    assert list(rows[0]) == ["event", "users", "events", "first_seen", "last_seen"]


def test_table_for_people(workspace):
    out = run("-w", str(workspace))
    assert out.index("view") < out.index("pay") < out.index("支付")
    assert "2024-01-01 10:00:00" in out and "first_seen" in out


def test_time_zone(workspace):
    out = json.loads(run("-w", str(workspace), "-f", "json", "--tz", "Asia/Shanghai"))
    assert out["events"][0]["first_seen"] == "2024-01-01T18:00:00+08:00"


def test_file_in_place(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("uid,time,name\n" + "".join(f"{u},{t},{e}\n" for u, e, t in ROWS), encoding="utf-8")
    out = json.loads(run("--events", str(path), "--map", "user_id=uid,ts=time,event=name",
                         "--tz", "UTC", "-f", "json"))
    assert out == {"events": EXPECTED}


def test_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["events", "--workspace", str(tmp_path / "missing.duckdb")])
    assert exc.value.code == 4
    assert capsys.readouterr().err.startswith("error: workspace file not found")
    with pytest.raises(SystemExit) as exc:
        main(["events", "--workspace", str(tmp_path / "missing.duckdb"), "--format", "xml"])
    assert exc.value.code == 2
