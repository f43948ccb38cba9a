"""Funnel benchmark: funnelscope's local kernel against chdb, DuckDB SQL and pandas.

    python benchmarks/funnel.py [--events 10M] [--repeat 3] [--out benchmarks/results/funnel-<date>.md]

Generates N events (default 10M) as an UNSORTED Parquet file in a cache directory (users with
a heavy-tailed activity, 13 event names of which 5 are the funnel steps, timestamps uniform
over 90 days), then runs every method as its own subprocess on the same file and reports the
median wall time of ``--repeat`` runs and the peak RSS of the process. The question asked of
every method: a 5-step ordered funnel with a 7-day window (ClickHouse ``windowFunnel``
semantics) -> entities reaching each step. All methods must give the same counts; a mismatch
is printed loudly and makes the script exit with status 1.

Methods:
  kernel        funnelscope's DuckDB path on the file in place: SQL feed -> DuckDB's parallel
                Arrow result -> C kernel (time from reading the file to the counts,
                in-process; imports excluded)
  kernel-ws     the same on a DuckDB workspace loaded from the file (``funnelscope load``: ids
                become text, so entity codes are hashed); the workspace is built once and cached
  result        the whole ws.funnel(...) call in-process (adds the data bounds for censoring,
                times between steps, intervals: the full FunnelResult)
  cli           the whole ``funnelscope funnel ... --format json`` process (imports included);
                skipped when the CLI is not installed
  chdb          chdb windowFunnel with an explicit non-Nullable schema (in-process)
  chdb-process  the same chdb query timed as a whole Python process (imports included), the
                yardstick for ``cli``
  chdb-infer    chdb windowFunnel with the schema inferred from Parquet (in-process)
  duckdb-sql    a hand-written DuckDB window-function query (one window pass per step)
  portable      funnelscope's portable Ibis expression (portable.py) on the file opened in
                place, run on DuckDB (in-process; imports excluded)
  pandas        the groupby-apply an analyst would write, on the first 1M events, scaled
                linearly to N (its counts are checked against the kernel on the same slice)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = ["view", "signup", "add_to_cart", "checkout", "purchase"]
OTHER = ["search", "scroll", "click", "logout", "login", "share", "noise_a", "noise_b"]
WEIGHTS = [0.20, 0.06, 0.08, 0.04, 0.03, 0.15, 0.12, 0.12, 0.05, 0.05, 0.03, 0.04, 0.03]
WINDOW_US = 7 * 86_400 * 1_000_000
PANDAS_SLICE = 1_000_000
HERE = Path(__file__).resolve().parent


def parse_count(text: str) -> int:
    """'10M' -> 10_000_000, '500k' -> 500_000, '1e6' -> 1_000_000."""
    t = text.strip().lower()
    mult = {"k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}.get(t[-1:], 1)
    if mult != 1:
        t = t[:-1]
    return int(float(t) * mult)


# ------------------------------------------------------------------------------ data


def generate(n: int, path: Path, string_users: bool, seed: int = 42) -> None:
    """Write n unsorted events to ``path`` (event_id, user_id, event, ts), vectorised."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    users = max(1, n // 20)
    activity = rng.pareto(1.5, users) + 1.0
    activity /= activity.sum()
    names = pa.array(STEPS + OTHER)
    p = np.asarray(WEIGHTS) / sum(WEIGHTS)
    t0 = int(np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64))
    span = 90 * 86_400 * 1_000_000
    tmp = path.with_suffix(".tmp")
    schema = pa.schema([
        ("event_id", pa.int64()),
        ("user_id", pa.string() if string_users else pa.int64()),
        ("event", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
    ])
    chunk = 5_000_000
    with pq.ParquetWriter(tmp, schema) as writer:
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            uid = rng.choice(users, m, p=activity)
            ev = rng.choice(len(names), m, p=p).astype(np.int32)
            ts = t0 + rng.integers(0, span, m)
            user_col = (pa.array(np.char.add("u", uid.astype(str))) if string_users
                        else pa.array(uid.astype(np.int64)))
            table = pa.table({
                "event_id": pa.array(np.arange(lo, lo + m, dtype=np.int64)),
                "user_id": user_col,
                "event": pa.DictionaryArray.from_arrays(pa.array(ev), names).cast(pa.string()),
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            }, schema=schema)
            writer.write_table(table, row_group_size=1 << 20)
    tmp.rename(path)


# ------------------------------------------------------------------------------ methods (child side)


def _cumulative(hist: dict[int, int]) -> list[int]:
    """{level: entities} -> entities reaching step j, j = 1..k."""
    k = len(STEPS)
    return [sum(c for lv, c in hist.items() if lv >= j) for j in range(1, k + 1)]


def _step_case(col: str = "event") -> str:
    return " ".join(f"WHEN '{s}' THEN {1 << i}" for i, s in enumerate(STEPS))


def _in_list() -> str:
    return ", ".join(f"'{s}'" for s in STEPS)


def _connect(threads: int, memory_limit: str | None):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
            raise SystemExit(f"--memory-limit must look like 4GB, got {memory_limit!r}")
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def _kernel_counts(ws) -> list[int]:
    """The product's DuckDB path on ``ws``: SQL feed -> DuckDB's parallel Arrow -> C kernel."""
    from funnelscope.analyses.funnel import duckdb_feed as feed
    from funnelscope.analyses.funnel.kernel import run_kernel
    from funnelscope.analyses.funnel.run import kernel_spec
    from funnelscope.analyses.funnel.scan import fetch_batches
    from funnelscope.analyses.funnel.spec import make_spec

    spec = make_spec(STEPS, f"{WINDOW_US}us")
    query = feed.kernel_query(ws, spec, feed.Source.of(ws), by_property=False)
    out = run_kernel(fetch_batches(ws.duckdb, query), kernel_spec(spec))
    return [int(x) for x in out.level_counts(len(STEPS))]


def m_kernel(path: str, threads: int, memory_limit: str | None = None) -> list[int]:
    """The file in place: in-place view -> SQL feed -> parallel Arrow -> C kernel."""
    import funnelscope as fs

    return _kernel_counts(fs.connect(events=path, threads=threads, memory_limit=memory_limit))


def m_kernel_ws(path: str, threads: int, memory_limit: str | None = None) -> list[int]:
    """The same path on a loaded DuckDB workspace (string user ids, hashed entity codes)."""
    import funnelscope as fs

    return _kernel_counts(fs.connect(workspace_path(path), read_only=True, threads=threads,
                                     memory_limit=memory_limit))


def workspace_path(parquet: str) -> str:
    """The cached DuckDB workspace holding ``parquet`` loaded with ``funnelscope load``."""
    return str(Path(parquet).with_suffix(".duckdb"))


def load_workspace(parquet: str) -> None:
    import funnelscope as fs

    tmp = Path(workspace_path(parquet) + ".tmp")
    tmp.unlink(missing_ok=True)
    ws = fs.connect(str(tmp))
    ws.load(parquet, "events")
    ws.close()
    tmp.rename(workspace_path(parquet))


def m_result(path: str, threads: int, memory_limit: str | None = None) -> list[int]:
    """The whole ``ws.funnel(...)`` call on the in-place file (FunnelResult with times, CIs,
    censoring), imports excluded."""
    import funnelscope as fs

    ws = fs.connect(events=path, threads=threads, memory_limit=memory_limit)
    result = ws.funnel(STEPS, f"{WINDOW_US}us")
    return [int(r["entities"]) for r in result.records("steps")]


def _chdb_query(path: str, explicit: bool) -> str:
    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    src = f"file('{path}', Parquet)"
    if explicit:
        import pyarrow.parquet as pq

        utype = "String" if str(pq.read_schema(path).field("user_id").type) == "string" else "Int64"
        schema = f"event_id Int64, user_id {utype}, event String, ts DateTime64(6)"
        src = f"file('{path}', Parquet, '{schema}')"
    return (
        "SELECT level, count() FROM (SELECT user_id, windowFunnel("
        f"{WINDOW_US})(toUInt64(toUnixTimestamp64Micro(ts)), {conds}) AS level FROM {src} "
        f"WHERE event IN ({_in_list()}) GROUP BY user_id) GROUP BY level ORDER BY level"
    )


def m_chdb(path: str, explicit: bool) -> list[int]:
    import chdb

    res = chdb.query(_chdb_query(path, explicit), "CSV").data()
    hist = {int(a): int(b) for a, b in (line.split(",") for line in res.strip().splitlines())}
    return _cumulative(hist)


def m_duckdb_sql(path: str, threads: int, memory_limit: str | None = None) -> list[int]:
    con = _connect(threads, memory_limit)
    k = len(STEPS)
    case = " ".join(f"WHEN '{s}' THEN {i + 1}" for i, s in enumerate(STEPS))
    ctes = [
        f"e AS (SELECT user_id AS u, epoch_us(ts) AS t, CASE event {case} END AS s "
        f"FROM read_parquet('{path}') WHERE event IN ({_in_list()}))",
        "l1 AS (SELECT *, CASE WHEN s = 1 THEN t END AS st1 FROM e)",
    ]
    for j in range(2, k + 1):
        ctes.append(
            f"l{j} AS (SELECT * EXCLUDE (p), CASE WHEN s = {j} AND t - p <= {WINDOW_US} "
            f"THEN p END AS st{j} FROM (SELECT *, max(st{j - 1}) OVER (PARTITION BY u "
            f"ORDER BY t, s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS p FROM l{j - 1}))"
        )
    level = "CASE " + " ".join(
        f"WHEN max(st{j}) IS NOT NULL THEN {j}" for j in range(k, 0, -1)) + " ELSE 0 END"
    sql = (f"WITH {', '.join(ctes)} SELECT lv, count(*) FROM (SELECT u, {level} AS lv "
           f"FROM l{k} GROUP BY u) GROUP BY lv")
    return _cumulative(dict(con.sql(sql).fetchall()))


def m_portable(path: str, threads: int, memory_limit: str | None = None) -> list[int]:
    import funnelscope as fs
    from funnelscope.analyses.funnel.portable import portable_levels
    from funnelscope.analyses.funnel.spec import make_spec

    ws = fs.connect(events=path, threads=threads, memory_limit=memory_limit)
    levels = portable_levels(ws, make_spec(STEPS, "7d"))
    out = levels.group_by("level").agg(n=levels.count()).to_pyarrow()
    return _cumulative(dict(zip(out["level"].to_pylist(), out["n"].to_pylist(), strict=True)))


def _pandas_levels(df) -> dict[int, int]:
    """What an analyst writes: sort, group by user, walk each user's events in Python."""
    order = {s: i + 1 for i, s in enumerate(STEPS)}
    df = df[df["event"].isin(STEPS)].copy()
    df["step"] = df["event"].map(order)
    df["t"] = df["ts"].astype("int64") // 1000 if str(df["ts"].dtype).endswith("ns, UTC]") \
        else df["ts"].astype("int64")
    df = df.sort_values(["user_id", "t", "step"])

    def level(g) -> int:
        start = [None] * (len(STEPS) + 1)
        best = 0
        for t, s in zip(g["t"].to_numpy(), g["step"].to_numpy(), strict=True):
            if s == 1:
                start[1] = t
                best = max(best, 1)
            elif start[s - 1] is not None and t - start[s - 1] <= WINDOW_US:
                start[s] = start[s - 1]
                best = max(best, s)
        return best

    levels = df.groupby("user_id", sort=False).apply(level, include_groups=False)
    return levels.value_counts().to_dict()


def m_pandas(path: str) -> dict:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    table = next(pf.iter_batches(batch_size=PANDAS_SLICE))
    df = table.to_pandas()
    df["ts"] = df["ts"].astype("datetime64[us, UTC]")
    t0 = time.perf_counter()
    hist = _pandas_levels(df)
    seconds = time.perf_counter() - t0
    # the same slice through the kernel, for the equality check
    import numpy as np
    import pyarrow as pa

    from funnelscope.analyses.funnel.kernel import KernelSpec, run_kernel

    keep = df["event"].isin(STEPS).to_numpy()
    codes = {s: 1 << i for i, s in enumerate(STEPS)}
    sub = df[keep]
    uid = sub["user_id"]
    ent = uid.to_numpy(np.int64) if uid.dtype.kind in "iu" else \
        pd_hash(uid.to_numpy())
    kt = pa.table({"entity": pa.array(ent, pa.int64()),
                   "ts": pa.array(sub["ts"].astype("int64").to_numpy(), pa.int64()),
                   "mask": pa.array(sub["event"].map(codes).to_numpy(np.uint32))})
    ref = run_kernel(kt, KernelSpec(len(STEPS), WINDOW_US)).level_counts(len(STEPS))
    return {"seconds": seconds, "counts": _cumulative(hist),
            "kernel_counts": [int(x) for x in ref], "slice": int(len(df))}


def pd_hash(values):
    import pandas as pd

    return pd.util.hash_array(values).view("int64")


def child(method: str, path: str, threads: int, memory_limit: str | None = None) -> None:
    """Run one method in this process and print {"seconds", "counts", ...} as JSON."""
    # imports are not part of the in-process time
    if method in ("kernel", "result", "kernel-ws"):
        import duckdb  # noqa: F401

        import funnelscope.analyses.funnel.duckdb_feed  # noqa: F401
        import funnelscope.analyses.funnel.result  # noqa: F401
        import funnelscope.analyses.funnel.run  # noqa: F401
    elif method.startswith("chdb"):
        import chdb  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    elif method == "duckdb-sql":
        import duckdb  # noqa: F401
    elif method == "portable":
        import ibis.backends.duckdb  # noqa: F401
        import ibis.backends.duckdb.converter  # noqa: F401  (pandas, for Ibis' result types)
        import ibis.backends.sql.compilers  # noqa: F401

        import funnelscope.analyses.funnel.portable  # noqa: F401
    t0, c0 = time.perf_counter(), os.times()
    if method == "pandas":
        out = m_pandas(path)
        print(json.dumps(out))
        return
    if method == "kernel":
        counts = m_kernel(path, threads, memory_limit)
    elif method == "result":
        counts = m_result(path, threads, memory_limit)
    elif method == "kernel-ws":
        counts = m_kernel_ws(path, threads, memory_limit)
    elif method in ("chdb", "chdb-process"):
        counts = m_chdb(path, explicit=True)
    elif method == "chdb-infer":
        counts = m_chdb(path, explicit=False)
    elif method == "duckdb-sql":
        counts = m_duckdb_sql(path, threads, memory_limit)
    elif method == "portable":
        counts = m_portable(path, threads, memory_limit)
    else:
        raise SystemExit(f"unknown method {method}")
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": cpu, "counts": counts}))


# ------------------------------------------------------------------------------ parent side


def run_measured(argv: list[str]) -> tuple[float, float, str, int, float]:
    """Run argv as a child; return (wall s, peak RSS MB, stdout, status, CPU s) of that child."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        proc = subprocess.Popen(argv, stdout=fout, stderr=ferr, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    if proc.returncode != 0:
        sys.stderr.write(f"\n--- {' '.join(argv[:4])} failed:\n{err[-3000:]}\n")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024.0, out, proc.returncode, cpu


def cli_available() -> str | None:
    exe = shutil.which("funnelscope") or str(Path(sys.executable).with_name("funnelscope"))
    if not Path(exe).exists():
        return None
    _, _, _, status, _ = run_measured([exe, "funnel", "--help"])
    return exe if status == 0 else None


def parse_cli_counts(text: str) -> list[int] | None:
    """Entities per step from the CLI's JSON (a list of steps with a count-like field)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return None
    steps = doc.get("steps") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and steps is None:
        for key in ("result", "rows", "table", "data"):
            if isinstance(doc.get(key), list):
                steps = doc[key]
                break
    if not isinstance(steps, list):
        return None
    out = []
    for row in steps:
        if not isinstance(row, dict):
            return None
        for key in ("entities", "count", "users", "n"):
            if key in row:
                out.append(int(row[key]))
                break
        else:
            return None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", default="10M", help="number of events, e.g. 10M, 50M, 100M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None, help="write the markdown table here")
    ap.add_argument("--cache", default=os.environ.get("FUNNELSCOPE_BENCH_CACHE",
                                                      str(Path(tempfile.gettempdir())
                                                          / "funnelscope-bench")))
    ap.add_argument("--string-users", action="store_true", help="user_id as strings")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", default="kernel,result,cli,chdb,chdb-process,chdb-infer,duckdb-sql,pandas")
    ap.add_argument("--memory-limit", default=None,
                    help="DuckDB memory_limit for the DuckDB-based methods, e.g. 4GB")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "generate":
        generate(args.n, Path(args.file), args.string_users)
        return 0
    if args.child == "load":
        load_workspace(args.file)
        return 0
    if args.child:
        child(args.child, args.file, args.threads, args.memory_limit)
        return 0

    # every child alike: numpy's OpenBLAS threads otherwise spin-wait for work after import
    # (~5 % of a short process's CPU on 2 cores); the CLI should set it before importing numpy
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    n = parse_count(args.events)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"events-{n}-{'str' if args.string_users else 'int'}.parquet"
    script = str(Path(__file__).resolve())
    if not path.exists():
        # in a child process: a child forked from a big parent would report the parent's RSS
        print(f"generating {n:,} events -> {path}", flush=True)
        t0 = time.perf_counter()
        gen = [sys.executable, script, "--child", "generate", "--file", str(path),
               "--n", str(n)] + (["--string-users"] if args.string_users else [])
        if subprocess.run(gen, check=False).returncode != 0:
            print("data generation failed", file=sys.stderr)
            return 2
        print(f"  {time.perf_counter() - t0:.1f} s", flush=True)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "kernel-ws" in methods and not Path(workspace_path(str(path))).exists():
        print(f"loading {path.name} into a workspace (once) -> {workspace_path(str(path))}",
              flush=True)
        t0 = time.perf_counter()
        load = [sys.executable, script, "--child", "load", "--file", str(path)]
        if subprocess.run(load, check=False).returncode != 0:
            print("workspace load failed", file=sys.stderr)
            return 2
        print(f"  {time.perf_counter() - t0:.1f} s", flush=True)
    results: dict[str, dict] = {}
    cli = cli_available() if "cli" in methods else None
    state = {m: {"walls": [], "inner": [], "rss": [], "cpu": [], "counts": None, "note": ""}
             for m in methods}
    if "cli" in methods and cli is None:
        state["cli"]["note"] = "skipped: the funnelscope CLI (funnel command) is not installed"
        print("cli           skipped (no funnelscope CLI)", flush=True)
    # rounds: every method once per round, so a change in machine load hits all of them
    for rnd in range(args.repeat):
        for method in methods:
            st = state[method]
            if (method == "cli" and cli is None) or st["note"].startswith("failed"):
                continue
            if method == "pandas" and rnd > 0:
                continue  # one run: it is slow, and scaled anyway
            if method == "cli":
                argv_ = [cli, "funnel", "--events", str(path), "--steps", ",".join(STEPS),
                         "--window", "7d", "--format", "json"]
            else:
                argv_ = [sys.executable, script, "--child", method, "--file", str(path),
                         "--threads", str(args.threads)]
                if args.memory_limit:
                    argv_ += ["--memory-limit", args.memory_limit]
            wall, peak, out, status, proc_cpu = run_measured(argv_)
            if status != 0:
                st["note"] = f"failed (exit {status})"
                print(f"{method:13s} failed (exit {status})", flush=True)
                continue
            st["walls"].append(wall)
            st["rss"].append(peak)
            if method in ("cli", "chdb-process"):
                st["cpu"].append(proc_cpu)
            if method == "cli":
                st["counts"] = parse_cli_counts(out)
                if st["counts"] is None:
                    st["note"] = "could not read counts from the CLI's JSON"
            else:
                doc = json.loads(out.strip().splitlines()[-1])
                seconds = doc["seconds"]
                st["counts"] = doc["counts"]
                if method == "pandas":
                    scale = n / doc["slice"]
                    seconds *= scale
                    same = doc["counts"] == doc["kernel_counts"]
                    st["note"] = (f"{doc['slice']:,}-event slice x{scale:.0f}; slice counts "
                                  + ("= kernel" if same else f"!= kernel {doc['kernel_counts']}"))
                    if not same:
                        print(f"!!! MISMATCH pandas slice {doc['counts']} vs kernel "
                              f"{doc['kernel_counts']}", flush=True)
                        results["_mismatch"] = {"pandas": True}
                st["inner"].append(seconds)
                if method not in ("pandas", "chdb-process"):
                    st["cpu"].append(doc["cpu"])
            shown = st["inner"][-1] if st["inner"] and method not in ("cli", "chdb-process") \
                else wall
            cpu_s = f"cpu {st['cpu'][-1]:6.2f} s" if st["cpu"] else ""
            print(f"round {rnd + 1}: {method:13s} {shown:8.3f} s {cpu_s}  peak RSS {peak:7.0f} MB"
                  f"  {st['counts']}", flush=True)
    for method in methods:
        st = state[method]
        if not st["walls"]:
            results[method] = {"note": st["note"]}
            continue
        in_process = method not in ("cli", "chdb-process")
        results[method] = {
            "seconds": statistics.median(st["inner"] if in_process else st["walls"]),
            "process_wall": statistics.median(st["walls"]),
            "rss_mb": max(st["rss"]),
            "cpu": statistics.median(st["cpu"]) if st["cpu"] else float("nan"),
            "counts": st["counts"],
            "note": st["note"],
            "runs": len(st["walls"]),
        }

    # equal counts across methods (pandas ran on a slice: checked against the kernel above)
    full = {m: r["counts"] for m, r in results.items()
            if m not in ("pandas", "_mismatch") and r.get("counts") is not None}
    distinct = {json.dumps(c) for c in full.values()}
    mismatch = len(distinct) > 1 or "_mismatch" in results
    if len(distinct) > 1:
        print("\n!!! MISMATCH: methods disagree on the funnel counts:", flush=True)
        for m, c in full.items():
            print(f"!!!   {m:13s} {c}", flush=True)

    table = render(results, n, args)
    print("\n" + table)
    out_path = args.out or str(HERE / "results" / f"funnel-{dt.date.today():%Y-%m-%d}.md")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(table + "\n", encoding="utf-8")
    print(f"written {out_path}")
    return 1 if mismatch else 0


def render(results: dict, n: int, args) -> str:
    base = results.get("chdb", {}).get("seconds")
    base_rss = results.get("chdb", {}).get("rss_mb")
    proc_base = results.get("chdb-process", {}).get("seconds")
    infer_base = results.get("chdb-infer", {}).get("seconds")
    base_cpu = results.get("chdb", {}).get("cpu")
    proc_cpu = results.get("chdb-process", {}).get("cpu")
    lines = [
        f"# Funnel benchmark: {n:,} events, 5 steps, 7-day window",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end, median of {args.repeat} runs, "
        f"user ids {'strings' if args.string_users else 'int64'}, threads={args.threads}, "
        f"DuckDB memory_limit={args.memory_limit or 'default'}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}.",
        "In-process times run from reading the file to the counts (imports excluded); "
        "`cli` and `chdb-process` are whole processes (imports included).",
        "",
        "CPU = user+system seconds of all threads over the same span (less sensitive to other "
        "load on the machine than wall time).",
        "",
        "| method | seconds | x chdb | CPU s | x chdb CPU | peak RSS MB | x chdb RSS | "
        "entities per step | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for m, r in results.items():
        if m.startswith("_"):
            continue
        if "seconds" not in r:
            lines.append(f"| {m} | | | | | | | | {r.get('note', '')} |")
            continue
        ref, against = base, ""
        if m == "cli" and proc_base:
            ref, against = proc_base, " (vs chdb-process)"
        elif m == "portable" and infer_base:
            ref, against = infer_base, " (vs chdb-infer)"
        ratio = f"{r['seconds'] / ref:.2f}" if ref and r["seconds"] == r["seconds"] else ""
        if ratio:
            ratio += against
        rss_ratio = f"{r['rss_mb'] / base_rss:.2f}" if base_rss else ""
        cref = proc_cpu if m == "cli" else base_cpu
        cpu = f"{r['cpu']:.2f}" if r["cpu"] == r["cpu"] else ""
        cpu_ratio = f"{r['cpu'] / cref:.2f}" if cpu and cref and cref == cref else ""
        lines.append(
            f"| {m} | {r['seconds']:.3f} | {ratio} | {cpu} | {cpu_ratio} | {r['rss_mb']:.0f} | "
            f"{rss_ratio} | {r['counts']} | {r['note']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
