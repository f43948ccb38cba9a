"""``--metric NAME``: metrics of funnelscope.yml watched per day (or hour) with the same band.

Six weeks of orders in Asia/Shanghai from Monday 2026-01-05: 40 orders on weekdays and 25 on
weekends (± 1), amounts cycling 20, 30, 40, 50, 60, placed hourly from 09:00 local. Injected:
one order of 10,000 on Thursday 2026-02-12 (revenue up) and only 5 orders on Tuesday
2026-02-10 (orders down). Oracle: each day's revenue, count and mean are summed by hand in
plain Python, and the band recomputed with ``statistics.median`` (tests/monitor/synth.py).
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.definitions import UnknownDefinition
from funnelscope.errors import ConfigError
from tests.monitor import synth

TZ = "Asia/Shanghai"
START = date(2026, 1, 5)
DAYS = 42
BIG = date(2026, 2, 12)
FEW = date(2026, 2, 10)
YML = """metrics:
  revenue:
    table: orders
    measure: amount
    aggregation: sum
    dimension: month
  orders:
    table: orders
    aggregation: count
  big_order_value:
    table: orders
    measure: amount
    aggregation: mean
    where: {amount: [">", 45]}
"""


def orders() -> list[tuple[datetime, float]]:
    zone = ZoneInfo(TZ)
    out = []
    for i in range(DAYS):
        d = START + timedelta(days=i)
        n = (25 if d.weekday() >= 5 else 40) + i % 3 - 1
        if d == FEW:
            n = 5
        for j in range(n):
            t = datetime(d.year, d.month, d.day, 9, tzinfo=zone) + timedelta(minutes=20 * j)
            out.append((t, 20.0 + 10 * (j % 5)))
        if d == BIG:
            out.append((datetime(d.year, d.month, d.day, 12, 30, tzinfo=zone), 10_000.0))
    return out


def orders_frame(rows) -> pd.DataFrame:
    return pd.DataFrame([{"order_id": f"o{i}", "user_id": f"u{i % 50}", "ts": t.astimezone(UTC),
                          "amount": a} for i, (t, a) in enumerate(rows)])


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    zone = ZoneInfo(TZ)
    journeys = {f"v{i}": [("view", datetime(2026, 1, 5, 9, tzinfo=zone) + timedelta(days=i))]
                for i in range(DAYS)}
    return synth.workspace(tmp_path_factory.mktemp("metrics") / "w.duckdb", journeys, tz=TZ,
                           yml=YML, orders=orders_frame(orders()))


def watch(path, **kw):
    ws = fs.connect(str(path), read_only=True)
    try:
        return ws.watch(since="21d", **kw).to_dict()
    finally:
        ws.close()


def by_hand(rows, zone, keyof):
    """bucket -> list of amounts."""
    out: dict = {}
    for t, a in rows:
        out.setdefault(keyof(t.astimezone(zone).replace(tzinfo=None)), []).append(a)
    return out


def test_metric_anomalies_found_on_their_day(path):
    out = watch(path, metrics=["revenue", "orders"])
    assert [(a["metric"], a["date"], a["direction"]) for a in out["alerts"]] == [
        ("revenue", FEW.isoformat(), "down"), ("revenue", BIG.isoformat(), "up"),
        ("orders", FEW.isoformat(), "down")]
    assert all(a["top_segments"] == [] for a in out["alerts"])
    assert out["spec"]["steps"] == [] and out["spec"]["metrics"] == ["revenue", "orders"]
    assert {r["metric"] for r in out["series"]} == {"revenue", "orders"}  # metrics only
    assert all(r["entrants"] is None for r in out["series"])


def test_metric_band_equals_the_hand_computed_one(path):
    zone = ZoneInfo(TZ)
    daily = by_hand(orders(), zone, lambda t: t.date())
    where = {d: [a for a in v if a > 45] for d, v in daily.items()}
    last_order = max(t for t, _ in orders())
    truth = {"revenue": {d: sum(v) for d, v in daily.items()},
             "orders": {d: len(v) for d, v in daily.items()},
             "big_order_value": {d: statistics.mean(v) for d, v in where.items() if v}}
    out = watch(path, metrics=list(truth))
    kinds = {"revenue": "sum", "orders": "count", "big_order_value": "value"}
    rows = {d: len(v) for d, v in daily.items()}  # a sum's sampling error: rows summed
    checked = 0
    for row in out["series"]:
        d = date.fromisoformat(row["date"])
        values = truth[row["metric"]]
        assert row["observed"] == pytest.approx(values[d])
        over = datetime(d.year, d.month, d.day, tzinfo=zone) + timedelta(days=1) <= last_order
        ok = dict.fromkeys(values, True)  # every earlier day is over
        expect = synth.oracle_band(kinds[row["metric"]], d, values, ok, rows)
        assert (row["expected"], row["low"], row["high"]) == pytest.approx(expect)
        assert row["judged"] == over
        checked += 1
    assert checked == 3 * 21


def test_where_of_the_metric_is_applied(path):
    out = watch(path, metrics=["big_order_value"])
    big = next(a for a in out["alerts"] if a["date"] == BIG.isoformat())
    assert big["direction"] == "up" and big["metric"] == "big_order_value"
    assert all(r["observed"] is None or r["observed"] > 45 for r in out["series"])


def test_metric_per_hour(path):
    zone = ZoneInfo(TZ)
    out = watch(path, metrics=["revenue"], every="hour")
    hourly = by_hand(orders(), zone, lambda t: t.replace(minute=0))
    big = datetime(BIG.year, BIG.month, BIG.day, 12)
    alerts = {(a["date"], a["direction"]) for a in out["alerts"]}
    assert (synth.label(big, TZ), "up") in alerts
    for row in out["series"]:
        key = datetime.fromisoformat(row["date"]).replace(tzinfo=None)
        assert row["observed"] == pytest.approx(sum(hourly.get(key, [])))  # empty hour: 0


def test_funnel_and_metrics_together_and_unknown_names(path):
    ws = fs.connect(str(path), read_only=True)
    try:
        both = ws.watch(["view", "view"], window="1d", metrics="orders").to_dict()
        assert {r["metric"] for r in both["series"]} == {"entrants", "conversion:view #2", "orders"}
        with pytest.raises(UnknownDefinition, match="Did you mean 'revenue'"):
            ws.watch(metrics=["revenu"])
        with pytest.raises(ConfigError, match="--by"):
            ws.watch(metrics=["orders"], by="channel")
        with pytest.raises(ConfigError, match="at least two steps"):
            ws.watch()
    finally:
        ws.close()


def test_cli_and_api_watch_metrics(path, capsys):
    from fastapi.testclient import TestClient

    from funnelscope.cli.app import main
    from funnelscope.web import Settings, create_app

    expected = json.loads(json.dumps(watch(path, metrics=["revenue", "orders"])))
    expected["meta"].pop("seconds", None)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["watch", "--workspace", str(path), "--metric", "revenue", "--metric", "orders",
              "--since", "21d", "--format", "json"])
    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out) == expected
    with pytest.raises(SystemExit) as exited:
        main(["watch", "--workspace", str(path), "--metric", "revenu"])
    assert exited.value.code == 2
    with TestClient(create_app(Settings(workspace=path, time_limit=60))) as client:
        query = urlencode([("metric", "revenue"), ("metric", "orders"), ("since", "21d")])
        answer = client.get(f"/api/watch?{query}")
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected
        wrong = client.get("/api/watch?metric=revenu")
        assert wrong.status_code == 404  # an unknown name, as for --name
        assert "Did you mean 'revenue'" in wrong.json()["error"]["message"]
