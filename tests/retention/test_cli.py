"""``funnelscope retention | activity | churn | aarrr`` on files in place and on a workspace."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from funnelscope.cli.app import app

from . import oracle
from .helpers import event_tuples

JOURNEYS = {
    "alice": [("signup", "2024-01-01 09:00"), ("view", "2024-01-02 10:00"), ("buy", "2024-01-04 08:00")],
    "bob": [("signup", "2024-01-01 20:00"), ("view", "2024-01-08 21:00")],
    "carol": [("view", "2024-01-02 12:00"), ("signup", "2024-01-03 12:00"), ("view", "2024-01-09 12:00")],
    "dan": [("view", "2024-01-10 23:00")],
}


@pytest.fixture
def events_csv(tmp_path):
    """The journeys with the user's own column names (uid, time, event_name)."""
    rows = [{"uid": u, "event_name": e, "time": t} for u, evs in JOURNEYS.items() for e, t in evs]
    path = tmp_path / "events.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_retention_json_shape(events_csv):
    """The documented shape: cohorts by first event, retained[k] with null where incomplete."""
    out = subprocess.run(
        [sys.executable, "-m", "funnelscope", "retention", "--events", str(events_csv), "--map",
         "user_id=uid,ts=time,event=event_name", "--tz", "UTC", "--period", "day", "--periods", "7",
         "--format", "json"], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert {"cohorts", "average", "definition", "meta", "spec"} <= set(data)
    ref = oracle.retention(event_tuples(JOURNEYS), "UTC", period="day", periods=7)
    assert [c["cohort"] for c in data["cohorts"]] == sorted(ref)
    for c in data["cohorts"]:
        assert set(c) == {"cohort", "size", "retained", "rate"}
        assert len(c["retained"]) == 8
        assert (c["size"], c["retained"]) == (ref[c["cohort"]]["size"], ref[c["cohort"]]["retained"])
    # the last cohort (Jan 10 = data end) has only period 0 observed
    assert data["cohorts"][-1]["retained"][1:] == [None] * 7


def test_retention_table_and_csv_on_a_workspace(tmp_path, events_csv):
    import funnelscope as fs

    path = tmp_path / "w.duckdb"
    ws = fs.connect(str(path))
    ws.load(str(events_csv), "events", columns={"user_id": "uid", "ts": "time", "event": "event_name"})
    del ws
    table = run("retention", "--workspace", str(path), "--period", "week", "--periods", "1",
                "--brackets", "1")
    assert "average" in table and "–" in table
    csv = pd.read_csv(io.StringIO(run("retention", "--workspace", str(path), "--periods", "3",
                                      "--format", "csv", "--values", "retained")))
    assert list(csv.columns) == ["cohort", "size", "0", "1", "2", "3"]
    ref = oracle.retention(event_tuples(JOURNEYS), "UTC", period="day", periods=3)
    got = {r["cohort"]: [None if pd.isna(r[str(k)]) else int(r[str(k)]) for k in range(4)]
           for r in csv.to_dict(orient="records")}
    assert got == {c: v["retained"] for c, v in ref.items()}


def test_activity_churn_aarrr_json(events_csv):
    common = ["--events", str(events_csv), "--map", "user_id=uid,ts=time,event=event_name"]
    act = json.loads(run("activity", *common, "--format", "json"))
    assert {"daily", "weekly", "monthly", "lifecycle", "streaks", "frequency", "meta"} <= set(act)
    daily, *_ = oracle.activity(event_tuples(JOURNEYS), "UTC")
    assert {r["day"]: r["dau"] for r in act["daily"]} == {d: v[0] for d, v in daily.items()}
    ch = json.loads(run("churn", *common, "--inactivity-days", "3", "--period", "week", "--format", "json"))
    assert {"periods", "survival", "lifetime"} <= set(ch)
    assert ch["meta"]["definition"] == "inactivity: no activity for 3 days"
    aa = json.loads(run("aarrr", *common, "--signup", "signup", "--activation-event", "view",
                        "--retention-days", "1,7", "--format", "json"))
    metrics = {m["metric"]: m for m in aa["metrics"]}
    assert metrics["new_users"]["value"] == 3
    assert {"dimension", "aggregation", "measure"} <= set(metrics["activation_rate"])


def test_tables_print(events_csv):
    common = ["--events", str(events_csv), "--map", "user_id=uid,ts=time,event=event_name"]
    assert "lifecycle" in run("activity", *common, "--show", "lifecycle")
    assert "median_lifetime_days" in run("churn", *common, "--inactivity-days", "2")
    assert "d1_retention" in run("aarrr", *common)
    assert run("activity", *common, "--show", "daily", "--format", "csv").startswith("day,dau")


def test_errors_are_one_line(events_csv):
    proc = subprocess.run(
        [sys.executable, "-m", "funnelscope", "retention", "--events", str(events_csv), "--map",
         "user_id=uid,ts=time,event=event_name", "--start", "purchase"],
        capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: start: no event named 'purchase'")
    assert "Traceback" not in proc.stderr
