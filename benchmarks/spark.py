"""Spark benchmark: loading into a Spark workspace, and a funnel in place vs loaded.

    flock /tmp/bench.lock python benchmarks/spark.py [--events 1M] [--before-rows 100k]
                                                     [--out benchmarks/results/spark-<date>.md]

Generates N events (seeded) once into a cache directory as one Parquet file with the users'
own column names: ``event_id``, ``uid`` (N/10 users), ``name`` (view, cart, checkout, pay,
login), ``time_ms`` (epoch milliseconds, BIGINT, 30 days) and a ``platform`` property. Then, in
one process with one SparkSession (``local[2]``, driver memory 3g, session time zone UTC,
Arrow transfer off: a session as users build it):

  warm-up    a 10k-row load into a scratch database (the JVM's first queries are slow)
  load       ``ws.load(FILE, columns=map)`` into an empty Spark database (validation,
             dedupe and quarantine in the private DuckDB, then Parquet -> Spark)
  reload     the same file again: every row a duplicate (the table's keys come back to DuckDB)
  in place   ``fs.connect(spark, events=FILE, columns=...)`` then ``ws.funnel(...)``: the file
             read by Spark through the canonical temp view, nothing loaded
  loaded     the same funnel on the loaded table

``--before-rows R`` also times the load of the first R rows with the previous loader (the
committed package, ``git archive HEAD src``, in a subprocess with its own session): it staged
the rows in DuckDB, turned the 128-bit keys into text there (~250 µs per key in DuckDB 1.4),
and handed an Arrow table to Ibis, which made a pandas frame and Spark rows of it. Seconds are
wall clock; CPU seconds add this process and the Spark JVM (its /proc stat), since the JVM does
the writing. One run each: rows/s = rows / wall seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MAP = {"user_id": "uid", "event": "name", "ts": "time_ms"}
STEPS = ["view", "cart", "checkout", "pay"]


def parse_count(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def make_file(n: int, path: Path) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return path
    rng = np.random.default_rng(15)
    names = np.array(["view", "cart", "checkout", "pay", "login"])
    ids = np.char.add("e", np.arange(n).astype(str))
    users = np.char.add("u", rng.integers(0, max(1, n // 10), n).astype(str))
    table = pa.table({
        "event_id": pa.array(ids), "uid": pa.array(users),
        "name": pa.array(names[rng.choice(5, n, p=[0.4, 0.25, 0.15, 0.1, 0.1])]),
        "time_ms": pa.array(1_767_225_600_000 + rng.integers(0, 30 * 86_400_000, n), pa.int64()),
        "platform": pa.array(np.array(["web", "app", "ios"])[rng.integers(0, 3, n)]),
    })
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=256_000)
    tmp.rename(path)
    return path


def session(warehouse: Path):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("funnelscope-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "3g")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.warehouse.dir", str(warehouse))
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def jvm_cpu(spark) -> float:
    """CPU seconds (user + system) of the Spark JVM so far (local mode: a child process)."""
    try:
        pid = spark.sparkContext._gateway.proc.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, IndexError, ValueError):
        return float("nan")


def timed(spark, fn):
    """(result, wall s, CPU s of this process + the JVM)."""
    c0, j0, t0 = time.process_time(), jvm_cpu(spark), time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    return out, wall, time.process_time() - c0 + jvm_cpu(spark) - j0


def use_database(spark, name: str) -> None:
    spark.sql(f"DROP DATABASE IF EXISTS {name} CASCADE")
    spark.sql(f"CREATE DATABASE {name}")
    spark.catalog.setCurrentDatabase(name)


def load_only(file: Path, rows: int, warehouse: Path) -> dict:
    """Child mode (--child-load): time one load of the first ``rows`` rows; print JSON."""
    import pyarrow.parquet as pq

    import funnelscope as fs

    spark = session(warehouse)
    part = warehouse.parent / f"first-{rows}.parquet"
    pq.write_table(pq.read_table(file).slice(0, rows), part)
    use_database(spark, "warm")
    fs.connect(spark).load(pq.read_table(file).slice(0, 1000), columns=MAP)
    use_database(spark, "bench")
    ws = fs.connect(spark)
    report, wall, cpu = timed(spark, lambda: ws.load(part, columns=MAP))
    return {"rows": rows, "loaded": report.loaded, "wall": wall, "cpu": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", default="1M")
    ap.add_argument("--before-rows", default="100k", help="0 to skip the previous loader")
    ap.add_argument("--out", default=str(HERE / "results" / f"spark-{dt.date.today()}.md"))
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "funnelscope-bench-spark"))
    ap.add_argument("--child-load", nargs=2, metavar=("FILE", "ROWS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_load:
        work = Path(tempfile.mkdtemp(prefix="fs-spark-before-"))
        try:
            print(json.dumps(load_only(Path(args.child_load[0]), int(args.child_load[1]),
                                       work / "warehouse")))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return

    n = parse_count(args.events)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    file = make_file(n, cache / f"events-{n}.parquet")
    work = Path(tempfile.mkdtemp(prefix="fs-spark-bench-"))
    load_avg = os.getloadavg()
    rows: list[tuple[str, str, str, str]] = []
    try:
        import funnelscope as fs

        spark = session(work / "warehouse")
        import pyarrow.parquet as pq

        use_database(spark, "warm")
        _, wall, cpu = timed(spark, lambda: fs.connect(spark).load(
            pq.read_table(file).slice(0, 10_000), columns=MAP))
        print(f"warm-up 10k: {wall:.1f} s")
        use_database(spark, "bench")
        ws = fs.connect(spark)
        report, wall, cpu = timed(spark, lambda: ws.load(file, columns=MAP))
        assert report.loaded == n, report
        rows.append((f"load {n:,} rows", f"{wall:.1f}", f"{cpu:.1f}", f"{n / wall:,.0f} rows/s"))
        print(rows[-1])
        report, wall, cpu = timed(spark, lambda: ws.load(file, columns=MAP))
        assert report.loaded == 0 and report.duplicates == n, report
        rows.append((f"reload {n:,} rows (all duplicates)", f"{wall:.1f}", f"{cpu:.1f}",
                     f"{n / wall:,.0f} rows/s"))
        print(rows[-1])

        funnel = {"steps": STEPS, "window": "1h"}
        loaded, lwall, lcpu = timed(spark, lambda: ws.funnel(**funnel).to_dict())
        in_place_ws, cwall, ccpu = timed(
            spark, lambda: fs.connect(spark, events=str(file), columns={"events": MAP}))
        in_place, iwall, icpu = timed(spark, lambda: in_place_ws.funnel(**funnel).to_dict())
        same = [s["entities"] for s in in_place["steps"]] == [s["entities"] for s in loaded["steps"]]
        assert same, (in_place["steps"], loaded["steps"])
        rows.append(("funnel (4 steps, 1h) on the loaded table", f"{lwall:.1f}", f"{lcpu:.1f}", ""))
        rows.append(("connect in place (register the view)", f"{cwall:.1f}", f"{ccpu:.1f}", ""))
        rows.append(("funnel (4 steps, 1h) in place on the Parquet file", f"{iwall:.1f}",
                     f"{icpu:.1f}", f"{iwall / lwall:.2f}x loaded (wall), "
                                    f"{icpu / lcpu:.2f}x (CPU)"))
        print(rows[-3:])
        spark.stop()

        before_rows = parse_count(args.before_rows)
        if before_rows:
            src = work / "before"
            src.mkdir()
            archive = subprocess.run(["git", "archive", "HEAD", "src"], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
            for label, path in (("previous loader (HEAD)", src / "src"), ("this loader", ROOT / "src")):
                env = {**os.environ, "PYTHONPATH": str(path)}
                done = subprocess.run([sys.executable, __file__, "--child-load", str(file),
                                       str(before_rows)], env=env, capture_output=True, text=True,
                                      check=True)
                got = json.loads(done.stdout.strip().splitlines()[-1])
                assert got["loaded"] == before_rows, got
                rows.append((f"{label}: load {before_rows:,} rows", f"{got['wall']:.1f}",
                             f"{got['cpu']:.1f}", f"{before_rows / got['wall']:,.0f} rows/s"))
                print(rows[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load_after = os.getloadavg()
    lines = [
        f"# Spark: load and funnel in place, {n:,} events ({dt.date.today()})", "",
        f"`{' '.join(['python', *sys.argv])}` under `flock /tmp/bench.lock`; Spark local[2], "
        "driver memory 3g, Arrow transfer off; one run each.", "",
        f"Load average (1/5/15 min) before: {load_avg[0]:.2f} / {load_avg[1]:.2f} / "
        f"{load_avg[2]:.2f}; after: {load_after[0]:.2f} / {load_after[1]:.2f} / "
        f"{load_after[2]:.2f} (2 cores).", "",
        "| step | wall s | CPU s (Python + JVM) | rate / ratio |", "|---|---:|---:|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows], "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
