"""Load benchmark: ``funnelscope load`` against DuckDB's own CREATE TABLE AS on the same file.

    python benchmarks/load.py [--events 2M] [--repeat 3] [--formats csv,parquet]
                              [--variant NAME=SRC_DIR ...] [--out benchmarks/results/load-<date>.md]

Generates N events (default 2M, seeded) once into a cache directory, as a CSV and as a Parquet
file with the same rows: ``event_id`` (unique text ids), ``user_id`` (text), ``event`` (13
names), ``ts`` (ISO-8601 text, µs, ``Z``), and four properties (``country``, ``device``: text;
``price``: decimal, 10 % empty; ``quantity``: whole number, 5 % empty; typed in Parquet, text
in CSV). Then, every method as its own process, one method after the other in rounds so a
change in machine load hits all of them alike:

  duckdb        the anchor: ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` (read_parquet
                for Parquet) into a new DuckDB file, in a Python process (imports included)
  load          ``funnelscope load FILE --workspace NEW --format json`` (a new workspace)
  reload        the same command on a copy of that workspace: the same file again, every
                row a duplicate (the copy is made outside the timed span)

Seconds and CPU seconds (user + system of the child, all threads) are medians of ``--repeat``
runs of the whole process; peak RSS is the child's maximum resident set (its own rusage from
``os.wait4``, what ``resource.getrusage(RUSAGE_CHILDREN)`` reports, taken per child).
``x duckdb`` is ours / the anchor on the same file. ``--variant NAME=SRC_DIR`` (repeatable) runs
the funnelscope methods once per variant with ``PYTHONPATH=SRC_DIR``, e.g. a copy of ``src/``
holding another version of the loader, so before/after compare in one run on one machine;
without it the installed funnelscope is the one variant. Each load's read/loaded/duplicates
counts are checked (a first load keeps all N rows, a reload keeps none); a wrong count fails
the script with status 1.
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


def generate(n: int, csv_path: Path, parquet_path: Path, seed: int = 42) -> None:
    """Write the same n events to ``csv_path`` and ``parquet_path``, vectorised, in chunks."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    users = max(1, n // 20)
    t0 = int(np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64))
    span = 90 * 86_400 * 1_000_000
    schema = pa.schema([
        ("event_id", pa.string()), ("user_id", pa.string()), ("event", pa.string()),
        ("ts", pa.string()), ("country", pa.string()), ("device", pa.string()),
        ("price", pa.float64()), ("quantity", pa.int64()),
    ])
    tmp_csv, tmp_pq = csv_path.with_suffix(".csv.tmp"), parquet_path.with_suffix(".tmp")
    chunk = 1_000_000

    def pick(values: list[str], m: int) -> pa.Array:
        codes = pa.array(rng.integers(0, len(values), m).astype(np.int32))
        return pa.DictionaryArray.from_arrays(codes, pa.array(values)).cast(pa.string())

    with pq.ParquetWriter(tmp_pq, schema) as pw, pcsv.CSVWriter(tmp_csv, schema) as cw:
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            ids = np.arange(lo, lo + m)
            ts = pa.array(t0 + np.sort(rng.integers(0, span, m)), pa.timestamp("us"))
            price = np.round(rng.gamma(2.0, 20.0, m), 2)
            qty = rng.integers(1, 6, m)
            table = pa.table({
                "event_id": pa.array(np.char.add("ev", np.char.zfill(ids.astype(str), 10))),
                "user_id": pa.array(np.char.add("u", rng.integers(0, users, m).astype(str))),
                "event": pick(NAMES, m),
                "ts": pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ"),
                "country": pick(COUNTRIES, m),
                "device": pick(DEVICES, m),
                "price": pa.array(price, mask=rng.random(m) < 0.10),
                "quantity": pa.array(qty, pa.int64(), mask=rng.random(m) < 0.05),
            }, schema=schema)
            pw.write_table(table, row_group_size=1 << 17)
            cw.write_table(table)
    tmp_csv.rename(csv_path)
    tmp_pq.rename(parquet_path)


# ------------------------------------------------------------------------------ child side


def child_duckdb(path: str, db: str, threads: int | None) -> None:
    """The anchor: DuckDB's own CTAS of the file into a new database file."""
    import duckdb

    con = duckdb.connect(db)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
    con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [path])
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    print(json.dumps({"read": n, "loaded": n, "duplicates": 0, "conflicts": 0, "rejected": 0}))


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", default="2M", help="number of events, e.g. 500k, 2M, 10M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", default="csv,parquet", help="csv, parquet or both")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=SRC_DIR: also run the loader found in SRC_DIR (repeatable)")
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
    if args.child == "generate":
        generate(args.n, Path(args.file).with_suffix(".csv"), Path(args.file).with_suffix(".parquet"))
        return 0
    if args.child == "duckdb":
        child_duckdb(args.file, args.db, args.threads)
        return 0

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in benchmarks/funnel.py
    n = parse_count(args.events)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    base = cache / f"load-events-{n}"
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if any(not base.with_suffix(f".{f}").exists() for f in ("csv", "parquet")):
        print(f"generating {n:,} events -> {base}.csv / .parquet", flush=True)
        t0 = time.perf_counter()
        gen = [sys.executable, str(Path(__file__).resolve()), "--child", "generate",
               "--file", str(base), "--n", str(n)]
        if subprocess.run(gen, check=False).returncode != 0:
            print("data generation failed", file=sys.stderr)
            return 2
        print(f"  {time.perf_counter() - t0:.1f} s", flush=True)
    sizes = {f: base.with_suffix(f".{f}").stat().st_size / 1e6 for f in formats}
    variants = parse_variants(args.variant)
    exe = cli_exe()
    script = str(Path(__file__).resolve())
    work = Path(tempfile.mkdtemp(prefix="funnelscope-loadbench-"))
    rows = [(f, "duckdb", None) for f in formats]
    rows += [(f, m, v) for f in formats for v in variants for m in ("load", "reload")]
    state = {r: {"wall": [], "cpu": [], "rss": [], "counts": None} for r in rows}
    bad = False
    try:
        for rnd in range(args.repeat):
            for fmt in formats:
                path = str(base.with_suffix(f".{fmt}"))
                for row in [r for r in rows if r[0] == fmt]:
                    _, method, variant = row
                    env = dict(os.environ)
                    db = work / f"{fmt}-{method}-{variant or 'duckdb'}.duckdb"
                    if method == "duckdb":
                        db.unlink(missing_ok=True)
                        argv_ = [sys.executable, script, "--child", "duckdb", "--file", path,
                                 "--db", str(db)] + (
                            ["--threads", str(args.threads)] if args.threads else [])
                    else:
                        if variants[variant]:
                            env["PYTHONPATH"] = variants[variant] + os.pathsep + env.get(
                                "PYTHONPATH", "")
                        first = work / f"{fmt}-load-{variant}.duckdb"
                        if method == "load":
                            for p in work.glob(f"{fmt}-load-{variant}.duckdb*"):
                                p.unlink()
                        else:  # a copy of the loaded workspace, made outside the timed span
                            for p in work.glob(f"{db.name}*"):
                                p.unlink()
                            shutil.copyfile(first, db)
                        # no progress bar: stderr is not a terminal
                        argv_ = [exe, "load", path, "--workspace", str(db), "--format", "json"]
                    wall, cpu, rss, out, code = run_measured(argv_, env)
                    st = state[row]
                    if code != 0:
                        bad = True
                        continue
                    doc = json.loads(out)
                    counts = {k: doc.get(k, 0) for k in ("read", "loaded", "duplicates", "conflicts",
                                                  "rejected")}
                    want = {"read": n, "loaded": 0 if method == "reload" else n,
                            "duplicates": n if method == "reload" else 0, "conflicts": 0,
                            "rejected": 0}
                    if counts != want:
                        print(f"!!! {fmt} {method} {variant}: counts {counts}, expected {want}",
                              flush=True)
                        bad = True
                    st["wall"].append(wall)
                    st["cpu"].append(cpu)
                    st["rss"].append(rss)
                    st["counts"] = counts
                    label = method if variant is None else f"{method} [{variant}]"
                    print(f"round {rnd + 1}: {fmt:7s} {label:28s} {wall:7.2f} s  cpu {cpu:6.2f} s"
                          f"  peak RSS {rss:6.0f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = render(state, rows, n, sizes, args, variants)
    print("\n" + table)
    out_path = args.out or str(HERE / "results" / f"load-{dt.date.today():%Y-%m-%d}.md")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(table + "\n", encoding="utf-8")
    print(f"written {out_path}")
    return 1 if bad else 0


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.2f}" if b else ""


def render(state: dict, rows: list, n: int, sizes: dict, args, variants: dict) -> str:
    med = {r: (statistics.median(s["wall"]), statistics.median(s["cpu"]), max(s["rss"]))
           for r, s in state.items() if s["wall"]}
    shown = ", ".join(f"{k} = {v or 'installed'}" for k, v in variants.items())
    lines = [
        f"# Load benchmark: {n:,} events",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end, median of {args.repeat} runs; whole processes "
        f"(imports included). Files: "
        + ", ".join(f"{f} {s:.0f} MB" for f, s in sizes.items()) + f". Variants: {shown}.",
        "",
        "| file | method | seconds | x duckdb | CPU s | x duckdb CPU | peak RSS MB | "
        "x duckdb RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        fmt, method, variant = row
        label = method if variant is None or len(variants) == 1 else f"{method} [{variant}]"
        if row not in med:
            lines.append(f"| {fmt} | {label} | failed | | | | | |")
            continue
        wall, cpu, rss = med[row]
        ref = med.get((fmt, "duckdb", None)) or (None, None, None)
        lines.append(
            f"| {fmt} | {label} | {wall:.2f} | {_ratio(wall, ref[0])} | {cpu:.2f} | "
            f"{_ratio(cpu, ref[1])} | {rss:.0f} | {_ratio(rss, ref[2])} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
