"""``funnelscope load`` and ``funnelscope tables``: JSON shapes, messages, exit codes.

Run in-process through ``funnelscope.cli.app.main`` (what the ``funnelscope`` script calls),
plus subprocesses for ``python -m funnelscope`` and the installed script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import funnelscope as fs
from funnelscope.cli.app import app, main

EVENTS = (
    "uid,name,time,plan\n"
    "u1,view,2024-01-01 08:00:00,pro\n"
    "u2,支付,2024-01-01 09:00:00,free\n"
    ",view,2024-01-01 10:00:00,free\n"
    "u3,view,whenever,free\n"
    "u1,view,2024-01-01 08:00:00,pro\n"
)
MAP = "user_id=uid,event=name,ts=time"


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS, encoding="utf-8")
    return tmp_path


def test_load_json_output_has_the_documented_shape(capsys, files):
    ws = files / "w.duckdb"
    code, out, err = run(capsys, "load", files / "events.csv", "--workspace", ws, "--table",
                         "events", "--map", MAP, "--tz", "Asia/Shanghai", "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert {"table", "read", "loaded", "duplicates", "rejected", "rejections"} <= set(data)
    assert (data["table"], data["read"], data["loaded"], data["duplicates"], data["rejected"]) == (
        "events", 5, 2, 1, 2)
    assert data["rejections"] == [
        {"row": 3, "column": "user_id", "value": None, "reason": "user_id (uid) is empty"},
        {"row": 4, "column": "ts", "value": "whenever",
         "reason": data["rejections"][1]["reason"]},
    ]
    assert data["rejections"][1]["reason"].startswith("ts (time): not a time")
    w = fs.connect(ws, read_only=True)
    assert w.duckdb.execute("SELECT CAST(min(ts) AS VARCHAR) FROM events").fetchone() == (
        "2024-01-01 00:00:00+00",)  # 08:00 in Shanghai


def test_json_lists_the_first_hundred_rejections(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("user_id,event,ts\n" + "".join(f"u{i},view,nope\n" for i in range(150)),
                    encoding="utf-8")
    code, out, _ = run(capsys, "load", path, "-w", tmp_path / "w.duckdb", "-f", "json")
    data = json.loads(out)
    assert (code, data["rejected"], len(data["rejections"])) == (0, 150, 100)
    assert [r["row"] for r in data["rejections"]] == list(range(1, 101))


def test_loading_twice_adds_nothing_and_says_so(capsys, files):
    ws = files / "w.duckdb"
    run(capsys, "load", files / "events.csv", "-w", ws, "--map", MAP)
    code, out, _ = run(capsys, "load", files / "events.csv", "-w", ws)  # map remembered
    assert code == 0
    assert "loaded 0" in out and "duplicates 3" in out and "rejected 2" in out
    assert "nothing new" in out
    code, out, _ = run(capsys, "tables", "-w", ws, "--format", "json")
    assert json.loads(out) == {"tables": [{"name": "events", "rows": 2}]}
    code, out, _ = run(capsys, "tables", "-w", ws, "--format", "json", "--all")
    rows = {t["name"]: t["rows"] for t in json.loads(out)["tables"]}
    assert (rows["events"], rows["_rejected"], rows["_loads"]) == (2, 2, 2)


def test_all_rows_rejected_is_not_reported_as_nothing_new(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("user_id,event,ts\n,view,2024-01-01\n", encoding="utf-8")
    code, out, _ = run(capsys, "load", path, "-w", tmp_path / "w.duckdb")
    assert code == 0 and "rejected 1" in out and "nothing new" not in out


def test_table_and_csv_formats(capsys, files):
    ws = files / "w.duckdb"
    code, out, _ = run(capsys, "load", files / "events.csv", "-w", ws, "--map", MAP)
    assert code == 0 and "read 5" in out and "loaded 2" in out and "whenever" in out
    code, out, _ = run(capsys, "tables", "-w", ws)
    assert code == 0 and "events" in out
    code, out, _ = run(capsys, "tables", "-w", ws, "-f", "csv")
    assert out.splitlines() == ["name,rows", "events,2"]


def test_options_reach_the_load(capsys, tmp_path):
    deals = tmp_path / "deals.tsv"
    deals.write_text("deal_id\tstage\tstage_entered_at\n"
                     "d1\tlead\t1704067200000\nd1\twon\t1704153600000\nd2\tother\t1\n",
                     encoding="utf-8")
    ws = tmp_path / "w.duckdb"
    code, out, err = run(capsys, "load", deals, "-w", ws, "-t", "deals", "--stages", "lead,won",
                         "--epoch-unit", "ms", "-f", "json")
    data = json.loads(out)
    assert (code, data["loaded"], data["rejections"][0]["column"]) == (0, 2, "stage")
    w = fs.connect(ws, read_only=True)
    assert w.config.deal_stages == ["lead", "won"]
    assert w.duckdb.execute("SELECT CAST(max(stage_entered_at) AS VARCHAR) FROM deals"
                            ).fetchone() == ("2024-01-02 00:00:00+00",)
    w.backend.disconnect()
    odd = tmp_path / "events.data"
    odd.write_text("user_id,event,ts\nu,e,2024-01-01\n", encoding="utf-8")
    code, out, _ = run(capsys, "load", odd, "-w", ws, "--input-format", "csv", "-f", "json")
    assert (code, json.loads(out)["loaded"]) == (0, 1)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["load", "{dir}/missing.csv", "-w", "{dir}/w.duckdb"], 3, "file not found"),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb"], 3,
     "needs column(s) user_id, event, ts, which the input does not have. It has: uid, name, "
     "time, plan. Tell funnelscope which of your columns to use, e.g. --map user_id="),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb", "--map", MAP, "--tz", "Mars/Base"], 2,
     "unknown time zone 'Mars/Base'"),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb", "--map", "user_id"], 2,
     "cannot read --map item 'user_id'"),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb", "--map", "visitor=uid"], 2,
     "--map names 'visitor', which is not a column of the events table"),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb", "-t", "sessions"], 2,
     "unknown table 'sessions'"),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb", "--map", MAP, "--epoch-unit", "days"],
     2, "unknown epoch unit"),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb", "--map", MAP, "--strict"], 3,
     "row 3, column user_id: user_id (uid) is empty"),
    (["load", "{dir}/events.csv", "-w", "{dir}/w.duckdb", "--map", MAP, "-f", "yaml"], 2,
     "unknown --format 'yaml'"),
    (["tables", "-w", "{dir}/nothing.duckdb"], 4, "workspace file not found"),
])
def test_errors_are_one_line_on_stderr_with_an_exit_code(capsys, files, args, code, message):
    args = [a.format(dir=files) for a in args]
    got, out, err = run(capsys, *args)
    assert got == code
    assert out == ""
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_strict_cli_load_writes_nothing(capsys, files):
    ws = files / "w.duckdb"
    good = files / "good.csv"
    good.write_text("user_id,event,ts\nu9,view,2024-01-01\n", encoding="utf-8")
    assert run(capsys, "load", good, "-w", ws)[0] == 0
    code, _, _ = run(capsys, "load", files / "events.csv", "-w", ws, "--map", MAP, "--strict")
    assert code == 3
    w = fs.connect(ws, read_only=True)
    assert [(t.name, t.rows) for t in w.tables()] == [("events", 1)]
    assert w.config.column_maps == {}


def test_failed_load_into_a_new_workspace_leaves_no_file(capsys, files):
    """The CLI creates the workspace file on connect; a failed load removes what it created."""
    for args, code in [
        (["--map", MAP, "--strict"], 3),            # validation fails after the file exists
        (["--map", "user_id=nope"], 3),             # a bad --map
        (["--map", MAP, "--encoding", "nope"], 2),  # a bad encoding name
    ]:
        ws = files / "new" / "deeper" / "w.duckdb"
        got, out, err = run(capsys, "load", files / "events.csv", "-w", ws, *args)
        assert got == code and err.startswith("error: ")
        assert not (files / "new").exists()  # file, .wal and the folders it made: all gone
    existing = files / "w.duckdb"
    assert run(capsys, "load", files / "events.csv", "-w", existing, "--map", MAP)[0] == 0
    assert run(capsys, "load", files / "events.csv", "-w", existing, "--strict")[0] == 3
    assert existing.exists()  # a workspace that existed before is never removed


@pytest.mark.parametrize("command", [c.name or c.callback.__name__ for c in app.registered_commands])
def test_every_command_help_shows_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "Example" in out and f"funnelscope {command}" in out


def subprocess_env() -> dict:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    env.pop("FUNNELSCOPE_WORKSPACE", None)
    return env


def test_python_dash_m_works_like_the_script(files):
    script = shutil.which("funnelscope") or str(Path(sys.executable).parent / "funnelscope")
    outputs = []
    for i, prefix in enumerate([[sys.executable, "-m", "funnelscope"], [script]]):
        ws = files / f"w{i}.duckdb"
        done = subprocess.run(
            [*prefix, "load", str(files / "events.csv"), "-w", str(ws), "--map", MAP, "-f", "json"],
            capture_output=True, text=True, env=subprocess_env(), timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
        bad = subprocess.run([*prefix, "load", str(files / "nope.csv"), "-w", str(ws)],
                             capture_output=True, text=True, env=subprocess_env(), timeout=120)
        assert bad.returncode == 3 and bad.stdout == ""
        assert bad.stderr.startswith("error: file not found") and "Traceback" not in bad.stderr
    assert outputs[0] == outputs[1]


def test_conflicts_are_counted_and_printed(capsys, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("event_id,user_id,event,ts\ne1,u,view,2024-01-01\ne1,u,pay,2024-01-01\n",
                    encoding="utf-8")
    ws = tmp_path / "w.duckdb"
    code, out, err = run(capsys, "load", path, "-w", ws, "-q")
    assert (code, err) == (0, "")
    assert "loaded 1" in out and "conflicts 1" in out and "rejected 0" in out
    assert "event_id e1 appears earlier in this input (row 1)" in out
    code, out, _ = run(capsys, "load", path, "-w", ws, "-f", "json")
    data = json.loads(out)
    assert (data["loaded"], data["duplicates"], data["conflicts"], data["rejected"]) == (0, 1, 1, 0)
    assert data["rejections"][0]["reason"] == (
        "event_id e1 was loaded before with different values (load 1); kept the first")


def test_reload_with_another_tz_adds_nothing(capsys, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("user_id,event,ts\nu,view,2024-01-01 08:00:00\n", encoding="utf-8")
    ws = tmp_path / "w.duckdb"
    assert run(capsys, "load", path, "-w", ws, "--tz", "Asia/Shanghai")[0] == 0
    for extra in (["--tz", "UTC"], []):
        code, out, _ = run(capsys, "load", path, "-w", ws, *extra, "-f", "json")
        assert code == 0
        assert {k: json.loads(out)[k] for k in ("loaded", "duplicates")} == {
            "loaded": 0, "duplicates": 1}


def test_non_utf8_file_suggests_the_encoding_and_loads_with_it(capsys, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes("user_id,event,ts\n用户,支付,2024-01-01\n".encode("gbk"))
    ws = tmp_path / "w.duckdb"
    code, out, err = run(capsys, "load", path, "-w", ws)
    assert code == 3 and out == ""
    assert "is not UTF-8 text" in err and "--encoding gbk" in err
    assert not ws.exists()
    code, out, _ = run(capsys, "load", path, "-w", ws, "--encoding", "gbk", "-f", "json")
    assert (code, json.loads(out)["loaded"]) == (0, 1)


def test_empty_file_error(capsys, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    code, out, err = run(capsys, "load", path, "-w", tmp_path / "w.duckdb")
    assert code == 3 and "the file is empty (0 bytes)" in err
    assert not (tmp_path / "w.duckdb").exists()
