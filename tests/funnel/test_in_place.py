"""Funnels on files analysed in place: the DuckDB SQL feed equals the oracle and a loaded workspace.

Files in place take their own route through ``duckdb_feed``: the view's unfiltered projection
with the row filter re-applied, integer ids as their own entity codes, and data bounds read
from file statistics with a confirming query. These tests hold that route to the plain-Python
oracle and to the loaded-workspace route.
"""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.sqlsafe import ident, literal

from .engine_case import engine_levels, events_frame, spec_args, workspace_with
from .oracle import funnel_levels
from .strategies import funnel_cases

pytestmark = pytest.mark.usefixtures("names_unchecked")

SETTINGS = settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def _in_place(events, path):
    frame = events_frame(events)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return fs.connect(events=str(path))


@pytest.mark.parametrize("mode", ["ordered", "strict", "any"])
def test_in_place_parquet_matches_oracle(mode, tmp_path_factory):
    @SETTINGS
    @given(funnel_cases(modes=(mode,)))
    def check(case):
        events, steps, window, mode_, exclude, first_time = case
        if not events:
            return
        ws = _in_place(events, tmp_path_factory.mktemp("f") / "events.parquet")
        fsteps, fexcl = spec_args(steps, exclude)
        result = ws.funnel(fsteps, window=f"{window}us", mode=mode_, exclude=fexcl,
                           first_time=first_time)
        expected = funnel_levels(events, steps, window, mode=mode_, exclude=exclude,
                                 first_time=first_time)
        assert engine_levels(result) == expected

    check()


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_in_place_equals_loaded_workspace_with_breakdown_and_filters(tmp_path, suffix):
    """Parquet keeps time statistics; a CSV has none, so the funnel reads the data bounds
    off its own feed of every analysed row (one pass): both equal the loaded workspace."""
    rows = []
    for i in range(300):
        u = f"u{i % 60}"
        rows.append({"event_id": f"e{i}", "user_id": u, "event": ["view", "cart", "pay", "other"][i % 4],
                     "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=7 * i),
                     "amount": (i * 37) % 200, "channel": ["ads", "seo", None][i % 3]})
    frame = pd.DataFrame(rows)
    path = tmp_path / f"ev.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    loaded = fs.connect()
    loaded.load(frame, "events")
    in_place = fs.connect(events=str(path))
    for kw in (dict(by="channel"), dict(mode="strict"), dict(exclude=["other"]),
               dict(count="totals", period="day"), dict(where={"amount": (">", 50)}),
               dict(mode="strict", exclude=["other"], by="channel"),
               dict(start="2024-01-01 06:00", end="2024-01-01 20:00", exclude=["other"])):
        steps = ["view", fs.step("cart", where={"amount": (">=", 10)}), "pay"]
        a = loaded.funnel(steps, "1d", **kw).to_dict()
        b = in_place.funnel(steps, "1d", **kw).to_dict()
        ma, mb = a.pop("meta"), b.pop("meta")
        assert a == b, kw
        assert (ma["data_start_us"], ma["data_end_us"]) == (mb["data_start_us"], mb["data_end_us"])


def test_padded_names_match_and_invalid_rows_do_not_set_the_data_end(tmp_path):
    """The in-place view trims names and drops rows without a name; the censoring end is the
    last *valid* event even when an invalid row holds the file's latest time."""
    path = tmp_path / "ev.csv"
    pd.DataFrame({
        "user_id": ["a", "a", "b", "c"],
        "event": [" view", "pay ", "view", "   "],
        "ts": ["2024-01-01 00:00:00", "2024-01-01 01:00:00", "2024-01-01 12:00:00",
               "2024-01-09 00:00:00"],
    }).to_csv(path, index=False)
    ws = fs.connect(events=str(path))
    assert not ws.in_place["events"].ts_statistics  # CSV: times are parsed, no statistics
    r = ws.funnel(["view", "pay"], "1d")
    assert [s["entities"] for s in r.records("steps")] == [2, 1]
    end = pd.Timestamp("2024-01-01 12:00:00", tz="UTC").value // 1000
    assert r.meta["data_end_us"] == end
    # b's window (12:00 + 1d) is still open at the last valid event: still converting
    assert r.records("steps")[0]["still_converting"] == 1
    first = pd.Timestamp("2024-01-01 00:00:00", tz="UTC").value // 1000
    assert r.meta["data_start_us"] == first


def test_data_bounds_fast_route_equals_a_full_aggregate(tmp_path):
    frame = pd.DataFrame({
        "user_id": [1, 2, 3, None, 5],
        "event": ["view", "view", "pay", "view", None],
        "ts": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-05", "2023-12-01",
                              "2024-02-01"], utc=True),
    })
    path = tmp_path / "ev.parquet"
    frame.to_parquet(path, index=False)
    ws = fs.connect(events=str(path))
    assert ws.in_place["events"].ts_statistics
    for kw in ({}, {"start": "2024-01-02"}, {"end": "2024-01-04"}):
        r = ws.funnel(["view", "pay"], "1d", **kw)
        lo, hi = ws.duckdb.execute(
            "SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM events WHERE user_id IS NOT NULL"
            + (" AND ts >= TIMESTAMPTZ '2024-01-02 00:00:00+00'" if "start" in kw else "")
            + (" AND ts < TIMESTAMPTZ '2024-01-04 00:00:00+00'" if "end" in kw else "")
        ).fetchone()
        assert (r.meta["data_start_us"], r.meta["data_end_us"]) == (lo, hi), kw


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.integers(-(2**70), 2**70),
                 st.floats(allow_nan=False), st.booleans(), st.none()))
def test_literal_round_trips_through_duckdb(value):
    import duckdb

    if isinstance(value, str) and "\x00" in value:
        with pytest.raises(ValueError):
            literal(value)
        return
    got = duckdb.connect().execute(f"SELECT {literal(value)}").fetchone()[0]
    if isinstance(value, float):
        assert float(got) == value
    else:
        assert got == value


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1).filter(lambda s: "\x00" not in s))
def test_identifier_round_trips_through_duckdb(name):
    import duckdb

    con = duckdb.connect()
    assert con.execute(f"SELECT 1 AS {ident(name)}").description[0][0] == name
    assert ident(name, "spark").startswith("`")


def test_hostile_names_and_values_stay_quoted(tmp_path):
    evil = "x'); DROP TABLE events; --"
    frame = pd.DataFrame({"user_id": ["a", "a"], "event": [evil, "pay"],
                          'we"ird': [evil, evil],
                          "ts": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:00"], utc=True)})
    path = tmp_path / "ev.parquet"
    frame.to_parquet(path, index=False)
    ws = fs.connect(events=str(path))
    r = ws.funnel([fs.step(evil, where={'we"ird': evil}), "pay"], "1d", by='we"ird')
    assert [s["entities"] for s in r.records("steps")] == [1, 1]
    assert r.records("groups")[0]["group"] == evil
    assert ws.has_table("events")


def test_a_loaded_workspace_still_runs_without_ibis_in_the_loop():
    ws = workspace_with([])
    assert ws.engine == "duckdb" and ws._backend is None  # Ibis not created for a funnel run


CONDITIONS = [
    ("amount", "=", 5), ("amount", "!=", 5), ("amount", ">", 5), ("amount", ">=", 5),
    ("amount", "<", 5), ("amount", "<=", 5), ("amount", "in", (1, 5, 9)),
    ("amount", "not in", (1, 5)), ("amount", "in", ()), ("amount", "not in", ()),
    ("price", ">", 2.5), ("price", "<=", 0.0), ("channel", "=", "广告"),
    ("channel", "!=", "seo"), ("channel", "in", ("seo", "it's")), ("channel", "contains", "o"),
    ("channel", "is null", None), ("channel", "is not null", None), ("vip", "=", True),
    ("amount", "contains", "1"),
]


@pytest.mark.parametrize("cond", CONDITIONS, ids=lambda c: f"{c[0]} {c[1]} {c[2]!r}")
def test_sql_conditions_equal_the_ibis_conditions(cond):
    """duckdb_feed.condition (SQL text) selects exactly the rows matching.condition (Ibis) does."""
    from funnelscope.analyses.funnel import duckdb_feed
    from funnelscope.analyses.funnel.matching import condition as ibis_condition

    ws = fs.connect()
    ws.duckdb.execute(
        "CREATE TABLE t AS SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 11 END AS amount, "
        "(i % 13) / 4.0 AS price, CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'seo' "
        "WHEN 2 THEN '广告' WHEN 3 THEN 'it''s' ELSE 'social' END AS channel, "
        "i % 3 = 0 AS vip FROM range(200) r(i)")
    source = duckdb_feed.Source("SELECT * FROM t", dict.fromkeys(("i", "amount", "price", "channel", "vip"), ""))
    sql_rows = {r[0] for r in ws.duckdb.execute(
        f"SELECT i FROM t WHERE {duckdb_feed.condition(source, (cond,), 'test')}").fetchall()}
    t = ws.backend.table("t")
    ibis_rows = set(t.filter(ibis_condition(t, (cond,), "test")).select("i").to_pyarrow()["i"].to_pylist())
    assert sql_rows == ibis_rows


def test_epoch_unit_reaches_files_in_place_from_python_and_the_cli(tmp_path, capsys):
    """Milliseconds of 1971 look like seconds by magnitude (< 1e11): ``epoch_unit="ms"`` must
    reach the in-place view from ``fs.connect`` and from ``--epoch-unit``, and give what a
    load with the same unit gives."""
    import json

    from funnelscope.cli.app import main

    base = 31_536_000_000  # 1971-01-01 in ms
    frame = pd.DataFrame({
        "user_id": [1, 1, 2, 2, 3],
        "event": ["view", "pay", "view", "pay", "view"],
        "ts": [base, base + 3_600_000, base, base + 3 * 86_400_000, base + 60_000],
    })
    path = tmp_path / "ms.parquet"
    frame.to_parquet(path, index=False)
    loaded = fs.connect()
    loaded.load(str(path), "events", epoch_unit="ms")
    expected = loaded.funnel(["view", "pay"], "1d").to_dict()
    expected.pop("meta")
    ours = fs.connect(events=str(path), epoch_unit="ms").funnel(["view", "pay"], "1d").to_dict()
    assert ours.pop("meta")["data_start_us"] == base * 1000
    assert ours == expected
    detected = fs.connect(events=str(path)).funnel(["view", "pay"], "1d")
    assert detected.meta["data_start_us"] == base * 1_000_000  # read as seconds: 2969
    def run(*argv: str) -> tuple[int, str, str]:
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("funnel", "--events", str(path), "--epoch-unit", "ms", "--steps",
                       "view,pay", "--window", "1d", "--format", "json")
    cli = json.loads(out)
    assert code == 0 and cli["meta"]["data_start_us"] == base * 1000
    assert [s["entities"] for s in cli["steps"]] == [s["entities"] for s in expected["steps"]]
    code, _, err = run("funnel", "--events", str(path), "--epoch-unit", "hours", "--steps",
                       "view,pay")
    assert code == 2 and "epoch" in err
