"""Timestamp parsing at ingest, checked against Python's datetime / zoneinfo as the oracle.

Rules under test (docs/data-model.md, "Timestamps"): ISO-8601 with or without an offset,
``YYYY-MM-DD HH:MM:SS[.ffffff]``, dates, epoch s / ms / µs / ns (unit from magnitude or given);
naive times are read in the load's time zone (default: the workspace's), stored as UTC
microseconds; DST gaps and overlaps follow DuckDB/ICU, which the tests pin to zoneinfo's fold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest

import funnelscope as fs
from funnelscope.data.timeparse import timestamp_sql
from funnelscope.errors import ConfigError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(dt: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact integer arithmetic)."""
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def naive_in(text: str, tz: str, fold: int = 0) -> int:
    """Python's reading of wall-clock ``text`` in ``tz`` as epoch microseconds."""
    return micros(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz), fold=fold))


def parse(values: list[str], tz: str = "UTC", unit: str | None = None) -> list[int | None]:
    """Run the ingest timestamp expression over text values; epoch µs (None = unreadable)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (i INTEGER, x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    expr = timestamp_sql('"x"', "VARCHAR", tz, unit)
    return [r[0] for r in con.execute(f"SELECT epoch_us({expr}) FROM t ORDER BY i").fetchall()]


def loaded_ts(ws, table: str = "events") -> list[int]:
    col = "stage_entered_at" if table == "deals" else "ts"
    rows = ws.duckdb.execute(f"SELECT epoch_us({col}) FROM {table} ORDER BY _key").fetchall()
    return [r[0] for r in rows]


# ----- formats -------------------------------------------------------------------------------
FORMATS = [
    # (text, tz, python oracle in epoch µs)
    ("2024-03-05T10:20:30Z", "Asia/Shanghai", micros(datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC))),
    ("2024-03-05T10:20:30z", "UTC", micros(datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC))),
    ("2024-03-05T10:20:30+08:00", "America/New_York",
     micros(datetime.fromisoformat("2024-03-05T10:20:30+08:00"))),
    ("2024-03-05 10:20:30+0800", "UTC", micros(datetime.fromisoformat("2024-03-05T10:20:30+08:00"))),
    ("2024-03-05T10:20:30-05", "UTC", micros(datetime.fromisoformat("2024-03-05T10:20:30-05:00"))),
    ("2024-03-05T10:20:30.123456-05:30", "UTC",
     micros(datetime.fromisoformat("2024-03-05T10:20:30.123456-05:30"))),
    ("2024-03-05 10:20:30", "UTC", naive_in("2024-03-05 10:20:30", "UTC")),
    ("2024-03-05 10:20:30", "Asia/Shanghai", naive_in("2024-03-05 10:20:30", "Asia/Shanghai")),
    ("2024-03-05T10:20:30", "Asia/Shanghai", naive_in("2024-03-05 10:20:30", "Asia/Shanghai")),
    ("2024-03-05 10:20:30.000001", "UTC", naive_in("2024-03-05 10:20:30.000001", "UTC")),
    ("2024-03-05 10:20:30.123456", "Asia/Shanghai",
     naive_in("2024-03-05 10:20:30.123456", "Asia/Shanghai")),
    ("  2024-03-05 10:20:30  ", "UTC", naive_in("2024-03-05 10:20:30", "UTC")),
    ("2024-03-05", "Asia/Shanghai", naive_in("2024-03-05 00:00:00", "Asia/Shanghai")),
    ("2024-07-01 12:00:00", "America/New_York", naive_in("2024-07-01 12:00:00", "America/New_York")),
]


@pytest.mark.parametrize(("text", "tz", "expected"), FORMATS)
def test_documented_formats_give_the_instant_python_gives(text, tz, expected):
    assert parse([text], tz) == [expected]


def test_more_than_six_fraction_digits_are_truncated_to_microseconds():
    got = parse(["2024-03-05 10:20:30.123456789", "2024-03-05 10:20:30.9999999"])
    assert got == [naive_in("2024-03-05 10:20:30.123456", "UTC"),
                   naive_in("2024-03-05 10:20:30.999999", "UTC")]


@pytest.mark.parametrize("text", [
    "not a time", "2024-13-01 00:00:00", "2024-02-30", "05/03/2024 10:00", "10:20:30",
    "2024-03-05T25:00:00Z", "1e9", "--1", "12:00 2024-01-01", "1234567890123456789012345678901234",
])
def test_unreadable_text_gives_null(text):
    assert parse([text]) == [None]


# ----- epoch numbers --------------------------------------------------------------------------
T = datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC)
T_US = micros(T)


@pytest.mark.parametrize(("text", "expected"), [
    (str(T_US // 1_000_000), T_US // 1_000_000 * 1_000_000),  # seconds
    (str(T_US // 1_000), T_US // 1_000 * 1_000),  # milliseconds
    (str(T_US), T_US),  # microseconds
    (str(T_US * 1_000 + 789), T_US),  # nanoseconds: truncated to µs
    ("1709634030.5", 1709634030_500_000),  # fractional seconds
    ("1709634030123.456", 1709634030123_456),  # fractional milliseconds
    ("0", 0),
    ("-86400", -86_400_000_000),  # negative seconds: 1969-12-31
])
def test_epoch_unit_follows_from_magnitude(text, expected):
    assert parse([text]) == [expected]


def magnitude_rule(x: int) -> int:
    """The documented rule, in Python: |x| < 1e11 s, < 1e14 ms, < 1e17 µs, else ns."""
    if abs(x) < 10**11:
        return x * 1_000_000
    if abs(x) < 10**14:
        return x * 1_000
    if abs(x) < 10**17:
        return x
    return int(x / 1000) if x < 0 else x // 1000


@pytest.mark.parametrize("x", [
    10**11 - 1, 10**11, 10**14 - 1, 10**14, 10**17 - 1, 10**17, 2 * 10**18,
])
def test_epoch_magnitude_thresholds(x):
    assert parse([str(x)]) == [magnitude_rule(x)]


@pytest.mark.parametrize(("unit", "factor"), [("s", 1_000_000), ("ms", 1_000), ("us", 1)])
def test_epoch_unit_can_be_given(unit, factor):
    assert parse(["1709634030"], unit=unit) == [1709634030 * factor]
    assert parse(["1709634030123456789"], unit="ns") == [1709634030123456]


def test_epoch_too_far_out_is_unreadable():
    assert parse(["99999999999999999999"], unit="s") == [None]


def test_unknown_epoch_unit_is_refused():
    ws = fs.connect()
    with pytest.raises(ConfigError, match="epoch unit"):
        ws.load(pa.table({"user_id": ["u"], "event": ["e"], "ts": ["1"]}), epoch_unit="days")


def test_typed_epoch_columns_convert_exactly():
    """Parquet/Arrow integer and float epoch columns go through the same magnitude rule."""
    ws = fs.connect()
    ws.load(pa.table({
        "event_id": ["a", "b", "c", "d"], "user_id": ["u"] * 4, "event": ["e"] * 4,
        "ts": pa.array([T_US // 1_000_000, T_US // 1_000, T_US, T_US * 1000 + 999], pa.int64()),
    }))
    got = dict(ws.duckdb.execute("SELECT event_id, epoch_us(ts) FROM events").fetchall())
    assert got == {"a": T_US // 1_000_000 * 1_000_000, "b": T_US // 1000 * 1000, "c": T_US,
                   "d": T_US}
    ws.load(pa.table({"event_id": ["f"], "user_id": ["u"], "event": ["e"],
                      "ts": pa.array([1709634030.25], pa.float64())}))
    got = ws.duckdb.execute("SELECT epoch_us(ts) FROM events WHERE event_id = 'f'").fetchone()
    assert got == (1709634030_250_000,)


# ----- time zones: default, DST, Shanghai -------------------------------------------------------
def test_naive_times_default_to_the_workspace_time_zone(tmp_path):
    csv = tmp_path / "e.csv"
    csv.write_text("event_id,user_id,event,ts\na,u,view,2024-03-05 10:00:00\n", encoding="utf-8")
    ws = fs.connect(tmp_path / "w.duckdb", tz="Asia/Shanghai")
    ws.load(csv)
    assert loaded_ts(ws) == [naive_in("2024-03-05 10:00:00", "Asia/Shanghai")]

    # --tz for one load does not change the default of the next load
    csv2 = tmp_path / "e2.csv"
    csv2.write_text("event_id,user_id,event,ts\nb,u,view,2024-03-05 10:00:00\n", encoding="utf-8")
    ws.load(csv, tz="America/New_York")  # a duplicate by event_id: nothing new
    ws.load(csv2)
    got = dict(ws.duckdb.execute("SELECT event_id, epoch_us(ts) FROM events").fetchall())
    assert got["b"] == naive_in("2024-03-05 10:00:00", "Asia/Shanghai")


def test_workspace_time_zone_is_utc_unless_set(tmp_path):
    ws = fs.connect()
    assert ws.config.timezone == "UTC"
    ws.load(pa.table({"user_id": ["u"], "event": ["e"], "ts": ["2024-03-05 10:00:00"]}))
    assert loaded_ts(ws) == [naive_in("2024-03-05 10:00:00", "UTC")]


def test_offsets_win_over_the_load_time_zone():
    ws = fs.connect(tz="Asia/Shanghai")
    ws.load(pa.table({"event_id": ["z", "o"], "user_id": ["u", "u"], "event": ["e", "e"],
                      "ts": ["2024-03-05T10:00:00Z", "2024-03-05T10:00:00-05:00"]}),
            tz="America/New_York")
    got = dict(ws.duckdb.execute("SELECT event_id, epoch_us(ts) FROM events").fetchall())
    assert got == {"z": micros(datetime(2024, 3, 5, 10, tzinfo=UTC)),
                   "o": micros(datetime(2024, 3, 5, 15, tzinfo=UTC))}


def wall_times(day: str, start: str = "00:00", end: str = "04:00", step: int = 15) -> list[str]:
    t = datetime.fromisoformat(f"{day} {start}")
    stop = datetime.fromisoformat(f"{day} {end}")
    out = []
    while t <= stop:
        out.append(t.isoformat(sep=" "))
        t += timedelta(minutes=step)
    return out


def documented_dst_rule(text: str, tz: str) -> int:
    """docs/data-model.md: a time in a spring-forward gap is read with the offset in force
    before the change (zoneinfo fold=0); a time that occurs twice is the later occurrence
    (fold=1); any other time is unambiguous."""
    z = ZoneInfo(tz)
    wall = datetime.fromisoformat(text)
    first = wall.replace(tzinfo=z, fold=0)
    second = wall.replace(tzinfo=z, fold=1)
    exists = first.astimezone(UTC).astimezone(z).replace(tzinfo=None) == wall
    if not exists:
        return micros(first)
    return micros(second) if first.utcoffset() != second.utcoffset() else micros(first)


@pytest.mark.parametrize(("tz", "day"), [
    ("America/New_York", "2024-03-10"),  # 02:00 -> 03:00: 02:xx does not exist
    ("America/New_York", "2024-11-03"),  # 02:00 -> 01:00: 01:xx happens twice
    ("Europe/Berlin", "2024-03-31"),
    ("Europe/Berlin", "2024-10-27"),
])
def test_dst_gaps_and_overlaps_follow_the_documented_rule(tz, day):
    times = wall_times(day)
    assert parse(times, tz) == [documented_dst_rule(t, tz) for t in times]


def test_new_york_dst_examples_from_the_docs():
    got = parse(["2024-03-10 02:30:00", "2024-11-03 01:30:00"], "America/New_York")
    assert got == [
        micros(datetime(2024, 3, 10, 7, 30, tzinfo=UTC)),  # = 03:30 EDT
        micros(datetime(2024, 11, 3, 6, 30, tzinfo=UTC)),  # = 01:30 EST, the second 01:30
    ]


def test_dst_through_a_whole_load_and_back_to_wall_clock(tmp_path):
    """Load naive New York times across both 2024 changes; the stored instants and their
    wall-clock reading in the reporting zone match zoneinfo."""
    from funnelscope.engine.timezones import local_time

    times = wall_times("2024-03-10", "01:00", "04:00", 30) + wall_times("2024-11-03", "00:30",
                                                                         "02:30", 30)
    ws = fs.connect(tz="America/New_York")
    ws.load(pa.table({"event_id": [str(i) for i in range(len(times))],
                      "user_id": ["u"] * len(times), "event": ["e"] * len(times), "ts": times}))
    got = dict(ws.duckdb.execute("SELECT CAST(event_id AS INTEGER), epoch_us(ts) FROM events")
               .fetchall())
    assert [got[i] for i in range(len(times))] == [
        documented_dst_rule(t, "America/New_York") for t in times
    ]
    t = ws.events
    local = t.select(t.event_id, wall=local_time(ws, t.ts)).to_pyarrow().to_pylist()
    ny = ZoneInfo("America/New_York")
    for row in local:
        instant = EPOCH + timedelta(microseconds=got[int(row["event_id"])])
        assert row["wall"] == instant.astimezone(ny).replace(tzinfo=None)


def test_shanghai_round_trip_has_no_dst():
    times = [f"2024-{m:02d}-15 08:00:00" for m in range(1, 13)]
    assert parse(times, "Asia/Shanghai") == [naive_in(t, "UTC") - 8 * 3_600_000_000 for t in times]


# ----- microsecond precision -----------------------------------------------------------------
def test_microseconds_round_trip_from_text_parquet_and_arrow(tmp_path):
    import pyarrow.parquet as pq

    instants = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=k * 1_234_567_891 + 1)
                for k in range(50)]
    text = [t.strftime("%Y-%m-%d %H:%M:%S.%f") for t in instants]
    ids = [str(i) for i in range(50)]
    csv = tmp_path / "us.csv"
    csv.write_text("event_id,user_id,event,ts\n" + "".join(
        f"{i},u,e,{x}\n" for i, x in zip(ids, text, strict=True)), encoding="utf-8")
    pq.write_table(pa.table({"event_id": ids, "user_id": ["u"] * 50, "event": ["e"] * 50,
                             "ts": pa.array(instants, pa.timestamp("us", tz="UTC"))}),
                   tmp_path / "us.parquet")
    expected = [micros(t) for t in instants]
    for source in (csv, tmp_path / "us.parquet"):
        ws = fs.connect()
        ws.load(source)
        got = dict(ws.duckdb.execute("SELECT CAST(event_id AS INT), epoch_us(ts) FROM events")
                   .fetchall())
        assert [got[i] for i in range(50)] == expected
        back = ws.events.order_by("event_id").ts.to_pyarrow().to_pylist()
        assert sorted(back) == sorted(instants)


def test_naive_arrow_timestamps_are_wall_clock_in_the_load_time_zone():
    naive = [datetime(2024, 3, 5, 10, 0, 0, 7)]
    ws = fs.connect()
    ws.load(pa.table({"user_id": ["u"], "event": ["e"],
                      "ts": pa.array(naive, pa.timestamp("us"))}), tz="Asia/Shanghai")
    assert loaded_ts(ws) == [naive_in("2024-03-05 10:00:00.000007", "Asia/Shanghai")]


def test_pandas_nanosecond_timestamps_are_truncated_to_microseconds():
    import pandas as pd

    df = pd.DataFrame({"user_id": ["u"], "event": ["e"],
                       "ts": pd.to_datetime(["2024-03-05 10:20:30.123456789"], utc=True)})
    ws = fs.connect()
    ws.load(df)
    assert loaded_ts(ws) == [naive_in("2024-03-05 10:20:30.123456", "UTC")]
