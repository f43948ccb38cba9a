"""Customer-value scaling benchmark: ``funnelscope rfm`` and ``funnelscope clv`` on 100k .. 1M
customers, time per customer, against plain DuckDB SQL (RFM) and ``lifetimes`` (BG/NBD +
Gamma-Gamma CLV).

    python benchmarks/customers.py [--sizes 100k,250k,500k,1M] [--repeat 1]
                                   [--lifetimes-python /tmp/lt-venv/bin/python]
                                   [--out benchmarks/results/customers-<date>.md]

Setup (cached, not timed): orders of N customers drawn from a BG/NBD + Gamma-Gamma world with
CDNOW-like parameters (per week r=0.24, alpha=4.4, a=0.79, b=2.43; spend p=6, q=4, gamma=15),
first purchases spread over the first 9 months of 2025, observed to 2025-12-31; each purchase
day holds 1 + Poisson(0.1) orders at random times of that day (so same-day merging matters);
about 2.5 orders per customer. Written as Parquet (``order_id``, ``user_id`` text, ``ts``
TIMESTAMPTZ, ``amount``, ``currency``) and loaded with ``ws.load`` into a DuckDB workspace
(UTC) in a child process.

Timed, each as its own process, one size after the other:

  rfm          ``funnelscope rfm --workspace WS --quiet`` (table output: segments)
  rfm-anchor   plain DuckDB SQL in a Python process: recency/frequency/monetary per customer
               and NTILE(5) scores, counted per R-F-M score cell
  clv          ``funnelscope clv --workspace WS --quiet`` (BG/NBD + Gamma-Gamma, weeks, one
               year, 10%/year discount; table output)
  clv-anchor   ``lifetimes`` (0.11.3, in its own venv given by ``--lifetimes-python``): the
               same per-customer summary computed by DuckDB SQL (same-day orders merged, weeks),
               ``BetaGeoFitter().fit`` on every customer row, ``GammaGammaFitter().fit`` on repeat
               customers, ``customer_lifetime_value`` over 12 months at 10%/year; without
               ``--lifetimes-python`` the row is skipped
  phases       in-process timings of the main phases of rfm and clv (``--no-phases`` skips)

The anchor's BG/NBD parameters are compared with ours (relative difference printed); the
two fits maximise the same likelihood on the same summary, so they should agree to ~1e-3.
Seconds and CPU seconds (user + system of the child, all threads), peak RSS of the child
(``os.wait4``); exponent = least-squares slope of log(seconds) on log(N).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import cli_exe, exponent, label, parse_count, run_measured  # noqa: E402
from pipeline import workspace as pipeline_workspace  # noqa: E402

START = "2025-01-01"
END = "2025-12-31"  # observation end (last day with orders)
FIRST_DAYS = 273  # first purchases in the first 9 months
WEEK = 7.0
TRUTH = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.43, "p": 6.0, "q": 4.0, "gamma": 15.0}


# ------------------------------------------------------------------------------ data


def generate(n: int, path: Path, seed: int = 7) -> None:
    """Write the orders of ``n`` customers (see the module docstring) to a Parquet file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    day0 = np.datetime64(START, "D")
    horizon = float((np.datetime64(END, "D") - day0).astype(int)) + 1.0  # days observed
    first = rng.integers(0, FIRST_DAYS, n).astype("float64") + rng.random(n)
    lam = rng.gamma(TRUTH["r"], 1.0 / TRUTH["alpha"], n) / WEEK  # purchases per day
    drop = rng.beta(TRUTH["a"], TRUTH["b"], n)
    nu = rng.gamma(TRUTH["q"], 1.0 / TRUTH["gamma"], n)
    cust, when = [np.arange(n)], [first.copy()]
    now = first.copy()
    active = np.arange(n)
    for _ in range(2_000):
        if len(active) == 0:
            break
        now[active] += rng.exponential(1.0 / np.maximum(lam[active], 1e-12))
        bought = active[now[active] < horizon]
        cust.append(bought)
        when.append(now[bought].copy())
        active = bought[rng.random(len(bought)) >= drop[bought]]
    c = np.concatenate(cust)
    day = np.floor(np.concatenate(when))
    extra = rng.poisson(0.1, len(c))  # more orders on the same day
    c = np.repeat(c, 1 + extra)
    day = np.repeat(day, 1 + extra)
    secs = rng.integers(0, 86_400, len(c))
    ts = (day0.astype("datetime64[s]") + (day * 86_400).astype("int64") + secs).astype(
        "datetime64[us]")
    amount = np.round(rng.gamma(TRUTH["p"], 1.0 / nu[c]), 2) + 0.01
    order = rng.permutation(len(c))  # unsorted, as exported
    width = len(str(n))
    t = pa.table({
        "order_id": pa.array([f"o{i:09d}" for i in range(len(c))]),
        "user_id": pa.array(np.char.add("c", np.char.zfill(c[order].astype(str), width))),
        "ts": pa.array(ts[order], type=pa.timestamp("us", tz="UTC")),
        "amount": pa.array(amount[order]),
        "currency": pa.array(np.full(len(c), "CNY")),
    })
    tmp = path.with_suffix(".tmp")
    pq.write_table(t, tmp)
    os.replace(tmp, path)
    print(f"  {path.name}: {t.num_rows:,} orders of {n:,} customers", file=sys.stderr)


def child_load(parquet: str, ws_path: str) -> None:
    import funnelscope as fs

    ws = fs.connect(ws_path, tz="UTC")
    ws.load(parquet, "orders")
    ws.close()


def workspace(cache: Path, n: int) -> Path:
    """The cached workspace of ``n`` customers' orders (generated and loaded on first use)."""
    return pipeline_workspace(cache, n, "orders", __file__)


# ------------------------------------------------------------------------------ children

RFM_SQL = """
WITH per AS (
    SELECT user_id, max(CAST(ts AS DATE)) AS last_day, count(*) AS frequency,
           sum(amount) AS monetary
    FROM orders GROUP BY user_id
), scored AS (
    SELECT user_id,
           NTILE(5) OVER (ORDER BY (SELECT max(last_day) FROM per) - last_day DESC) AS r,
           NTILE(5) OVER (ORDER BY frequency) AS f,
           NTILE(5) OVER (ORDER BY monetary) AS m
    FROM per
)
SELECT r, f, m, count(*) AS customers FROM scored GROUP BY ALL ORDER BY ALL
"""

SUMMARY_SQL = """
WITH d AS (
    SELECT user_id, CAST(ts AS DATE) AS day, sum(amount) AS value
    FROM orders GROUP BY ALL
), f AS (
    SELECT user_id, min(day) AS first_day, max(day) AS last_day, count(*) - 1 AS frequency,
           sum(value) AS total, arg_min(value, day) AS first_value
    FROM d GROUP BY user_id
)
SELECT user_id, frequency,
       (last_day - first_day) / 7.0 AS recency,
       ((SELECT max(day) FROM d) - first_day) / 7.0 AS "T",
       CASE WHEN frequency > 0 THEN (total - first_value) / frequency ELSE 0 END
           AS monetary_value
FROM f
"""


def child_rfm_anchor(ws_path: str) -> None:
    import duckdb

    con = duckdb.connect(ws_path, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(RFM_SQL).fetchall()
    print(json.dumps({"cells": len(rows), "customers": sum(r[3] for r in rows)}))


def child_clv_anchor(ws_path: str) -> None:
    """Runs under the lifetimes venv: DuckDB summary, lifetimes fits and CLV."""
    import duckdb
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    con = duckdb.connect(ws_path, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    s = con.execute(SUMMARY_SQL).df().set_index("user_id")
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    clv = gg.customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"],
                                     s["monetary_value"], time=12, freq="W",
                                     discount_rate=0.10 / 12)
    print(json.dumps({"bgnbd": {k: float(v) for k, v in bg.params_.items()},
                      "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
                      "customers": len(s), "clv_total": float(clv.sum())}))


def child_phases(ws_path: str) -> None:
    """Time the main phases of rfm and clv in one process; print them as JSON."""
    t0 = time.perf_counter()
    import funnelscope as fs
    from funnelscope.analyses.value import sources
    from funnelscope.analyses.value.bgnbd import BetaGeoModel
    from funnelscope.analyses.value.clv import customer_lifetime_value
    from funnelscope.analyses.value.gamma_gamma import GammaGammaModel
    from funnelscope.analyses.value.run import clv, rfm
    from funnelscope.analyses.value.summary import customer_summary

    out: dict[str, float] = {"import (wall s)": time.perf_counter() - t0}

    def lap(name: str, start: float) -> float:  # CPU seconds of the process, all threads
        now = time.process_time()
        out[name] = now - start
        return now

    t = time.process_time()
    ws = fs.connect(ws_path, read_only=True)
    per = sources.customer_orders(ws)
    t = lap("rfm: per-customer aggregate (engine)", t)
    rfm(ws)
    t = lap("rfm: whole (aggregate + scores + segments)", t)
    days = sources.order_days(ws)
    t = lap("clv: order days (engine)", t)
    s = customer_summary(days, observation_end=days["day"].max(), time_unit="weeks",
                         customer="user_id", timestamp="day", amount="amount",
                         currency=None).customers
    t = lap("clv: customer summary (pandas)", t)
    bg = BetaGeoModel("weeks").fit(s["frequency"], s["recency"], s["T"])
    t = lap("clv: BG/NBD fit", t)
    gg = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    t = lap("clv: Gamma-Gamma fit", t)
    customer_lifetime_value(bg, gg, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                            horizon=52.1786, time_unit="weeks", discount_rate=0.10)
    t = lap("clv: predictions", t)
    bg.parameters()
    gg.parameters()
    t = lap("clv: standard errors", t)
    clv(ws)
    lap("clv: whole", t)
    out["customers"] = float(len(per))
    out["bgnbd_rows"] = float(len(s))
    print(json.dumps(out))


# ------------------------------------------------------------------------------ parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100k,250k,500k,1M")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the markdown report here")
    ap.add_argument("--lifetimes-python", default=None,
                    help="a Python with lifetimes and duckdb installed (the CLV anchor)")
    ap.add_argument("--no-phases", action="store_true")
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
        {"load": child_load, "rfm-anchor": child_rfm_anchor, "clv-anchor": child_clv_anchor,
         "phases": child_phases}[kind](*rest)
        return 0

    sizes = [parse_count(s) for s in args.sizes.split(",")]
    cache = Path(args.cache)
    paths = {n: workspace(cache, n) for n in sizes}
    exe = cli_exe()
    methods = {
        "rfm": lambda ws: [exe, "rfm", "--workspace", str(ws), "--quiet"],
        "rfm-anchor": lambda ws: [sys.executable, __file__, "--child", "rfm-anchor", str(ws)],
        "clv": lambda ws: [exe, "clv", "--workspace", str(ws), "--quiet"],
    }
    if args.lifetimes_python:
        methods["clv-anchor"] = lambda ws: [args.lifetimes_python, __file__, "--child",
                                            "clv-anchor", str(ws)]
    runs: dict = {}
    outputs: dict = {}
    failed = False
    load_avg = []
    for _ in range(args.repeat):
        for n in sizes:
            load_avg.append(os.getloadavg()[0])
            for name, make in methods.items():
                wall, cpu, rss, out, code = run_measured(
                    make(paths[n]), None if name.endswith("anchor") else args.src)
                failed |= code != 0
                runs.setdefault((n, name), []).append((wall, cpu, rss))
                outputs[(n, name)] = out
                print(f"{label(n):>5} {name:<10} {wall:7.2f} s  cpu {cpu:7.2f} s  "
                      f"rss {rss:7.0f} MB", file=sys.stderr)
    checks = {}
    for n in sizes:
        if (n, "clv-anchor") in outputs and outputs[(n, "clv-anchor")].strip():
            theirs = json.loads(outputs[(n, "clv-anchor")])["bgnbd"]
            ours = json.loads(subprocess.run(
                [exe, "clv", "--workspace", str(paths[n]), "--quiet", "--format", "json"],
                capture_output=True, text=True, check=True).stdout)["bgnbd"]
            checks[n] = {k: ours[k] / theirs[k] - 1 for k in ("r", "alpha", "a", "b")}
            print(f"{label(n):>5} BG/NBD ours/lifetimes - 1: {checks[n]}", file=sys.stderr)
    phases = {}
    if not args.no_phases:
        for n in sizes:
            wall, cpu, rss, out, code = run_measured(
                [sys.executable, __file__, "--child", "phases", str(paths[n])], args.src)
            failed |= code != 0
            if code == 0:
                phases[n] = json.loads(out)
                print(f"{label(n):>5} phases {json.dumps(phases[n])}", file=sys.stderr)
    text = render(sizes, methods, runs, phases, checks, args, load_avg)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 1 if failed else 0


def render(sizes, methods, runs, phases, checks, args, load_avg) -> str:
    import datetime as dt
    import statistics

    import duckdb

    def med(n, name, i):
        return statistics.median(x[i] for x in runs[(n, name)])

    lines = [
        f"# Customer value scaling, {dt.date.today().isoformat()}", "",
        f"`python benchmarks/customers.py --sizes {args.sizes} --repeat {args.repeat}"
        f"{' --lifetimes-python ...' if args.lifetimes_python else ''}"
        f"{' --src ' + args.src if args.src else ''}`; DuckDB "
        f"{duckdb.__version__}, {os.cpu_count()} cores, load average at the start of each "
        f"round {', '.join(f'{x:.2f}' for x in load_avg)}. Whole processes, medians of "
        f"{args.repeat} run(s).", "",
        "| customers | method | s | CPU s | µs/customer (CPU) | peak RSS MB | ratio wall "
        "| ratio CPU |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        for name in methods:
            anchor = f"{name}-anchor"
            ratio_w = ratio_c = ""
            if (n, anchor) in runs:
                ratio_w = f"{med(n, name, 0) / med(n, anchor, 0):.1f}x"
                ratio_c = f"{med(n, name, 1) / med(n, anchor, 1):.1f}x"
            lines.append(f"| {label(n)} | {name} | {med(n, name, 0):.2f} | {med(n, name, 1):.2f} "
                         f"| {med(n, name, 1) / n * 1e6:.1f} | {med(n, name, 2):.0f} "
                         f"| {ratio_w} | {ratio_c} |")
    lines += ["", "| method | exponent (wall) | exponent (CPU) |", "|---|---:|---:|"]
    for name in methods:
        ew = exponent(sizes, [med(n, name, 0) for n in sizes])
        ec = exponent(sizes, [med(n, name, 1) for n in sizes])
        lines.append(f"| {name} | {'' if ew is None else f'{ew:.2f}'} "
                     f"| {'' if ec is None else f'{ec:.2f}'} |")
    if checks:
        lines += ["", "BG/NBD parameters, ours / lifetimes - 1:", ""]
        for n, c in checks.items():
            lines.append(f"- {label(n)}: " + ", ".join(f"{k} {v:+.1e}" for k, v in c.items()))
    if phases:
        names = [k for k in next(iter(phases.values())) if k not in ("customers", "bgnbd_rows")]
        lines += ["", "In-process phases (CPU seconds of the process, all threads; one run each):", "",
                  "| phase | " + " | ".join(label(n) for n in phases) + " | exponent |",
                  "|---|" + "---:|" * (len(phases) + 1)]
        for k in names:
            vals = [phases[n][k] for n in phases]
            e = exponent(list(phases), vals)
            lines.append(f"| {k} | " + " | ".join(f"{v:.2f}" for v in vals)
                         + f" | {'' if e is None else f'{e:.2f}'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
