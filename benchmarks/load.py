"""Load benchmark: ``funnelscope load`` against DuckDB's own CREATE TABLE AS on the same file.

    python benchmarks/load.py [--events 2M] [--repeat 3] [--datasets csv-text,parquet-int-ms]
                              [--memory-limit 1GB] [--variant NAME=SRC_DIR ...] [--no-reload]
                              [--progress csv-text] [--out benchmarks/results/load-<date>.md]

Generates N events (seeded) once into a cache directory, as six files with the same rows
(DATASETS): CSV with text ids (``ev0000000001``, ``u123``) or integer ids, ``ts`` ISO-8601 text
with ``Z``; Parquet with text or integer ids and ``ts`` TIMESTAMPTZ, naive TIMESTAMP or epoch
milliseconds (BIGINT). Every file also has ``event`` (13 names) and four properties
(``country``, ``device``: text; ``price``: decimal, 10 % empty; ``quantity``: whole number, 5 %
empty; typed in Parquet, text in CSV). Then, every method as its own process, one method
after the other in rounds so a change in machine load hits all of them alike:

  duckdb        the anchor: ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` (read_parquet
                for Parquet) into a new DuckDB file, in a Python process (imports included),
                DuckDB's default settings
  load          ``funnelscope load FILE --workspace WS --format json`` into an empty workspace
                whose saved settings set ``memory_limit`` (``--memory-limit``, made outside the
                timed span with ``fs.connect(WS, memory_limit=...)``)
  reload        the same command on a copy of that workspace: the same file again, every
                row a duplicate (the copy is made outside the timed span)

Seconds and CPU seconds (user + system of the child, all threads) are medians of ``--repeat``
runs of the whole process; peak RSS is the child's maximum resident set (its own rusage from
``os.wait4``), compared with DuckDB's and, less the RSS of a one-row load (the process's own
footprint), with the memory limit; the DB file size (file + WAL after the process ended) with
the anchor's. ``--progress DATASET`` runs one more load of that
file with stderr on a pseudo-terminal (as at a shell) and reports whether a progress
percentage was drawn. ``--variant NAME=SRC_DIR`` (repeatable) runs the funnelscope methods
once per variant with ``PYTHONPATH=SRC_DIR``, e.g. a copy of ``src/`` holding another version
of the loader, so before/after compare in one run on one machine. Each load's
read/loaded/duplicates counts are checked (a first load keeps all N rows, a reload keeps
none); a wrong count fails the script with status 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from funnel import OTHER, STEPS, parse_count  # noqa: E402  (the funnel benchmark's vocabulary)

NAMES = STEPS + OTHER
COUNTRIES = ["CN", "US", "DE", "FR", "JP", "BR", "IN", "GB", "KR", "ES"]
DEVICES = ["ios", "android", "web", "desktop"]
HERE = Path(__file__).resolve().parent



# ------------------------------------------------------------------------------ data


DATASETS = {  # name -> (file format, id type, time column type)
    "csv-text": ("csv", "text", "iso"),
    "csv-int": ("csv", "int", "iso"),
    "parquet-text-tstz": ("parquet", "text", "tstz"),
    "parquet-int-tstz": ("parquet", "int", "tstz"),
    "parquet-int-naive": ("parquet", "int", "naive"),
    "parquet-int-ms": ("parquet", "int", "ms"),
}


def dataset_path(base: Path, name: str) -> Path:
    return base / f"{name}.{DATASETS[name][0]}"


def generate(n: int, base: Path, names: list[str], seed: int = 42) -> None:
    """Write the same n events as each dataset in ``names`` under ``base``, in 1M-row chunks.

    Every dataset holds the same rows; only the id type (text ``ev0000000001`` / ``u123``, or
    BIGINT) and the time column's type (ISO-8601 text with ``Z`` in CSV; TIMESTAMPTZ, naive
    TIMESTAMP or epoch milliseconds in Parquet) differ. Parquet keeps the properties typed.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    users = max(1, n // 20)
    t0 = int(np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64))
    span = 90 * 86_400 * 1_000_000
    writers, tmps = {}, {}
    chunk = 1_000_000

    def pick(values: list[str], m: int) -> pa.Array:
        codes = pa.array(rng.integers(0, len(values), m).astype(np.int32))
        return pa.DictionaryArray.from_arrays(codes, pa.array(values)).cast(pa.string())

    try:
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            ids = np.arange(lo + 1, lo + m + 1)
            us = t0 + np.sort(rng.integers(0, span, m)) // 1000 * 1000  # whole ms
            uid = rng.integers(0, users, m)
            common = {
                "event": pick(NAMES, m), "country": pick(COUNTRIES, m),
                "device": pick(DEVICES, m),
                "price": pa.array(np.round(rng.gamma(2.0, 20.0, m), 2), mask=rng.random(m) < 0.10),
                "quantity": pa.array(rng.integers(1, 6, m), pa.int64(),
                                     mask=rng.random(m) < 0.05),
            }
            id_cols = {
                "text": (pa.array(np.char.add("ev", np.char.zfill(ids.astype(str), 10))),
                         pa.array(np.char.add("u", uid.astype(str)))),
                "int": (pa.array(ids, pa.int64()), pa.array(uid, pa.int64())),
            }
            ts_naive = pa.array(us, pa.timestamp("us"))
            ts_cols = {
                "iso": pc.strftime(ts_naive, format="%Y-%m-%dT%H:%M:%SZ"),
                "tstz": pa.array(us, pa.timestamp("us", tz="UTC")),
                "naive": ts_naive,
                "ms": pa.array(us // 1000, pa.int64()),
            }
            for name in names:
                fmt, id_type, ts_type = DATASETS[name]
                ev, user = id_cols[id_type]
                table = pa.table({
                    "event_id": ev, "user_id": user, "event": common["event"],
                    "ts": ts_cols[ts_type], "country": common["country"],
                    "device": common["device"], "price": common["price"],
                    "quantity": common["quantity"],
                })
                if name not in writers:
                    tmps[name] = dataset_path(base, name).with_suffix(".tmp")
                    writers[name] = (pq.ParquetWriter(tmps[name], table.schema) if fmt == "parquet"
                                     else pcsv.CSVWriter(tmps[name], table.schema))
                if fmt == "parquet":
                    writers[name].write_table(table, row_group_size=1 << 17)
                else:
                    writers[name].write_table(table)
    finally:
        for w in writers.values():
            w.close()
    for name, tmp in tmps.items():
        tmp.rename(dataset_path(base, name))


# ------------------------------------------------------------------------------ child side


def child_duckdb(path: str, db: str, threads: int | None) -> None:
    """The anchor: DuckDB's own CTAS of the file into a new database file (default settings)."""
    import duckdb

    con = duckdb.connect(db)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
    con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [path])
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    print(json.dumps({"read": n, "loaded": n, "duplicates": 0, "conflicts": 0, "rejected": 0}))


def child_prepare(db: str, memory_limit: str | None) -> None:
    """An empty workspace whose saved settings carry the memory limit (what the CLI applies)."""
    import funnelscope as fs

    ws = fs.connect(db, memory_limit=memory_limit)
    ws.save_config()
    ws.close()


# ------------------------------------------------------------------------------ parent side


def run_measured(argv: list[str], env: dict | None = None) -> tuple[float, float, float, str, int]:
    """Run argv as a child; return (wall s, CPU s, peak RSS MB, stdout, status) of that child.

    The child's rusage (``os.wait4``) is its own, like resource.getrusage(RUSAGE_CHILDREN)
    taken around one child."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        proc = subprocess.Popen(argv, stdout=fout, stderr=ferr, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    if code != 0:
        sys.stderr.write(f"\n--- {' '.join(argv[:4])} failed (exit {code}):\n{err[-3000:]}\n")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, out, code


def run_on_terminal(argv: list[str], env: dict) -> tuple[int, float | None, int]:
    """Run argv with stderr on a pseudo-terminal (as at a shell); return (exit status, seconds
    until the first progress percentage was drawn or None, how many distinct percentages)."""
    import pty
    import re
    import select

    master, slave = pty.openpty()
    env = dict(env, TERM="xterm-256color", COLUMNS="100")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    first, seen, buf = None, set(), b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            buf = (buf + chunk)[-4096:]
            for pct in re.findall(rb"(\d{1,3})%", buf):
                if first is None:
                    first = time.perf_counter() - t0
                seen.add(int(pct))
        elif proc.poll() is not None:
            break
    code = proc.wait()
    os.close(master)
    return code, first, len(seen)


def cli_exe() -> str:
    exe = shutil.which("funnelscope") or str(Path(sys.executable).with_name("funnelscope"))
    if not Path(exe).exists():
        raise SystemExit("the funnelscope CLI is not installed (pip install -e .)")
    return exe


def parse_variants(items: list[str]) -> dict[str, str | None]:
    if not items:
        return {"funnelscope": None}
    out: dict[str, str | None] = {}
    for item in items:
        name, sep, src = item.partition("=")
        if not sep or not name or not Path(src, "funnelscope").is_dir():
            raise SystemExit(f"--variant wants NAME=SRC_DIR with SRC_DIR/funnelscope, got {item!r}")
        out[name] = str(Path(src).resolve())
    return out


def db_size(db: Path) -> float:
    """MB on disk of a DuckDB file and its WAL (after the process closed it)."""
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", default="2M", help="number of events, e.g. 500k, 2M, 10M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--datasets", default=",".join(DATASETS),
                    help=f"comma-separated, of: {', '.join(DATASETS)}")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=SRC_DIR: also run the loader found in SRC_DIR (repeatable)")
    ap.add_argument("--no-reload", action="store_true", help="skip the reload runs")
    ap.add_argument("--memory-limit", default="1GB",
                    help="DuckDB memory_limit saved in the workspace the loads write into "
                    "(fs.connect(memory_limit=...)); 'none' for DuckDB's default")
    ap.add_argument("--progress", default="csv-text",
                    help="dataset whose load is run once more at a pseudo-terminal to see "
                    "whether the progress bar is drawn ('none' to skip)")
    ap.add_argument("--threads", type=int, default=None,
                    help="DuckDB threads for the anchor (default: DuckDB's, as for funnelscope)")
    ap.add_argument("--out", default=None, help="write the markdown table here")
    ap.add_argument("--cache", default=os.environ.get("FUNNELSCOPE_BENCH_CACHE",
                                                      str(Path(tempfile.gettempdir())
                                                          / "funnelscope-bench")))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if unknown := [d for d in names if d not in DATASETS]:
        raise SystemExit(f"unknown dataset(s) {unknown}; known: {', '.join(DATASETS)}")
    limit = None if args.memory_limit.lower() == "none" else args.memory_limit
    if args.child == "generate":
        generate(args.n, Path(args.file), names)
        return 0
    if args.child == "duckdb":
        child_duckdb(args.file, args.db, args.threads)
        return 0
    if args.child == "prepare":
        child_prepare(args.db, limit)
        return 0

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in benchmarks/funnel.py
    n = parse_count(args.events)
    base = Path(args.cache) / f"load-{n}"
    base.mkdir(parents=True, exist_ok=True)
    missing = [d for d in names if not dataset_path(base, d).exists()]
    script = str(Path(__file__).resolve())
    if missing:
        print(f"generating {n:,} events -> {base}/ ({', '.join(missing)})", flush=True)
        t0 = time.perf_counter()
        gen = [sys.executable, script, "--child", "generate", "--file", str(base), "--n", str(n),
               "--datasets", ",".join(missing)]
        if subprocess.run(gen, check=False).returncode != 0:
            print("data generation failed", file=sys.stderr)
            return 2
        print(f"  {time.perf_counter() - t0:.1f} s", flush=True)
    sizes = {d: dataset_path(base, d).stat().st_size / 1e6 for d in names}
    variants = parse_variants(args.variant)
    exe = cli_exe()
    work = Path(tempfile.mkdtemp(prefix="funnelscope-loadbench-", dir=args.cache))
    methods = ("load",) if args.no_reload else ("load", "reload")
    rows = [(d, "duckdb", None) for d in names]
    rows += [(d, m, v) for d in names for v in variants for m in methods]
    state = {r: {"wall": [], "cpu": [], "rss": [], "size": None} for r in rows}
    progress: dict = {}
    idle: dict = {}
    bad = False
    loads = []

    def env_for(variant: str | None) -> dict:
        env = dict(os.environ)
        if variant and variants[variant]:
            env["PYTHONPATH"] = variants[variant] + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def prepare(db: Path, env: dict) -> None:
        for p in db.parent.glob(f"{db.name}*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        subprocess.run([sys.executable, script, "--child", "prepare", "--db", str(db),
                        "--memory-limit", args.memory_limit], check=True, env=env)

    try:
        for rnd in range(args.repeat):
            for name in names:
                path = str(dataset_path(base, name))
                for row in [r for r in rows if r[0] == name]:
                    _, method, variant = row
                    env = env_for(variant)
                    db = work / f"{name}-{method}-{variant or 'duckdb'}.duckdb"
                    if method == "duckdb":
                        db.unlink(missing_ok=True)
                        argv_ = [sys.executable, script, "--child", "duckdb", "--file", path,
                                 "--db", str(db)] + (
                            ["--threads", str(args.threads)] if args.threads else [])
                    else:
                        first = work / f"{name}-load-{variant}.duckdb"
                        if method == "load":  # an empty workspace with the memory limit
                            prepare(db, env)
                        else:  # a copy of the loaded workspace, made outside the timed span
                            for p in work.glob(f"{db.name}*"):
                                p.unlink()
                            shutil.copyfile(first, db)
                        # no progress bar: stderr is not a terminal
                        argv_ = [exe, "load", path, "--workspace", str(db), "--format", "json"]
                    loadavg = os.getloadavg()[0]
                    wall, cpu, rss, out, code = run_measured(argv_, env)
                    st = state[row]
                    if code != 0:
                        bad = True
                        continue
                    doc = json.loads(out)
                    counts = {k: doc.get(k, 0) for k in ("read", "loaded", "duplicates",
                                                         "conflicts", "rejected")}
                    want = {"read": n, "loaded": 0 if method == "reload" else n,
                            "duplicates": n if method == "reload" else 0, "conflicts": 0,
                            "rejected": 0}
                    if counts != want:
                        print(f"!!! {name} {method} {variant}: counts {counts}, expected {want}",
                              flush=True)
                        bad = True
                    st["wall"].append(wall)
                    st["cpu"].append(cpu)
                    st["rss"].append(rss)
                    st["size"] = db_size(db)
                    loads.append(loadavg)
                    label = method if variant is None else f"{method} [{variant}]"
                    print(f"round {rnd + 1}: {name:18s} {label:24s} {wall:7.2f} s  cpu "
                          f"{cpu:6.2f} s  peak RSS {rss:6.0f} MB  file {st['size']:7.1f} MB  "
                          f"(load avg {loadavg:.1f})", flush=True)
        for variant in variants:  # the process's own footprint: a one-row load
            env = env_for(variant)
            tiny, db = work / "tiny.csv", work / f"tiny-{variant}.duckdb"
            tiny.write_text("event_id,user_id,event,ts\ne1,u1,view,2024-01-01T00:00:00Z\n")
            prepare(db, env)
            _, _, rss, _, code = run_measured([exe, "load", str(tiny), "--workspace", str(db),
                                               "--format", "json"], env)
            idle[variant] = rss if code == 0 else None
            print(f"one-row load [{variant}]: peak RSS {rss:.0f} MB", flush=True)
        if args.progress != "none" and args.progress in names:
            for variant in variants:
                env = env_for(variant)
                db = work / f"progress-{variant}.duckdb"
                prepare(db, env)
                argv_ = [exe, "load", str(dataset_path(base, args.progress)), "--workspace",
                         str(db)]
                code, first, count = run_on_terminal(argv_, env)
                progress[variant] = (code, first, count)
                print(f"progress [{variant}]: exit {code}, first percentage after "
                      f"{first if first is None else round(first, 1)} s, {count} distinct "
                      f"percentages", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = render(state, rows, n, sizes, args, variants, limit, progress, loads, idle)
    print("\n" + table)
    out_path = args.out or str(HERE / "results" / f"load-{dt.date.today():%Y-%m-%d}.md")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(table + "\n", encoding="utf-8")
    print(f"written {out_path}")
    return 1 if bad else 0


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.2f}" if b else ""


def _mb(text: str | None) -> float | None:
    """'1GB' -> 1000.0 (DuckDB reads memory_limit in powers of 1000 for GB/MB, of 1024 for
    GiB/MiB)."""
    if not text:
        return None
    import re

    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i?B)\s*", text, re.IGNORECASE)
    if not m:
        return None
    unit = m.group(2).upper()
    scale = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[unit[0]]
    if "I" in unit:
        scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[unit[0]]
    return float(m.group(1)) * scale / 2**20  # MB as ru_maxrss reports them (MiB)


def render(state: dict, rows: list, n: int, sizes: dict, args, variants: dict,
           limit: str | None, progress: dict, loads: list, idle: dict) -> str:
    med = {r: (statistics.median(s["wall"]), statistics.median(s["cpu"]), max(s["rss"]),
               s["size"]) for r, s in state.items() if s["wall"]}
    shown = ", ".join(f"{k} = {v or 'installed'}" for k, v in variants.items())
    limit_mb = _mb(limit)
    lines = [
        f"# Load benchmark: {n:,} events",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        f"{min(loads, default=0):.1f}-{max(loads, default=0):.1f} at the starts of the runs, "
        f"median of {args.repeat} run(s); whole processes (imports included). Loads write into "
        f"an empty workspace whose saved settings set DuckDB's memory_limit = "
        f"{limit or 'DuckDB default (80% of RAM)'}; the anchor is DuckDB's CTAS with default "
        f"settings. Variants: {shown}. `x memory limit` is (peak RSS - the RSS of a one-row "
        f"load, the process's own footprint: "
        + ", ".join(f"{v} {r:.0f} MB" for v, r in idle.items() if r) + ") / memory_limit.",
        "",
        "| dataset | file MB | method | seconds | x duckdb | CPU s | x duckdb CPU | peak RSS MB "
        "| x duckdb RSS | x memory limit | DB file MB | x duckdb file |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        name, method, variant = row
        label = method if variant is None or len(variants) == 1 else f"{method} [{variant}]"
        if row not in med:
            lines.append(f"| {name} | {sizes[name]:.0f} | {label} | failed | | | | | | | | |")
            continue
        wall, cpu, rss, size = med[row]
        ref = med.get((name, "duckdb", None)) or (None, None, None, None)
        base_rss = idle.get(variant) or 0.0
        of_limit = _ratio(rss - base_rss, limit_mb) if method != "duckdb" else ""
        lines.append(
            f"| {name} | {sizes[name]:.0f} | {label} | {wall:.2f} | {_ratio(wall, ref[0])} | "
            f"{cpu:.2f} | {_ratio(cpu, ref[1])} | {rss:.0f} | {_ratio(rss, ref[2])} | "
            f"{of_limit} | {size:.1f} | {_ratio(size, ref[3])} |"
        )
    if progress:
        lines.append("")
        for variant, (code, first, count) in progress.items():
            drawn = (f"drawn, first percentage after {first:.1f} s, {count} distinct values"
                     if first is not None else "not drawn")
            lines.append(f"Progress bar (`funnelscope load {args.progress}` with stderr on a "
                         f"pseudo-terminal, {variant}): {drawn}; exit status {code}.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
