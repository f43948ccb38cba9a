"""Retention, activity and churn against ClickHouse (chdb) on a random event log.

The same Parquet file is read both ways: ours through ``fs.connect(events=..., tz=...)`` (the
fast DuckDB path: integer local days), ClickHouse with ``toDate(ts, tz)`` and its own
functions: ``retention()`` per user for the cohort triangle, ``uniqExact`` per local day,
per week (``toMonday``) and month for DAU / WAU / MAU, an ``ARRAY JOIN`` of each active day
onto the 7 / 30 window ends it covers for the trailing actives, and ``lagInFrame`` gaps for
the churn spells. Reporting zones with and without DST (New York's switches lie in the data).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import funnelscope as fs

chdb = pytest.importorskip("chdb")

EPOCH = dt.date(1970, 1, 1)
PERIODS = 6
INACTIVITY = 10


def _write_log(path, text_ids: bool, epoch_ms: bool, seed: int = 7) -> None:
    """~20k events of 600 users over Feb-Apr 2024 (New York's DST switch on 10 March)."""
    rng = np.random.default_rng(seed)
    n = 20_000
    users = rng.zipf(1.6, n) % 600
    t0 = int(dt.datetime(2024, 2, 1, tzinfo=dt.UTC).timestamp() * 1_000_000)
    ts = t0 + rng.integers(0, 70 * 86_400_000_000, n)
    # a few events right at local midnights, where a day boundary error would show
    ts[:200] = t0 + rng.integers(0, 70, 200) * 86_400_000_000 + rng.choice(
        [-1, 0, 4 * 3_600_000_000, 5 * 3_600_000_000, 16 * 3_600_000_000 - 1], 200)
    events = rng.choice(["view", "click", "pay"], n, p=[0.6, 0.3, 0.1])
    table = pa.table({
        "user_id": pa.array([f"u{u}" for u in users]) if text_ids else pa.array(users, pa.int64()),
        "event": pa.array(events),
        "ts": pa.array(ts // 1000, pa.int64()) if epoch_ms
        else pa.array(ts, pa.timestamp("us", tz="UTC")),
    })
    pq.write_table(table, path)


def _query(path, text_ids: bool, epoch_ms: bool, tz: str, sql: str) -> list[list[int]]:
    schema = (f"user_id {'String' if text_ids else 'Int64'}, event String, "
              f"ts {'Int64' if epoch_ms else 'DateTime64(6, ''UTC'')'}")
    ts = "fromUnixTimestamp64Milli(ts, 'UTC')" if epoch_ms else "ts"
    src = f"(SELECT user_id AS u, event, toInt32(toDate({ts}, '{tz}')) AS d FROM file('{path}', Parquet, '{schema}'))"
    out = chdb.query(sql.format(src=src), "CSV").data()
    return [[int(x) for x in line.split(",")] for line in out.strip().splitlines()]


def _iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=day)).isoformat()


CASES = [
    ("UTC", False, False),
    ("America/New_York", True, False),
    ("Asia/Shanghai", False, True),
    ("America/New_York", False, True),
]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    out = {}
    for text_ids in (False, True):
        for epoch_ms in (False, True):
            path = tmp_path_factory.mktemp("log") / "events.parquet"
            _write_log(path, text_ids, epoch_ms)
            out[(text_ids, epoch_ms)] = path
    return out


@pytest.mark.parametrize(("tz", "text_ids", "epoch_ms"), CASES)
def test_retention_equals_clickhouse_retention(logs, tz, text_ids, epoch_ms):
    path = logs[(text_ids, epoch_ms)]
    conds = ", ".join(f"d = c + {k}" for k in range(PERIODS + 1))
    sums = ", ".join(f"sum(r[{k + 1}])" for k in range(PERIODS + 1))
    rows = _query(path, text_ids, epoch_ms, tz, (
        f"SELECT c, count(), {sums} FROM (SELECT u, c, retention({conds}) AS r FROM {{src}} AS e "
        "JOIN (SELECT u, min(d) AS c FROM {src} GROUP BY u) AS f USING (u) GROUP BY u, c) "
        "GROUP BY c ORDER BY c"))
    last = _query(path, text_ids, epoch_ms, tz, "SELECT max(d) FROM {src}")[0][0]
    expected = {_iso(c): (size, [n if c + k <= last else None for k, n in enumerate(r)])
                for c, size, *r in rows}
    ws = fs.connect(events=str(path), tz=tz)
    ours = {c["cohort"]: (c["size"], c["retained"])
            for c in ws.retention(period="day", periods=PERIODS).to_dict()["cohorts"]}
    assert ours == expected


@pytest.mark.parametrize(("tz", "text_ids", "epoch_ms"), CASES)
def test_retention_of_named_events_by_week(logs, tz, text_ids, epoch_ms):
    """Cohorts of 'pay', returning with 'view', weeks from Monday; period 0 counts a view at or
    after the first pay; a cell is complete when its whole week lies within the data."""
    path = logs[(text_ids, epoch_ms)]
    schema = (f"user_id {'String' if text_ids else 'Int64'}, event String, "
              f"ts {'Int64' if epoch_ms else 'DateTime64(6, ''UTC'')'}")
    us = "ts * 1000" if epoch_ms else "toUnixTimestamp64Micro(ts)"
    ts = "fromUnixTimestamp64Milli(ts, 'UTC')" if epoch_ms else "ts"
    src = (f"(SELECT user_id AS u, event, {us} AS t, toInt32(toDate({ts}, '{tz}')) AS d, "
           f"toInt32(toMonday(toDate({ts}, '{tz}'))) AS w FROM file('{path}', Parquet, '{schema}'))")
    flags = ", ".join(f"max(v.w = p.c + {7 * k}{' AND v.t >= p.e' if k == 0 else ''}) AS r{k}"
                      for k in range(4))
    sql = (f"SELECT c, count(), {', '.join(f'sum(r{k})' for k in range(4))} FROM ("
           f"SELECT p.u, p.c, {flags} FROM (SELECT u, argMin(w, t) AS c, min(t) AS e FROM {src} "
           f"WHERE event = 'pay' GROUP BY u) AS p LEFT JOIN (SELECT u, w, t FROM {src} "
           "WHERE event = 'view') AS v USING (u) GROUP BY p.u, p.c) GROUP BY c ORDER BY c")
    rows = [[int(x) for x in line.split(",")]
            for line in chdb.query(sql, "CSV").data().strip().splitlines()]
    first, last = [int(x) for x in chdb.query(
        f"SELECT min(d), max(d) FROM {src}", "CSV").data().strip().split(",")]
    expected = {_iso(c): (size, [n if c + 7 * k >= first and c + 7 * k + 6 <= last else None
                                 for k, n in enumerate(r)]) for c, size, *r in rows}
    ws = fs.connect(events=str(path), tz=tz)
    res = ws.retention(start="pay", returning="view", period="week", periods=3).to_dict()
    assert {c["cohort"]: (c["size"], c["retained"]) for c in res["cohorts"]} == expected


@pytest.mark.parametrize(("tz", "text_ids", "epoch_ms"), CASES)
def test_activity_equals_clickhouse_uniqexact(logs, tz, text_ids, epoch_ms):
    path = logs[(text_ids, epoch_ms)]
    q = _query

    def by_key(rows):
        return {_iso(k): n for k, n in rows}

    dau = by_key(q(path, text_ids, epoch_ms, tz, "SELECT d, uniqExact(u) FROM {src} GROUP BY d"))
    first = min(_query(path, text_ids, epoch_ms, tz, "SELECT min(d) FROM {src}")[0])
    rolling = {}
    for w in (7, 30):
        rows = q(path, text_ids, epoch_ms, tz,
                 f"SELECT e, uniqExact(u) FROM (SELECT DISTINCT u, d FROM {{src}}) "
                 f"ARRAY JOIN range(d, d + {w}) AS e GROUP BY e")
        rolling[w] = {_iso(e): n for e, n in rows if e - (w - 1) >= first}
    weekly = by_key(q(path, text_ids, epoch_ms, tz,
                      "SELECT toInt32(toMonday(toDate(d))) AS x, uniqExact(u) FROM {src} GROUP BY x"))
    monthly = by_key(q(path, text_ids, epoch_ms, tz, "SELECT toInt32(toStartOfMonth(toDate(d))) "
                                                     "AS x, uniqExact(u) FROM {src} GROUP BY x"))
    res = fs.connect(events=str(path), tz=tz).activity().to_dict()
    daily = res["daily"]
    assert {r["day"]: r["dau"] for r in daily} == dau
    assert {r["day"]: r["wau_7d"] for r in daily if r["wau_7d"] is not None} == \
        {d: n for d, n in rolling[7].items() if d in dau}
    assert {r["day"]: r["mau_30d"] for r in daily if r["mau_30d"] is not None} == \
        {d: n for d, n in rolling[30].items() if d in dau}
    assert {r["week"]: r["wau"] for r in res["weekly"]} == weekly
    assert {r["month"]: r["mau"] for r in res["monthly"]} == monthly


@pytest.mark.parametrize(("tz", "text_ids", "epoch_ms"), CASES)
def test_churn_spells_equal_clickhouse(logs, tz, text_ids, epoch_ms):
    """Spells from ClickHouse's gaps between active days; new and churned per month and the
    first spells' (duration, outcome) counts follow from them as docs/metrics.md defines."""
    path = logs[(text_ids, epoch_ms)]
    w = "(PARTITION BY u ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    spells = _query(path, text_ids, epoch_ms, tz, (
        "SELECT start, last, spell = 0, count() FROM (SELECT u, spell, min(d) AS start, "
        f"max(d) AS last FROM (SELECT u, d, sum(new) OVER {w} - 1 AS spell FROM (SELECT u, d, "
        f"(d - lagInFrame(d, 1, -1000000) OVER {w}) > {INACTIVITY} AS new FROM (SELECT DISTINCT "
        "u, d FROM {src}))) GROUP BY u, spell) GROUP BY start, last, spell = 0"))
    end = max(s[1] for s in spells)

    def month(day):
        d = EPOCH + dt.timedelta(days=day)
        return d.replace(day=1).isoformat()

    new, churned, km = {}, {}, {}
    for start, last, is_first, n in spells:
        observed = last + INACTIVITY <= end
        new[month(start)] = new.get(month(start), 0) + n
        if observed:
            churned[month(last)] = churned.get(month(last), 0) + n
        if is_first:
            key = (float(last - start), int(observed))
            km[key] = km.get(key, 0) + n
    res = fs.connect(events=str(path), tz=tz).churn(
        inactivity_days=INACTIVITY, period="month").to_dict()
    assert {r["period"]: r["new"] for r in res["periods"] if r["new"]} == new
    complete = [r for r in res["periods"] if r["complete"]]
    assert complete
    assert {r["period"]: r["churned"] for r in complete} == \
        {r["period"]: churned.get(r["period"], 0) for r in complete}
    ours_km = {}
    for r in res["survival"]:
        if r["churned"]:
            ours_km[(r["day"], 1)] = r["churned"]
        if r["censored"]:
            ours_km[(r["day"], 0)] = r["censored"]
    assert ours_km == km
