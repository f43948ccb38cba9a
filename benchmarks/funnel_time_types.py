"""Funnel on a file in place for every input time type, against chdb's windowFunnel.

    python benchmarks/funnel_time_types.py [--events 10M] [--repeat 3] [--shapes a,b,...]

The question (issue 15): is ``funnelscope funnel --events FILE`` as fast whatever type the
file's time column has? From the unsorted events of ``benchmarks/funnel.py`` (same generator,
cached under ``--cache``) it writes one file per input shape:

  tstz            Parquet, ts TIMESTAMPTZ (UTC), int64 user ids
  tstz-text-ids   the same with text user ids ('u123')
  naive-shanghai  Parquet, ts naive TIMESTAMP read with --tz Asia/Shanghai (no DST)
  naive-new-york  Parquet, ts naive TIMESTAMP read with --tz America/New_York (the 2024-03-10
                  DST gap lies in the data: 1 in 2160 wall-clock times do not exist there)
  epoch-s / epoch-ms / epoch-us   Parquet, ts BIGINT epoch seconds / ms / µs (unit detected
                  from the magnitude, as funnelscope does by default)
  epoch-ms-text-ids   epoch ms with text user ids
  csv-iso-z       CSV, ts ISO-8601 text with 'Z' ('2024-01-01T10:00:00.123456Z')
  csv-iso-local   CSV, ts ISO-8601 text without offset, read with --tz America/New_York

and times, for each shape, in rounds (every method once per round):

  ours    the whole ``funnelscope funnel --events FILE --steps ... --window 1d --format json``
          process (imports included)
  chdb    a whole Python process running chdb's windowFunnel(1 day) on the same file with an
          explicit schema, converting the time column to the same µs instants
          (naive times: toUTCTimestamp corrected to ICU's reading, see chdb_local_us;
          epochs: integer arithmetic; CSV text: parseDateTime64BestEffort)

Both must give the same entities per step for every shape; a mismatch is printed loudly and
the script exits with status 1. The markdown table (median seconds of ``--repeat`` runs,
ours / chdb) is printed and written to ``benchmarks/results/funnel-time-types-<date>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from funnel import (  # noqa: E402  (the sibling benchmark's generator and process timer)
    STEPS,
    cli_available,
    generate,
    parse_cli_counts,
    parse_count,
    run_measured,
)

HERE = Path(__file__).resolve().parent
WINDOW_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class Shape:
    """One input file: how it is derived from the base events and how each side reads it."""

    name: str
    suffix: str          # file extension
    text_ids: bool       # user ids as text (else int64)
    select_ts: str       # DuckDB SQL of the file's ts column from the base (TIMESTAMPTZ) ts
    chdb_ts_type: str    # the ts type in chdb's explicit schema
    chdb_us: str         # chdb SQL: ts -> epoch µs (UInt64)
    tz: str = "UTC"      # funnelscope's --tz


NAIVE = "make_timestamp(epoch_us(ts))"  # the UTC wall clock, as a naive time


def chdb_local_us(naive: str, tz: str) -> str:
    """chdb SQL: a naive DateTime64 read in ``tz`` -> epoch µs, as DuckDB/ICU reads it.

    ``toUTCTimestamp`` alone takes the offset at the naive time read as UTC, which is an hour
    off just after a spring-forward switch (03:20 in New York on 2024-03-10); two corrections
    with the offset at the estimate give ICU's instants, a time in the DST gap included
    (02:30 -> 07:30 UTC). Not for a fall-back overlap, where ICU takes the later instant
    (the generated data, January to March 2024, has none).
    """
    n = f"toUnixTimestamp64Micro({naive})"

    def offset(us: str) -> str:
        return f"(timeZoneOffset(fromUnixTimestamp64Micro({us}, '{tz}')) * 1000000)"

    first = f"toUnixTimestamp64Micro(toUTCTimestamp({naive}, '{tz}'))"
    return f"({n} - {offset(f'({n} - {offset(first)})')})"

SHAPES = [
    Shape("tstz", "parquet", False, "ts", "DateTime64(6)", "toUnixTimestamp64Micro(ts)"),
    Shape("tstz-text-ids", "parquet", True, "ts", "DateTime64(6)", "toUnixTimestamp64Micro(ts)"),
    Shape("naive-shanghai", "parquet", False, NAIVE, "DateTime64(6)",
          chdb_local_us("ts", "Asia/Shanghai"), "Asia/Shanghai"),
    Shape("naive-new-york", "parquet", False, NAIVE, "DateTime64(6)",
          chdb_local_us("ts", "America/New_York"), "America/New_York"),
    Shape("epoch-s", "parquet", False, "epoch_us(ts) // 1000000", "Int64", "ts * 1000000"),
    Shape("epoch-ms", "parquet", False, "epoch_us(ts) // 1000", "Int64", "ts * 1000"),
    Shape("epoch-us", "parquet", False, "epoch_us(ts)", "Int64", "ts"),
    Shape("epoch-ms-text-ids", "parquet", True, "epoch_us(ts) // 1000", "Int64", "ts * 1000"),
    Shape("csv-iso-z", "csv", False, f"strftime({NAIVE}, '%Y-%m-%dT%H:%M:%S.%fZ')", "String",
          "toUnixTimestamp64Micro(parseDateTime64BestEffort(ts, 6))"),
    Shape("csv-iso-local", "csv", False, f"strftime({NAIVE}, '%Y-%m-%dT%H:%M:%S.%f')", "String",
          chdb_local_us("parseDateTime64BestEffort(ts, 6)", "America/New_York"),
          "America/New_York"),
]


def base_path(cache: Path, n: int, text_ids: bool) -> Path:
    """The base events of benchmarks/funnel.py (shared cache file names)."""
    return cache / f"events-{n}-{'str' if text_ids else 'int'}.parquet"


def shape_path(cache: Path, n: int, shape: Shape) -> Path:
    return cache / f"time-types-{n}-{shape.name}.{shape.suffix}"


def write_shape(base: Path, out: Path, shape: Shape) -> None:
    """Write ``shape``'s file from the base events with DuckDB (row order kept: unsorted)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    tmp = out.with_name(out.name + ".tmp")
    fmt = "(FORMAT parquet, ROW_GROUP_SIZE 1048576)" if shape.suffix == "parquet" \
        else "(FORMAT csv, HEADER true)"
    con.execute(
        f"COPY (SELECT event_id, user_id, event, {shape.select_ts} AS ts "  # noqa: S608
        f"FROM read_parquet('{base}')) TO '{tmp}' {fmt}"
    )
    tmp.rename(out)


def chdb_query(path: str, shape: Shape) -> str:
    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    steps = ", ".join(f"'{s}'" for s in STEPS)
    schema = (f"event_id Int64, user_id {'String' if shape.text_ids else 'Int64'}, "
              f"event String, ts {shape.chdb_ts_type}")
    fmt = "Parquet" if shape.suffix == "parquet" else "CSVWithNames"
    return (
        "SELECT level, count() FROM (SELECT user_id, windowFunnel("
        f"{WINDOW_US})(toUInt64({shape.chdb_us}), {conds}) AS level "
        f"FROM file('{path}', {fmt}, '{schema}') WHERE event IN ({steps}) GROUP BY user_id) "
        "GROUP BY level ORDER BY level"
    )


def child_chdb(path: str, shape_name: str) -> None:
    """The chdb side, as its own process: print the entities reaching each step as JSON."""
    import chdb

    shape = next(s for s in SHAPES if s.name == shape_name)
    res = chdb.query(chdb_query(path, shape), "CSV").data()
    hist = {int(a): int(b) for a, b in (line.split(",") for line in res.strip().splitlines())}
    counts = [sum(c for lv, c in hist.items() if lv >= j) for j in range(1, len(STEPS) + 1)]
    print(json.dumps({"counts": counts}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", default="10M", help="number of events, e.g. 2M, 10M")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--shapes", default=",".join(s.name for s in SHAPES))
    ap.add_argument("--out", default=None, help="write the markdown table here")
    ap.add_argument("--cache", default=os.environ.get(
        "FUNNELSCOPE_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "funnelscope-bench")))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--shape", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "chdb":
        child_chdb(args.file, args.shape)
        return 0
    if args.child == "prepare":
        shape = next(s for s in SHAPES if s.name == args.shape)
        base = base_path(Path(args.file).parent, args.n, shape.text_ids)
        if not base.exists():
            generate(args.n, base, shape.text_ids)
        write_shape(base, Path(args.file), shape)
        return 0

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as benchmarks/funnel.py, for both
    n = parse_count(args.events)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    wanted = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = set(wanted) - {s.name for s in SHAPES}
    if unknown:
        raise SystemExit(f"unknown shape(s) {sorted(unknown)}; choose from "
                         f"{', '.join(s.name for s in SHAPES)}")
    shapes = [s for s in SHAPES if s.name in wanted]
    cli = cli_available()
    if cli is None:
        raise SystemExit("the funnelscope CLI is not installed in this environment")

    script = str(Path(__file__).resolve())
    for shape in shapes:  # data, in child processes: a forked big parent would inflate RSS
        out = shape_path(cache, n, shape)
        if not out.exists():
            print(f"writing {out.name}", flush=True)
            t0 = time.perf_counter()
            prep = [sys.executable, script, "--child", "prepare", "--shape", shape.name,
                    "--file", str(out), "--n", str(n)]
            if subprocess.run(prep, check=False).returncode != 0:
                raise SystemExit(f"writing {out} failed")
            print(f"  {time.perf_counter() - t0:.1f} s", flush=True)

    walls: dict[tuple[str, str], list[float]] = {}
    peaks: dict[tuple[str, str], float] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], list[int] | None] = {}
    failed: list[str] = []
    for rnd in range(args.repeat):
        for shape in shapes:
            path = str(shape_path(cache, n, shape))
            runs = {
                "ours": [cli, "funnel", "--events", path, "--steps", ",".join(STEPS),
                         "--window", "1d", "--tz", shape.tz, "--format", "json"],
                "chdb": [sys.executable, script, "--child", "chdb", "--file", path,
                         "--shape", shape.name],
            }
            for who, argv_ in runs.items():
                wall, rss, out, status, cpu = run_measured(argv_)
                key = (shape.name, who)
                if status != 0:
                    failed.append(f"{shape.name} {who}: exit {status}")
                    counts[key] = None
                    continue
                walls.setdefault(key, []).append(wall)
                peaks[key] = max(peaks.get(key, 0.0), rss)
                cpus.setdefault(key, []).append(cpu)
                counts[key] = (parse_cli_counts(out) if who == "ours"
                               else json.loads(out.strip().splitlines()[-1])["counts"])
                print(f"round {rnd + 1}: {shape.name:18s} {who:5s} {wall:7.2f} s cpu {cpu:6.2f} s "
                      f"peak RSS {rss:6.0f} MB  {counts[key]}", flush=True)

    mismatch = [s.name for s in shapes
                if counts.get((s.name, "ours")) != counts.get((s.name, "chdb"))]
    for name in mismatch:
        print(f"!!! MISMATCH {name}: ours {counts.get((name, 'ours'))} vs chdb "
              f"{counts.get((name, 'chdb'))}", flush=True)
    for f in failed:
        print(f"!!! FAILED {f}", flush=True)

    lines = [
        f"# Funnel in place by input time type: {n:,} unsorted events, 5 steps, 1-day window",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end, median of {args.repeat} run(s). Whole processes: "
        "`funnelscope funnel --events FILE ... --format json` vs a Python process running "
        "chdb windowFunnel on the same file.",
        "",
        "CPU = user+system seconds of the process and its threads (less sensitive than wall "
        "time to other load on the shared machine).",
        "",
        "| input | ours s | chdb s | ours / chdb | ours CPU s | chdb CPU s | ours / chdb CPU | "
        "ours peak RSS MB | chdb peak RSS MB | same counts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in shapes:
        ours, theirs = walls.get((s.name, "ours")), walls.get((s.name, "chdb"))
        o = statistics.median(ours) if ours else float("nan")
        c = statistics.median(theirs) if theirs else float("nan")
        tz = f" (--tz {s.tz})" if s.tz != "UTC" else ""
        oc = statistics.median(cpus[(s.name, "ours")]) if (s.name, "ours") in cpus else float("nan")
        cc = statistics.median(cpus[(s.name, "chdb")]) if (s.name, "chdb") in cpus else float("nan")
        lines.append(f"| {s.name}{tz} | {o:.2f} | {c:.2f} | {o / c:.2f} | {oc:.2f} | {cc:.2f} | "
                     f"{oc / cc:.2f} | "
                     f"{peaks.get((s.name, 'ours'), float('nan')):.0f} | "
                     f"{peaks.get((s.name, 'chdb'), float('nan')):.0f} | "
                     f"{'yes' if s.name not in mismatch else '**NO**'} |")
    table = "\n".join(lines)
    print("\n" + table)
    out_path = Path(args.out or HERE / "results" / f"funnel-time-types-{dt.date.today():%Y-%m-%d}.md")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(table + "\n", encoding="utf-8")
    print(f"written {out_path}")
    return 1 if mismatch or failed else 0


if __name__ == "__main__":
    sys.exit(main())
