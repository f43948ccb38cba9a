"""A load is atomic: when it fails, is interrupted or its process is killed, the workspace is
exactly as before (tables, rows, columns, _loads, _rejected, settings)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pytest

import funnelscope as fs
from funnelscope.data.ingest import load_into_duckdb

SEED_CSV = (
    "event_id,user_id,event,ts,plan\n"
    "e1,u1,view,2024-01-01 10:00:00,pro\n"
    "e2,,view,2024-01-01 10:00:00,free\n"
)


def snapshot(ws) -> dict:
    """Everything a load may change, read back as plain Python values."""
    state = {"config": ws.config.to_json(), "tables": {}}
    con = ws.duckdb
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "ORDER BY 1").fetchall()]
    for name in names:
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [name]).fetchall()
        rows = con.execute(f'SELECT * FROM "{name}"').to_arrow_table().to_pylist()
        state["tables"][name] = (cols, sorted(map(repr, rows)))
    return state


@pytest.fixture
def seeded(tmp_path):
    seed = tmp_path / "seed.csv"
    seed.write_text(SEED_CSV, encoding="utf-8")
    ws = fs.connect(tmp_path / "w.duckdb")
    ws.load(seed)
    return ws


def new_rows():
    return pa.table({"event_id": ["n1", "n2", "e1"], "user_id": ["u", "", "u"],
                     "event": ["buy", "buy", "buy"], "ts": ["2024-02-01"] * 3,
                     "new_prop": ["x", "y", "z"]})


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_after_rows_were_written_rolls_everything_back(seeded, error):
    before = snapshot(seeded)
    seen = {}

    def fail(con, report):
        seen["rows"] = con.execute("SELECT count(*) FROM events").fetchone()[0]
        raise error("boom")

    with pytest.raises(error):
        load_into_duckdb(seeded.duckdb, new_rows(), "events", before_commit=fail)
    assert seen["rows"] == 2  # the new row was in the table when the load failed
    assert snapshot(seeded) == before


def test_failure_while_saving_settings_rolls_back_rows_and_settings(seeded, monkeypatch):
    before = snapshot(seeded)

    def broken(self, config):
        raise OSError("disk full")

    monkeypatch.setattr(type(seeded), "_write_config", broken)
    with pytest.raises(OSError):
        seeded.load(new_rows(), columns={"event_id": "event_id"}, stages=["a", "b"])
    assert snapshot(seeded) == before


def test_failed_load_leaves_the_file_reusable(seeded, tmp_path):
    with pytest.raises(Exception, match="needs column"):
        seeded.load(pa.table({"x": ["1"]}))
    report = seeded.load(new_rows())  # e1 again with other values: a conflict
    assert (report.loaded, report.rejected, report.duplicates, report.conflicts) == (1, 1, 0, 1)


def write_big_csv(path, rows: int) -> None:
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    i = pa.array(np.arange(rows, dtype=np.int64))
    ts = pa.array((np.int64(1_704_067_200) + np.arange(rows, dtype=np.int64) % 2_592_000)
                  .astype("datetime64[s]"))
    table = pa.table({
        "event_id": pc.binary_join_element_wise("b", i.cast(pa.string()), ""),
        "user_id": pc.binary_join_element_wise("u", pc.bit_wise_and(i, 65535).cast(pa.string()), ""),
        "event": pa.array(np.array(["view", "cart", "pay"])[np.arange(rows) % 3]),
        "ts": ts.cast(pa.string()),
        "plan": pa.array(np.array(["free", "pro"])[np.arange(rows) % 2]),
    })
    pcsv.write_csv(table, path)


LOADER = """
import sys
import funnelscope as fs
ws = fs.connect(sys.argv[1])
print("loading", flush=True)
ws.load(sys.argv[2])
print("done", flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_a_large_load_leaves_the_workspace_as_before(tmp_path):
    """Kill -9 a process in the middle of loading 2M rows; reopen; nothing changed.

    The kill comes as soon as the database file or its WAL starts to grow (the new rows are
    being written: about 60% into the load), or after 12 s of loading at the latest (a slow
    machine is still staging then); either way the process must still be busy.
    """
    db = tmp_path / "w.duckdb"
    seed = tmp_path / "seed.csv"
    seed.write_text(SEED_CSV, encoding="utf-8")
    ws = fs.connect(db)
    ws.load(seed)
    before = snapshot(ws)
    ws.backend.disconnect()
    big = tmp_path / "big.csv"
    write_big_csv(big, 2_000_000)

    wal = tmp_path / "w.duckdb.wal"

    def sizes():
        return db.stat().st_size, wal.stat().st_size if wal.exists() else 0

    proc = subprocess.Popen([sys.executable, "-c", LOADER, str(db), str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "loading"
        start, base = time.monotonic(), sizes()
        time.sleep(0.5)
        while time.monotonic() - start < 12 and proc.poll() is None and sizes() == base:
            time.sleep(0.02)
        assert proc.poll() is None, "the load finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    ws = fs.connect(db)
    assert snapshot(ws) == before
    # and the workspace still works
    report = ws.load(new_rows())
    assert (report.loaded, report.duplicates, report.rejected, report.conflicts) == (1, 0, 1, 1)
