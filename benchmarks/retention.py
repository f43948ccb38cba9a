"""Retention, activity (DAU/WAU/MAU) and churn against the equivalent chdb queries.

    python benchmarks/retention.py [--events 10M] [--repeat 3] [--analyses retention,activity,churn]
        [--shapes file-int,file-text,file-epoch-ms,workspace] [--tz UTC]

The question (issue 15): are ``funnelscope retention`` / ``activity`` / ``churn`` as fast as
ClickHouse's own queries, and no bigger in memory? The events are those of
``benchmarks/funnel.py`` (same generator and cache: unsorted, heavy-tailed users, timestamps
uniform over 90 days). Input shapes:

  file-int        Parquet in place, ts TIMESTAMPTZ, int64 user ids (the generator's file)
  file-text       the same with text user ids ('u123')
  file-epoch-ms   Parquet in place, ts BIGINT epoch milliseconds (the file of
                  ``benchmarks/funnel_time_types.py``), int64 user ids
  workspace       a DuckDB workspace loaded from file-int with ``funnelscope load`` (ids
                  become text); built once and cached beside the file

Every method is a whole process (imports included), timed with its CPU seconds and peak RSS:

  ours   ``funnelscope retention --period day --periods 7 --format json`` /
         ``funnelscope activity --format json`` / ``funnelscope churn --inactivity-days 30
         --period month --format json`` on the shape (``--events FILE`` or ``--workspace``)
  chdb   a Python process running chdb on the same file (the workspace's source file for
         ``workspace``), with an explicit schema:
         retention  ``retention(d = c, d = c + 1, ..., d = c + 7)`` per user, c = the user's
                    first local day (a join with the per-user minimum: faster in chdb than a
                    window over the distinct (user, day) pairs), summed per cohort
         activity   per local day the exact set of users as a ``groupBitmapState``, kept in
                    a Memory table (text ids numbered first through a Join-engine dictionary
                    of the distinct ids; ``uniqExactState`` hash sets took 1.6 s more at 2M
                    events); DAU and the trailing 7/30-day actives as ``groupBitmapMerge``
                    over RANGE windows, calendar WAU (weeks from Monday) and MAU as merges per
                    week / month
         churn      distinct (user, local day), a new spell when the gap to the previous
                    active day exceeds 30 days (``lagInFrame``), spells numbered by a running
                    sum; the (start day, last day, first spell) counts come back and Python
                    finishes the churn-rate table and the Kaplan–Meier counts with the
                    definitions of docs/metrics.md

Both sides must agree: retention cohort sizes and retained users per complete cell; DAU,
trailing WAU/MAU and calendar WAU/MAU per day / week / month; churn's new, churned and
churned-from-start per complete period, the customers at the start of each period, and the
churned / censored counts per first-spell duration. A mismatch is printed loudly and the
script exits with status 1. The markdown table (median of ``--repeat`` runs, ours / chdb) is
printed and written to ``benchmarks/results/retention-<date>-<N>.md``.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from funnel_time_types import SHAPES as TIME_SHAPES  # noqa: E402
from funnel_time_types import shape_path, write_shape  # noqa: E402

from funnel import (  # noqa: E402  (the sibling benchmark's generator and process timer)
    cli_available,
    generate,
    load_workspace,
    parse_count,
    run_measured,
    workspace_path,
)

HERE = Path(__file__).resolve().parent
PERIODS = 7          # retention --period day --periods 7
INACTIVITY = 30      # churn --inactivity-days 30 --period month
SHAPES = ("file-int", "file-text", "file-epoch-ms", "workspace")
ANALYSES = ("retention", "activity", "churn")
EPOCH = dt.date(1970, 1, 1)


# ------------------------------------------------------------------------------ data


def base_path(cache: Path, n: int, text_ids: bool) -> Path:
    return cache / f"events-{n}-{'str' if text_ids else 'int'}.parquet"


def shape_file(cache: Path, n: int, shape: str) -> Path:
    """The Parquet file a shape reads (for ``workspace``: the file it was loaded from)."""
    if shape == "file-text":
        return base_path(cache, n, True)
    if shape == "file-epoch-ms":
        return shape_path(cache, n, _epoch_ms())
    return base_path(cache, n, False)


def _epoch_ms():
    return next(s for s in TIME_SHAPES if s.name == "epoch-ms")


def prepare(cache: Path, n: int, shape: str) -> None:
    """Generate the base file(s), the epoch-ms file and the workspace a shape needs."""
    base = base_path(cache, n, shape == "file-text")
    if not base.exists():
        generate(n, base, shape == "file-text")
    if shape == "file-epoch-ms" and not shape_file(cache, n, shape).exists():
        write_shape(base, shape_file(cache, n, shape), _epoch_ms())
    if shape == "workspace" and not Path(workspace_path(str(base))).exists():
        load_workspace(str(base))


# ------------------------------------------------------------------------------ chdb side


def _chdb_source(path: str, shape: str, tz: str) -> tuple[str, str, str]:
    """(FROM clause, user id SQL, local epoch-day SQL) of ``shape``'s file in chdb."""
    text = shape == "file-text"
    ts_type = "Int64" if shape == "file-epoch-ms" else "DateTime64(6, ''UTC'')"
    src = (f"file('{path}', Parquet, 'user_id {'String' if text else 'Int64'}, event String, "
           f"ts {ts_type}')")
    ts = "fromUnixTimestamp64Milli(ts, 'UTC')" if shape == "file-epoch-ms" else "ts"
    return src, "user_id", f"toInt32(toDate({ts}, '{tz}'))"


def chdb_retention(path: str, shape: str, tz: str) -> dict:
    import chdb

    src, uid, day = _chdb_source(path, shape, tz)
    conds = ", ".join(f"d = c + {k}" for k in range(PERIODS + 1))
    sums = ", ".join(f"sum(r[{k + 1}])" for k in range(PERIODS + 1))
    sql = (
        f"SELECT c, count(), max(last), {sums} FROM ("
        f"SELECT {uid} AS u, c, max(d) AS last, retention({conds}) AS r "
        f"FROM (SELECT {uid}, {day} AS d FROM {src}) AS e "
        f"JOIN (SELECT {uid}, min({day}) AS c FROM {src} GROUP BY {uid}) AS f USING ({uid}) "
        f"GROUP BY {uid}, c) GROUP BY c ORDER BY c"
    )
    rows = [[int(x) for x in line.split(",")]
            for line in chdb.query(sql, "CSV").data().strip().splitlines()]
    end = max(r[2] for r in rows)
    return {"end": end, "cohorts": [[r[0], r[1], r[3:]] for r in rows]}


def chdb_activity(path: str, shape: str, tz: str) -> dict:
    from chdb import session

    src, uid, day = _chdb_source(path, shape, tz)
    # exact sets of users per day as Roaring bitmaps of int ids; text ids are numbered first
    # through a Join-engine dictionary (per-day uniqExactState hash sets merged over the
    # windows took 18 s of CPU at 10M events, a bitmap of their 64-bit hashes 90 s at 2M)
    s = session.Session()
    try:
        user = f"toUInt64({uid})"
        if shape == "file-text":
            s.query("CREATE TABLE fs_users ENGINE = Join(ANY, LEFT, user_id) AS SELECT user_id, "
                    f"toUInt32(rowNumberInAllBlocks()) AS uid FROM (SELECT DISTINCT user_id "
                    f"FROM {src})")
            user = f"joinGet('fs_users', 'uid', {uid})"
        merge = "groupBitmapMerge"
        s.query(f"CREATE TABLE fs_days ENGINE = Memory AS SELECT {day} AS d, "
                f"groupBitmapState({user}) AS s FROM {src} GROUP BY d")
        daily = s.query(
            f"SELECT d, {merge}(s) OVER w1, {merge}(s) OVER w7, "
            f"{merge}(s) OVER w30 FROM fs_days WINDOW "
            "w1 AS (ORDER BY d RANGE BETWEEN CURRENT ROW AND CURRENT ROW), "
            "w7 AS (ORDER BY d RANGE BETWEEN 6 PRECEDING AND CURRENT ROW), "
            "w30 AS (ORDER BY d RANGE BETWEEN 29 PRECEDING AND CURRENT ROW) ORDER BY d",
            "CSV").data()
        weekly = s.query(f"SELECT toInt32(toMonday(toDate(d))) AS w, {merge}(s) "
                         "FROM fs_days GROUP BY w ORDER BY w", "CSV").data()
        monthly = s.query(f"SELECT toInt32(toStartOfMonth(toDate(d))) AS m, {merge}(s) "
                          "FROM fs_days GROUP BY m ORDER BY m", "CSV").data()
    finally:
        s.close()

    def rows(text: str) -> list[list[int]]:
        return [[int(x) for x in line.split(",")] for line in text.strip().splitlines()]

    return {"daily": rows(daily), "weekly": rows(weekly), "monthly": rows(monthly)}


def chdb_churn(path: str, shape: str, tz: str) -> dict:
    import chdb

    src, uid, day = _chdb_source(path, shape, tz)
    w = "(PARTITION BY u ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    sql = (
        "SELECT start, last, spell = 0 AS first, count() FROM ("
        "SELECT u, spell, min(d) AS start, max(d) AS last FROM ("
        f"SELECT u, d, sum(new) OVER {w} - 1 AS spell FROM ("
        f"SELECT u, d, (d - lagInFrame(d, 1, -1000000) OVER {w}) > {INACTIVITY} AS new FROM ("
        f"SELECT DISTINCT {uid} AS u, {day} AS d FROM {src}))) "
        "GROUP BY u, spell) GROUP BY start, last, first"
    )
    rows = [[int(x) for x in line.split(",")]
            for line in chdb.query(sql, "CSV").data().strip().splitlines()]
    return {"spells": rows}


CHDB = {"retention": chdb_retention, "activity": chdb_activity, "churn": chdb_churn}


# ------------------------------------------------------------------------------ comparison


def _iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=day)).isoformat()


def _month(day: int) -> int:
    d = EPOCH + dt.timedelta(days=day)
    return d.year * 12 + d.month - 1


def _month_days(m: int) -> tuple[int, int]:
    y, mo = divmod(m, 12)
    first = (dt.date(y, mo + 1, 1) - EPOCH).days
    y2, mo2 = divmod(m + 1, 12)
    return first, (dt.date(y2, mo2 + 1, 1) - EPOCH).days - 1


def expected_retention(ch: dict) -> dict:
    """{cohort: (size, retained per period with None past the data's end)}."""
    end = ch["end"]
    return {_iso(c): (size, [n if c + k <= end else None for k, n in enumerate(retained)])
            for c, size, retained in ch["cohorts"]}


def ours_retention(doc: dict) -> dict:
    return {r["cohort"]: (r["size"], list(r["retained"])) for r in doc["cohorts"]}


def expected_activity(ch: dict) -> dict:
    first = min(r[0] for r in ch["daily"])
    daily = {_iso(d): (n1, n7 if d - 6 >= first else None, n30 if d - 29 >= first else None)
             for d, n1, n7, n30 in ch["daily"]}
    return {"daily": daily, "weekly": {_iso(w): n for w, n in ch["weekly"]},
            "monthly": {_iso(m): n for m, n in ch["monthly"]}}


def ours_activity(doc: dict) -> dict:
    return {"daily": {r["day"]: (r["dau"], r["wau_7d"], r["mau_30d"]) for r in doc["daily"]},
            "weekly": {r["week"]: r["wau"] for r in doc["weekly"]},
            "monthly": {r["month"]: r["mau"] for r in doc["monthly"]}}


def expected_churn(ch: dict) -> dict:
    """Churn-rate rows and first-spell Kaplan–Meier counts from the spells (docs/metrics.md)."""
    spells = ch["spells"]
    first_day = min(s[0] for s in spells)
    end = max(s[1] for s in spells)
    started: dict[int, int] = {}
    churned: dict[int, int] = {}
    churned_old: dict[int, int] = {}
    km: dict[tuple[int, int], int] = {}
    for start, last, is_first, n in spells:
        observed = last + INACTIVITY <= end
        sp = _month(start)
        started[sp] = started.get(sp, 0) + n
        if observed:
            cp = _month(last)
            churned[cp] = churned.get(cp, 0) + n
            if sp < cp:
                churned_old[cp] = churned_old.get(cp, 0) + n
        if is_first:
            key = (last - start, int(observed))
            km[key] = km.get(key, 0) + n
    periods, alive = {}, 0
    for m in range(_month(first_day), _month(end) + 1):
        lo, hi = _month_days(m)
        complete = lo >= first_day and hi <= end and hi + INACTIVITY <= end
        periods[_iso(lo)] = (alive, started.get(m, 0),
                             churned.get(m, 0) if complete else None,
                             churned_old.get(m, 0) if complete else None)
        alive += started.get(m, 0) - churned.get(m, 0)
    survival = {}
    for (d, observed), n in km.items():
        row = survival.setdefault(float(d), [0, 0])
        row[0 if observed else 1] += n
    return {"periods": periods, "survival": {d: tuple(v) for d, v in survival.items()}}


def ours_churn(doc: dict) -> dict:
    return {"periods": {r["period"]: (r["customers_at_start"], r["new"], r["churned"],
                                      r["churned_from_start"]) for r in doc["periods"]},
            "survival": {float(r["day"]): (r["churned"], r["censored"]) for r in doc["survival"]}}


EXPECTED = {"retention": expected_retention, "activity": expected_activity, "churn": expected_churn}
OURS = {"retention": ours_retention, "activity": ours_activity, "churn": ours_churn}


def _diff(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b), key=str)
    bad = [k for k in keys if a.get(k) != b.get(k)]
    return "; ".join(f"{k}: ours {a.get(k)} chdb {b.get(k)}" for k in bad[:3]) + \
        (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")


# ------------------------------------------------------------------------------ parent side


def ours_argv(cli: str, analysis: str, shape: str, path: Path, tz: str) -> list[str]:
    where = ["--workspace", workspace_path(str(path))] if shape == "workspace" \
        else ["--events", str(path)]
    opts = {"retention": ["--period", "day", "--periods", str(PERIODS)],
            "activity": [],
            "churn": ["--inactivity-days", str(INACTIVITY), "--period", "month"]}[analysis]
    return [cli, analysis, *where, *opts, "--tz", tz, "--format", "json", "--quiet"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", default="10M", help="number of events, e.g. 2M, 10M, 50M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--analyses", default=",".join(ANALYSES))
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--tz", default="UTC", help="reporting time zone of both sides")
    ap.add_argument("--out", default=None, help="write the markdown table here")
    ap.add_argument("--label", default="", help="a word for the table's title (before/after)")
    ap.add_argument("--cache", default=os.environ.get(
        "FUNNELSCOPE_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "funnelscope-bench")))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--shape", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "prepare":
        prepare(Path(args.file), args.n, args.shape)
        return 0
    if args.child in CHDB:
        print(json.dumps(CHDB[args.child](args.file, args.shape, args.tz)))
        return 0

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as benchmarks/funnel.py, for both
    n = parse_count(args.events)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    analyses = [a.strip() for a in args.analyses.split(",") if a.strip()]
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    bad = (set(analyses) - set(ANALYSES)) | (set(shapes) - set(SHAPES))
    if bad:
        raise SystemExit(f"unknown analyses/shapes {sorted(bad)}; analyses: {', '.join(ANALYSES)};"
                         f" shapes: {', '.join(SHAPES)}")
    cli = cli_available()
    if cli is None:
        raise SystemExit("the funnelscope CLI is not installed in this environment")
    script = str(Path(__file__).resolve())
    for shape in shapes:  # in child processes: a forked big parent would inflate RSS
        t0 = time.perf_counter()
        prep = [sys.executable, script, "--child", "prepare", "--shape", shape,
                "--file", str(cache), "--n", str(n)]
        if subprocess.run(prep, check=False).returncode != 0:
            raise SystemExit(f"preparing {shape} failed")
        if time.perf_counter() - t0 > 5:
            print(f"prepared {shape}: {time.perf_counter() - t0:.1f} s", flush=True)

    walls: dict[tuple, list[float]] = {}
    cpus: dict[tuple, list[float]] = {}
    peaks: dict[tuple, float] = {}
    answers: dict[tuple, dict | None] = {}
    failed: list[str] = []
    for rnd in range(args.repeat):
        for analysis in analyses:
            for shape in shapes:
                path = shape_file(cache, n, shape)
                runs = {
                    "ours": ours_argv(cli, analysis, shape, path, args.tz),
                    "chdb": [sys.executable, script, "--child", analysis, "--file", str(path),
                             "--shape", "file-int" if shape == "workspace" else shape,
                             "--tz", args.tz],
                }
                for who, argv_ in runs.items():
                    key = (analysis, shape, who)
                    wall, rss, out, status, cpu = run_measured(argv_)
                    if status != 0:
                        failed.append(f"{analysis} {shape} {who}: exit {status}")
                        continue
                    walls.setdefault(key, []).append(wall)
                    cpus.setdefault(key, []).append(cpu)
                    peaks[key] = max(peaks.get(key, 0.0), rss)
                    doc = json.loads(out)
                    answers[key] = (OURS if who == "ours" else EXPECTED)[analysis](doc)
                    print(f"round {rnd + 1}: {analysis:9s} {shape:13s} {who:4s} {wall:7.2f} s "
                          f"cpu {cpu:6.2f} s peak RSS {rss:6.0f} MB", flush=True)

    mismatch = []
    for analysis in analyses:
        for shape in shapes:
            a, b = answers.get((analysis, shape, "ours")), answers.get((analysis, shape, "chdb"))
            if a is None or b is None:
                continue
            for part in a:
                if a[part] != b[part]:
                    mismatch.append(f"{analysis} {shape} {part}: {_diff(a[part], b[part])}")
    for m in mismatch:
        print(f"!!! MISMATCH {m}", flush=True)
    for f in failed:
        print(f"!!! FAILED {f}", flush=True)

    def med(d: dict, key: tuple) -> float:
        return statistics.median(d[key]) if key in d else float("nan")

    label = f" ({args.label})" if args.label else ""
    lines = [
        f"# Retention, activity and churn{label}: {n:,} unsorted events, --tz {args.tz}",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end, median of {args.repeat} run(s). Whole processes: "
        "`funnelscope retention --period day --periods 7` / `activity` / `churn "
        "--inactivity-days 30 --period month` with `--format json` vs a Python process running "
        "the equivalent chdb query (see benchmarks/retention.py) on the same file.",
        "",
        "CPU = user+system seconds of the process and its threads (steadier than wall time on "
        "the shared machine).",
        "",
        "| analysis | input | ours s | chdb s | ours / chdb | ours CPU s | chdb CPU s | "
        "ours / chdb CPU | ours peak RSS MB | chdb peak RSS MB | same numbers |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for analysis in analyses:
        for shape in shapes:
            o, c = med(walls, (analysis, shape, "ours")), med(walls, (analysis, shape, "chdb"))
            oc, cc = med(cpus, (analysis, shape, "ours")), med(cpus, (analysis, shape, "chdb"))
            same = not any(m.startswith(f"{analysis} {shape} ") for m in mismatch) and \
                (analysis, shape, "ours") in answers and (analysis, shape, "chdb") in answers
            lines.append(
                f"| {analysis} | {shape} | {o:.2f} | {c:.2f} | {o / c:.2f} | {oc:.2f} | "
                f"{cc:.2f} | {oc / cc:.2f} | "
                f"{peaks.get((analysis, shape, 'ours'), float('nan')):.0f} | "
                f"{peaks.get((analysis, shape, 'chdb'), float('nan')):.0f} | "
                f"{'yes' if same else '**NO**'} |")
    table = "\n".join(lines)
    print("\n" + table)
    suffix = f"-{args.events}" + (f"-{args.label}" if args.label else "")
    out_path = Path(args.out or HERE / "results" / f"retention-{dt.date.today():%Y-%m-%d}{suffix}.md")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(table + "\n", encoding="utf-8")
    print(f"written {out_path}")
    return 1 if mismatch or failed else 0


if __name__ == "__main__":
    sys.exit(main())
