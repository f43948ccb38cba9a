"""Fast epoch-µs expressions of files in place equal the TIMESTAMPTZ expressions they replace.

Files analysed in place get ``ts`` as BIGINT epoch µs in integer arithmetic (timeparse
``time_us_sql``) instead of ``epoch_us(timestamp_sql(...))``: naive local times through a
per-offset-range table of the zone, epochs through multiplications. The oracle is the
previous expression itself, run by DuckDB: ICU's ``timezone(tz, naive)`` for naive times
(DST gaps and overlaps included) and ``epoch_sql`` for epoch numbers (units, magnitude
detection, out-of-range NULLs). End to end, ``ws.funnel`` on the same events as files of every
time type equals the loaded workspace.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.data import timeparse as T

SETTINGS = settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "60")),
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Shanghai", "UTC"]
HOUR = 3_600_000_000


def us(text: str) -> int:
    """Epoch µs of a naive ISO text read as UTC (a naive time's own µs count)."""
    d = datetime.fromisoformat(text).replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


LO, HI = us("2018-06-01 00:00:00"), us("2026-06-01 00:00:00")
TABLES = {tz: T.offset_ranges(tz, LO, HI) for tz in ZONES}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    return c


def _compare_naive(con, tz: str, naive_us: list[int]) -> list[tuple]:
    """(n, new, ICU) for every n where the offset-table expression differs from ICU."""
    new = T.naive_us_sql("make_timestamp(n)", tz, TABLES[tz])
    con.execute("CREATE OR REPLACE TEMP TABLE fs_n (n BIGINT)")
    con.executemany("INSERT INTO fs_n VALUES (?)", [(n,) for n in naive_us])
    return con.execute(
        f"SELECT n, {new} AS new, epoch_us(timezone('{tz}', make_timestamp(n))) AS icu "  # noqa: S608
        "FROM fs_n WHERE new IS DISTINCT FROM icu").fetchall()


def test_offset_tables_are_built_and_match_icu_where_zones_change(con):
    for tz in ZONES:
        table = TABLES[tz]
        assert table is not None, tz
        ranges, end = table
        assert end == HI and ranges[0][0] == LO
        assert T.check_ranges(con, tz, table)
        # 8 years: two switches a year where there is DST, none in Shanghai and UTC
        assert len(ranges) == (1 if tz in ("Asia/Shanghai", "UTC") else 17), tz


@pytest.mark.parametrize("tz", ZONES)
def test_naive_times_equal_icu_around_every_switch(con, tz):
    """Every µs-level edge: before/at/after each switch, across each gap or overlap."""
    ranges, _ = TABLES[tz]
    points = []
    for start, _off in ranges:
        for delta in (-2 * HOUR, -HOUR - 1, -HOUR, -HOUR // 2, -HOUR // 4, -1, 0, 1, HOUR // 4,
                      HOUR // 2, HOUR - 1, HOUR, HOUR + 1, 2 * HOUR):
            points.append(start + delta)
    points += [LO - 1, LO, HI - 1, HI, us("1850-01-01 12:00:00"), us("2250-01-01 12:00:00")]
    assert _compare_naive(con, tz, points) == []


@SETTINGS
@given(data=st.data(), tz=st.sampled_from(ZONES))
def test_naive_times_equal_icu_hypothesis(con, data, tz):
    ranges, _ = TABLES[tz]
    near_switch = st.builds(lambda s, d: s + d, st.sampled_from([r[0] for r in ranges]),
                            st.integers(-3 * HOUR, 3 * HOUR))
    anywhere = st.integers(LO - 30 * 24 * HOUR, HI + 30 * 24 * HOUR)  # also beyond the table
    values = data.draw(st.lists(st.one_of(near_switch, anywhere), min_size=1, max_size=200))
    assert _compare_naive(con, tz, values) == []


def test_icu_rule_pinned_to_zoneinfo_fold():
    """The rule offset_ranges encodes: a gap reads with the offset before it (fold=0), an
    overlap with the offset after it (the later instant, fold=1)."""
    from zoneinfo import ZoneInfo

    def table_reading(tz: str, text: str) -> int:
        ranges, _ = TABLES[tz]
        n = us(text)
        return n - [off for start, off in ranges if start <= n][-1]

    def python(tz: str, text: str, fold: int) -> int:
        d = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz), fold=fold)
        return round(d.timestamp() * 1_000_000)

    assert table_reading("America/New_York", "2024-03-10 02:30:00") == \
        python("America/New_York", "2024-03-10 02:30:00", 0)
    assert table_reading("America/New_York", "2024-11-03 01:30:00") == \
        python("America/New_York", "2024-11-03 01:30:00", 1)
    assert table_reading("Australia/Lord_Howe", "2024-10-06 02:15:00") == \
        python("Australia/Lord_Howe", "2024-10-06 02:15:00", 0)
    assert table_reading("Australia/Lord_Howe", "2024-04-07 01:45:00") == \
        python("Australia/Lord_Howe", "2024-04-07 01:45:00", 1)


def test_unknown_zone_or_range_outside_the_table_falls_back_to_icu():
    assert T.offset_ranges("Not/A_Zone", LO, HI) is None
    assert T.offset_ranges("UTC", us("1700-01-01 00:00:00"), us("1800-01-01 00:00:00")) is None
    assert T.naive_us_sql("x", "UTC", None) == "epoch_us(timezone('UTC', x))"


# ----- epoch numbers -------------------------------------------------------------------------
EDGES = [0, 1, 999, 1000, 1001, 10**11 - 1, 10**11, 10**14 - 1, 10**14, 10**17 - 1, 10**17,
         25 * 10**10 - 1, 25 * 10**10, 25 * 10**13 - 1, 25 * 10**13,
         *range(25 * 10**16 - 40, 25 * 10**16 + 3), 2**31 - 1, 2**53 + 1,
         2**63 - 1, 2**63, 2**64 - 1, 10**20, 25 * 10**19, 10**25]
UNITS = [None, "s", "ms", "us", "ns"]


def _compare_epochs(con, source_type: str, unit: str | None, values: list[int]) -> list[tuple]:
    con.execute(f"CREATE OR REPLACE TEMP TABLE fs_e AS SELECT TRY_CAST(v AS {source_type}) AS x "  # noqa: S608
                "FROM (SELECT unnest(?::VARCHAR[]) AS v)", [[str(v) for v in values]])
    old = f"epoch_us({T.timestamp_sql('x', source_type, 'UTC', unit)})"
    new = T.time_us_sql("x", source_type, "UTC", unit)
    assert "timezone" not in new and "make_timestamp" not in new
    return con.execute(f"SELECT x, {new} AS new, {old} AS old FROM fs_e "  # noqa: S608
                       "WHERE new IS DISTINCT FROM old").fetchall()


@pytest.mark.parametrize("source_type", ["BIGINT", "INTEGER", "SMALLINT", "UINTEGER", "UBIGINT",
                                         "HUGEINT", "DOUBLE", "DECIMAL(20,3)"])
@pytest.mark.parametrize("unit", UNITS)
def test_epoch_edges_equal_epoch_sql(con, source_type, unit):
    values = EDGES + [-v for v in EDGES] + [-(2**63)]
    assert _compare_epochs(con, source_type, unit, values) == []


@SETTINGS
@given(unit=st.sampled_from(UNITS), source_type=st.sampled_from(["BIGINT", "HUGEINT", "DOUBLE"]),
       values=st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1),
                                 st.integers(-(10**18), 10**18),
                                 st.integers(-(10**12), 10**12)), min_size=1, max_size=100))
def test_epochs_equal_epoch_sql_hypothesis(con, unit, source_type, values):
    assert _compare_epochs(con, source_type, unit, values) == []


def test_integer_epochs_use_bigint_arithmetic_only():
    for unit in UNITS:
        sql = T.time_us_sql('"ts"', "BIGINT", "UTC", unit)
        assert "HUGEINT" not in sql and "DOUBLE" not in sql and "abs(" not in sql


# ----- end to end: every time type in place equals the loaded workspace ----------------------
JOURNEYS = {  # user -> [(event, naive local time in America/New_York)]
    1: [("view", "2024-03-09 23:00:00"), ("cart", "2024-03-10 01:59:59"),
        ("pay", "2024-03-10 03:10:00")],
    2: [("view", "2024-03-10 02:30:00"), ("cart", "2024-03-10 03:15:00"),  # 02:30 in the gap
        ("pay", "2024-03-11 03:16:00")],
    3: [("view", "2024-11-03 01:30:00"), ("cart", "2024-11-03 01:10:00"),  # overlap hour
        ("pay", "2024-11-03 01:50:00")],
    4: [("view", "2024-11-02 23:00:00"), ("cart", "2024-11-03 01:00:00"),
        ("pay", "2024-11-04 00:30:00")],
    5: [("view", "2024-06-01 12:00:00"), ("pay", "2024-06-01 12:00:01")],
    6: [("view", "2024-06-01 12:00:00"), ("cart", "2024-06-01 13:00:00"),
        ("pay", "2024-06-02 12:00:00")],
}


def _events(tz: str, orphan: bool = True):
    """The journeys as rows (user, event, naive local time, epoch µs of that local time in tz),
    with a row whose time is missing and one whose user is (dropped by every route)."""
    con = duckdb.connect()
    rows = []
    for user, steps in JOURNEYS.items():
        for event, local in steps:
            instant = con.execute(f"SELECT epoch_us(timezone('{tz}', TIMESTAMP '{local}'))"
                                  ).fetchone()[0]
            rows.append((user, event, us(local), instant))
    rows.append((7, "view", None, None))
    # the earliest time of the file on a row without a user: not an analysed event, so the
    # data bounds cannot be the file's own min
    if orphan:
        first = con.execute(f"SELECT epoch_us(timezone('{tz}', TIMESTAMP '2024-01-01 00:00:00'))"
                            ).fetchone()[0]
        rows.append((None, "view", us("2024-01-01 00:00:00"), first))
    return rows


def _write(path, kind: str, tz: str, orphan: bool = True) -> None:
    rows = _events(tz, orphan)
    users = pa.array([r[0] for r in rows], pa.int64())
    names = pa.array([r[1] for r in rows])
    naive = [r[2] for r in rows]
    instant = [r[3] for r in rows]
    if kind == "tstz":
        ts = pa.array(instant, pa.timestamp("us", tz="UTC"))
    elif kind == "naive":
        ts = pa.array(naive, pa.timestamp("us"))
    elif kind in ("s", "ms", "us", "ns"):
        div = {"s": 1_000_000, "ms": 1_000, "us": 1}.get(kind)
        ts = pa.array([None if v is None else (v // div if div else v * 1000) for v in instant],
                      pa.int64())
    table = pa.table({"user_id": users, "event": names,
                      "ts": ts if kind not in ("csv-z", "csv-local") else pa.array(
                          [None if v is None else
                           datetime.fromtimestamp((v if kind == "csv-z" else n) / 1e6, UTC)
                           .strftime("%Y-%m-%dT%H:%M:%S" + ("Z" if kind == "csv-z" else ""))
                           for v, n in zip(instant, naive, strict=True)])})
    if kind.startswith("csv"):
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)


KINDS = ["tstz", "naive", "s", "ms", "us", "ns", "csv-z", "csv-local"]
STEPS = ["view", "cart", "pay"]


def _result_json(ws, **kw):
    """(entities per step, the whole result as a dict: every table and the data bounds)."""
    result = ws.funnel(STEPS, window="1d", **kw)
    whole = result.to_dict()
    whole["meta"].pop("seconds", None)  # run time
    return [(r["step"], r["entities"]) for r in result.records("steps")], whole


@pytest.mark.parametrize("orphan", [True, False], ids=["first-row-unanalysed", "plain"])
@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Shanghai", "Australia/Lord_Howe"])
@pytest.mark.parametrize("kind", KINDS)
def test_funnel_in_place_equals_loaded_workspace_for_every_time_type(tmp_path, kind, tz, orphan):
    """Every table and the data bounds; the file's first time on an unanalysed row (no user)
    makes the bounds fall back from the edge rows to every row."""
    suffix = "csv" if kind.startswith("csv") else "parquet"
    path = tmp_path / f"events.{suffix}"
    _write(path, kind, tz, orphan)
    in_place = fs.connect(events=str(path), tz=tz)
    view = in_place.in_place["events"]
    assert (view.ts_us is None) == (kind in ("tstz", "csv-z"))
    if kind in ("naive", "csv-local"):  # the offset table, not ICU, for the data's range
        assert 'CASE WHEN epoch_us(CAST("ts" AS TIMESTAMP)) >=' in view.unfiltered
    loaded = fs.connect(tz=tz)
    loaded.load(str(path), "events", tz=tz)
    for kw in ({}, {"start": "2024-03-10", "end": "2024-11-03 01:20"}):
        ours, ours_records = _result_json(in_place, **kw)
        theirs, their_records = _result_json(loaded, **kw)
        assert ours == theirs, (kind, kw)
        assert ours_records == their_records
        assert ours_records["meta"]["data_end_us"] is not None
    assert ours[0][1] > 0
    # the fast column equals epoch_us(ts) of the view on every row, NULL included
    if view.ts_us is not None:
        diff = in_place.duckdb.execute(
            f"SELECT count(*) FROM ({view.unfiltered}) WHERE "  # noqa: S608
            f"{view.ts_us} IS DISTINCT FROM epoch_us(ts)").fetchone()[0]
        assert diff == 0
