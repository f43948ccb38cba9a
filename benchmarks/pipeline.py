"""Pipeline scaling benchmark: ``funnelscope pipeline`` on 100k .. 1M deals, time per deal.

    python benchmarks/pipeline.py [--sizes 100k,250k,500k,1M] [--repeat 1]
                                  [--out benchmarks/results/pipeline-<date>.md]

Setup (cached, not timed): N deals drawn by the B2B demo generator
(:mod:`funnelscope.data.demo.b2b`: stages target → potential → contacted → intent → signed →
installed → paying → active, with skips, regressions, stalls and losses over a year; about
3.6 stage entries per deal), with one owner per about 2,000 deals (the demo's 8 owners, each split into ``N / 16,000`` reps; a real CRM with a million deals
has hundreds of reps, so per-owner work must not grow with deals × owners), written as Parquet
and loaded into a DuckDB workspace with ``ws.load`` in a child process.

Timed, each as its own process, in rounds over the sizes (one size after the other):

  cli       ``funnelscope pipeline --workspace WS --by owner --period quarter --format json
            --quiet``: the whole analysis as the CLI gives it (funnel, velocity, win rates,
            forecast, backtest, bottlenecks), JSON written to a pipe
  anchor    a Python process running plain DuckDB SQL on the same workspace file: deals
            reaching each stage (furthest stage >= s), the count the stage funnel starts from
  phases    one Python process timing the main phases in-process: per-deal table (engine),
            as-of replay (engine), the tables (pandas), forecast, backtest, JSON

``python benchmarks/pipeline.py --child tables WS`` (optionally with ``PYTHONPATH=OTHER_SRC``)
prints the CPU seconds of each per-group table (by owner, by period) on WS's per-deal table.

Seconds and CPU seconds (user + system of the child, all threads) are medians of ``--repeat``
runs; peak RSS is the child's own maximum resident set (``os.wait4``). ``ratio`` = cli /
anchor. The fitted exponent is the least-squares slope of log(seconds) on log(N): 1.0 is
linear. The anchor's stage counts are checked against the CLI's funnel; a mismatch exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEALS_PER_OWNER = 2_000


def parse_count(text: str) -> int:
    t = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if t[-1:] in "km" else t) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k"


# ------------------------------------------------------------------------------ data


def generate(n: int, path: Path, seed: int = 42) -> None:
    """Write ``n`` deals' stage entries (b2b demo generator, seeded) to a Parquet file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from funnelscope.data import demo

    t = demo.generate("b2b", users=n * 10, seed=seed, start="2026-01-01", days=90)["deals"]
    ids = pc.cast(pc.utf8_slice_codeunits(t["deal_id"], 1), pa.int64()).to_numpy()
    per_name = max(1, n // (DEALS_PER_OWNER * 8))  # the demo's 8 owners become 8 teams of reps
    rep = (ids * 2_654_435_761) % per_name  # a fixed rep per deal
    owner = pc.binary_join_element_wise(t["owner"], pa.array(rep.astype(str)), ".")
    reps = len(pc.unique(owner))
    t = t.set_column(t.schema.get_field_index("owner"), "owner", owner)
    tmp = path.with_suffix(".tmp")
    pq.write_table(t, tmp)
    os.replace(tmp, path)
    print(f"  {path.name}: {t.num_rows:,} stage entries of {n:,} deals, {reps} owners",
          file=sys.stderr)


def child_load(parquet: str, ws_path: str) -> None:
    import funnelscope as fs

    ws = fs.connect(ws_path, tz="Asia/Shanghai")
    ws.load(parquet, "deals")
    ws.close()


def workspace(cache: Path, n: int, table: str = "deals", script: str = __file__) -> Path:
    """The cached workspace of ``n`` rows of ``table`` (``{table}-{label}.parquet`` made by
    ``script --child generate``, loaded by ``script --child load``; both on first use only).
    Shared with customers.py."""
    cache.mkdir(parents=True, exist_ok=True)
    parquet = cache / f"{table}-{label(n)}.parquet"
    ws = cache / f"{table}-{label(n)}.duckdb"
    if not parquet.exists():  # in a child: a big parent would raise every child's peak RSS
        subprocess.run([sys.executable, script, "--child", "generate", str(n), str(parquet)],
                       check=True)
    if not ws.exists():
        tmp = ws.with_suffix(".tmp.duckdb")
        tmp.unlink(missing_ok=True)
        subprocess.run([sys.executable, script, "--child", "load", str(parquet), str(tmp)],
                       check=True)
        os.replace(tmp, ws)
    return ws


# ------------------------------------------------------------------------------ children


ANCHOR_SQL = """
WITH s(stage, idx) AS (SELECT * FROM (VALUES {values})),
per_deal AS (
    SELECT d.deal_id, max(s.idx) AS furthest FROM deals d JOIN s USING (stage)
    GROUP BY d.deal_id
)
SELECT s.idx, count(p.deal_id) FROM s LEFT JOIN per_deal p ON p.furthest >= s.idx
GROUP BY s.idx ORDER BY s.idx
"""


def child_anchor(ws_path: str) -> None:
    """Plain DuckDB: deals reaching each stage (furthest stage >= stage), as JSON counts."""
    import duckdb

    from funnelscope.data.schema import DEFAULT_STAGES

    con = duckdb.connect(ws_path, read_only=True)
    values = ", ".join(f"('{s}', {i})" for i, s in enumerate(DEFAULT_STAGES))
    rows = con.execute(ANCHOR_SQL.format(values=values)).fetchall()
    print(json.dumps([int(c) for _, c in rows]))


def child_phases(ws_path: str) -> None:
    """Time the main phases of the pipeline analysis in one process; print them as JSON."""
    t0 = time.perf_counter()
    import funnelscope as fs
    from funnelscope.analyses.pipeline.deals import deal_table
    from funnelscope.analyses.pipeline.history import DealHistory
    from funnelscope.analyses.pipeline.run import run as run_pipeline
    from funnelscope.analyses.pipeline.spec import make_spec

    out: dict[str, float] = {"import (wall s)": time.perf_counter() - t0}

    def lap(name: str, start: float) -> float:  # CPU seconds of the process, all threads
        now = time.process_time()
        out[name] = now - start
        return now

    t = time.process_time()
    ws = fs.connect(ws_path, read_only=True)
    spec = make_spec(ws.config.deal_stages, ws.config.controllability, by="owner",
                     period="quarter")
    t = lap("connect", t)
    result = run_pipeline(ws, spec)
    t = lap("run: all tables", t)
    d = deal_table(ws, spec)  # run's two engine queries again, on their own
    t = lap("run: per-deal table (engine)", t)
    h = DealHistory(ws, spec, d, int(d["last_us"].max()), ws.config.timezone)
    h.detach()
    t = lap("run: as-of replay (engine)", t)
    out["run: the rest (pandas)"] = (out["run: all tables"] - out["run: per-deal table (engine)"]
                                     - out["run: as-of replay (engine)"])
    f = result.forecast()
    t = lap("forecast", t)
    bt = result.backtest()
    t = lap("backtest", t)
    text = json.dumps(result.to_dict(), default=str)
    lap("to_dict + json (forecast and backtest again)", t)
    out["deals"] = float(len(d))
    out["check"] = float(f.meta["open_deals"] + bt.meta["cutoffs_scored"] + len(text) * 0)
    print(json.dumps(out))


def child_tables(ws_path: str) -> None:
    """CPU seconds of each per-group table on one per-deal table (owner breakdowns: the
    O(deals x owners) suspects); ``--child tables WS`` prints them as JSON."""
    import funnelscope as fs
    from funnelscope.analyses.pipeline.bottlenecks import bottlenecks_by
    from funnelscope.analyses.pipeline.deals import deal_table
    from funnelscope.analyses.pipeline.intervals import wilson
    from funnelscope.analyses.pipeline.periods import period_labels
    from funnelscope.analyses.pipeline.spec import make_spec
    from funnelscope.analyses.pipeline.stages import funnel_by, group_labels
    from funnelscope.analyses.pipeline.velocity import velocity_summary
    from funnelscope.analyses.pipeline.what_if import what_if
    from funnelscope.analyses.pipeline.win_rates import coverage_table, win_rate_table

    wilson(1, 2)  # statsmodels' import outside the timings
    ws = fs.connect(ws_path, read_only=True)
    spec = make_spec(ws.config.deal_stages, ws.config.controllability, by="owner",
                     period="quarter")
    d = deal_table(ws, spec)
    tz = ws.config.timezone
    out: dict = {"deals": len(d), "owners": int(d["owner"].nunique())}
    for name, f in [
        ("funnel by owner", lambda: funnel_by(d, spec, group_labels(d["owner"]), "group")),
        ("funnel by creation quarter", lambda: funnel_by(
            d, spec, period_labels(d["created_us"], tz, "quarter"), "cohort")),
        ("bottlenecks by owner", lambda: bottlenecks_by(d, spec, group_labels(d["owner"]))),
        ("win rates (owner x close quarter)", lambda: win_rate_table(d, spec, tz)),
        ("coverage by owner", lambda: coverage_table(d, spec)),
        ("pipeline velocity by owner", lambda: velocity_summary(d, "owner")),
        ("what-if to the best owner", lambda: what_if(d, spec, "intent", to="best_owner")),
    ]:
        start = time.process_time()
        f()
        out[name] = round(time.process_time() - start, 2)
    print(json.dumps(out))


# ------------------------------------------------------------------------------ parent


def run_measured(argv: list[str], src: str | None = None) -> tuple[float, float, float, str, int]:
    """Run argv as a child (with ``PYTHONPATH=src`` when given: another copy of funnelscope);
    return (wall s, CPU s, peak RSS MB, stdout, exit status) of that child."""
    from load import run_measured as measured

    return measured(argv, {**os.environ, "PYTHONPATH": src} if src else None)


def cli_exe() -> str:
    exe = Path(sys.executable).with_name("funnelscope")
    if not exe.exists():
        raise SystemExit("the funnelscope CLI is not installed next to this Python")
    return str(exe)


def exponent(ns: list[int], secs: list[float]) -> float | None:
    """Least-squares slope of log(seconds) on log(N)."""
    pts = [(math.log(n), math.log(s)) for n, s in zip(ns, secs, strict=True) if s > 0]
    if len(pts) < 2:
        return None
    mx = statistics.mean(x for x, _ in pts)
    my = statistics.mean(y for _, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100k,250k,500k,1M")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the markdown report here")
    ap.add_argument("--no-phases", action="store_true", help="skip the in-process phase run")
    ap.add_argument("--src", default=None, help="run funnelscope from this source directory "
                    "(PYTHONPATH), e.g. an older copy of src/, for before/after")
    ap.add_argument("--cache", default=os.environ.get(
        "FUNNELSCOPE_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "funnelscope-bench")))
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            generate(int(rest[0]), Path(rest[1]))
            return 0
        {"load": child_load, "anchor": child_anchor, "phases": child_phases,
         "tables": child_tables}[kind](*rest)
        return 0

    sizes = [parse_count(s) for s in args.sizes.split(",")]
    cache = Path(args.cache)
    paths = {n: workspace(cache, n) for n in sizes}
    exe = cli_exe()
    methods = {
        "cli": lambda ws: [exe, "pipeline", "--workspace", str(ws), "--by", "owner",
                           "--period", "quarter", "--format", "json", "--quiet"],
        "anchor": lambda ws: [sys.executable, __file__, "--child", "anchor", str(ws)],
    }
    runs: dict[tuple[int, str], list[tuple[float, float, float]]] = {}
    failed = False
    load_avg = []
    for _ in range(args.repeat):
        for n in sizes:
            load_avg.append(os.getloadavg()[0])
            outputs = {}
            for name, make in methods.items():
                wall, cpu, rss, out, code = run_measured(make(paths[n]), args.src)
                failed |= code != 0
                runs.setdefault((n, name), []).append((wall, cpu, rss))
                outputs[name] = out
                print(f"{label(n):>5} {name:<7} {wall:7.2f} s  cpu {cpu:7.2f} s  "
                      f"rss {rss:7.0f} MB", file=sys.stderr)
            if not failed:
                ours = [r["deals"] for r in json.loads(outputs["cli"])["funnel"]]
                theirs = json.loads(outputs["anchor"])
                if ours != theirs:
                    print(f"stage counts differ at {label(n)}: {ours} vs {theirs}",
                          file=sys.stderr)
                    failed = True
    phases = {}
    if not args.no_phases:
        for n in sizes:
            wall, cpu, rss, out, code = run_measured(
                [sys.executable, __file__, "--child", "phases", str(paths[n])], args.src)
            failed |= code != 0
            if code == 0:
                phases[n] = json.loads(out)
                print(f"{label(n):>5} phases {json.dumps(phases[n])}", file=sys.stderr)
    text = render(sizes, runs, phases, args, load_avg)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 1 if failed else 0


def _med(xs: list[tuple[float, float, float]], i: int) -> float:
    return statistics.median(x[i] for x in xs)


def render(sizes, runs, phases, args, load_avg) -> str:
    import duckdb

    import funnelscope

    lines = [
        f"# Pipeline scaling, {dt.date.today().isoformat()}",
        "",
        f"`python benchmarks/pipeline.py --sizes {args.sizes} --repeat {args.repeat}"
        f"{' --src ' + args.src if args.src else ''}`; "
        f"funnelscope {getattr(funnelscope, '__version__', '?')}, DuckDB {duckdb.__version__}, "
        f"{os.cpu_count()} cores, load average at the start of each round "
        f"{', '.join(f'{x:.2f}' for x in load_avg)}. Whole processes, medians of "
        f"{args.repeat} run(s).",
        "",
        "| deals | cli s | cli CPU s | µs/deal (wall) | µs/deal (CPU) | peak RSS MB "
        "| anchor s | anchor CPU s | ratio wall | ratio CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        c, a = runs[(n, "cli")], runs[(n, "anchor")]
        lines.append(
            f"| {label(n)} | {_med(c, 0):.2f} | {_med(c, 1):.2f} | {_med(c, 0) / n * 1e6:.1f} "
            f"| {_med(c, 1) / n * 1e6:.1f} | {_med(c, 2):.0f} | {_med(a, 0):.2f} "
            f"| {_med(a, 1):.2f} | {_med(c, 0) / _med(a, 0):.1f}x "
            f"| {_med(c, 1) / _med(a, 1):.1f}x |")
    for i, what in ((0, "wall"), (1, "CPU")):
        for name in ("cli", "anchor"):
            e = exponent(sizes, [_med(runs[(n, name)], i) for n in sizes])
            lines.append("" if e is None else f"\nFitted exponent ({name}, {what}): {e:.2f}")
    if phases:
        names = [k for k in next(iter(phases.values())) if k not in ("deals", "check")]
        lines += ["", "In-process phases (CPU seconds of the process, all threads; one run each):", "",
                  "| phase | " + " | ".join(label(n) for n in phases) + " | exponent |",
                  "|---|" + "---:|" * (len(phases) + 1)]
        for k in names:
            vals = [phases[n][k] for n in phases]
            e = exponent(list(phases), vals)
            lines.append(f"| {k} | " + " | ".join(f"{v:.2f}" for v in vals)
                         + f" | {'' if e is None else f'{e:.2f}'} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


if __name__ == "__main__":
    sys.exit(main())
