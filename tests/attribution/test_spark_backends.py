"""Attribution gives the same JSON on DuckDB and on PySpark (local[2]) for the same data.

One small shop (events with a channel, an amount on some conversions and an order_id on
others, plus an orders table) is loaded into a DuckDB and a Spark workspace once per module.
Every request runs on both and the JSON must be equal, floats to 12 significant digits
(aggregation order differs between engines), except what says which engine ran and how long
it took. DuckDB finds a touch's conversion with an ASOF join, Spark with a forward-looking
window (analyses/attribution/portable.py); equality alone could hide a bug shared by both
engines, so the headline numbers are also checked against a plain-Python reference written
here: per user, each touch goes to the first conversion at or after it within the lookback;
the touches after the last conversion form one journey ending in null.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.errors import FunnelscopeError
from tests.cross_backend import assert_same as _assert_same
from tests.cross_backend import duckdb_and_spark

pytestmark = pytest.mark.spark

T0 = pd.Timestamp("2026-01-05T00:00:00Z")
USERS = 80
LOOKBACK_H = 72
CHANNELS = ["ads", "email", "search", "social"]


def shop(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Users ``visit`` and ``browse`` from channels (some touches without a channel), on an
    hour grid so ties and lookback edges happen, and ``pay``: half the payments carry an
    amount, the others an order_id of the orders table."""
    rng = np.random.default_rng(seed)
    events, orders = [], []
    for u in range(USERS):
        user = f"u{u}"
        for _ in range(int(rng.integers(1, 9))):
            event = str(rng.choice(["visit", "visit", "browse", "pay"]))
            ts = T0 + pd.Timedelta(hours=int(rng.integers(0, 400)))
            channel = None if event == "pay" or rng.random() < 0.1 else str(rng.choice(CHANNELS))
            amount, order_id = None, None
            if event == "pay":
                if rng.random() < 0.5:
                    amount = float(rng.integers(5, 80))
                else:
                    order_id = f"o{len(orders)}"
                    orders.append((order_id, user, ts, float(rng.integers(5, 80)) + 0.25))
            events.append((user, event, ts, channel, amount, order_id))
    ev = pd.DataFrame(events, columns=["user_id", "event", "ts", "channel", "amount", "order_id"])
    ev["amount"] = ev["amount"].astype(object).where(ev["amount"].notna(), None)
    # (channel and order_id may read back as NaN, not None: the reference tests for str)
    ev.insert(0, "event_id", [f"e{i}" for i in range(len(ev))])
    od = pd.DataFrame(orders, columns=["order_id", "user_id", "ts", "amount"])
    return {"events": ev, "orders": od}


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return shop()


@pytest.fixture(scope="module")
def workspaces(spark_session, data):
    """{"duckdb": ws, "pyspark": ws} holding the same tables (one Spark database per module)."""
    yield from duckdb_and_spark(spark_session, data, prefix="fs_attr")


def assert_same(a, b, path: str = "") -> None:
    """The shared comparison, with abs_tol 1e-12 (credit shares near 0)."""
    _assert_same(a, b, path, abs_tol=1e-12)


def both(workspaces, call) -> dict:
    """The JSON of ``call(ws)`` on DuckDB, after checking Spark gives the same."""
    duck = call(workspaces["duckdb"]).to_dict()
    spark = call(workspaces["pyspark"]).to_dict()
    assert duck["meta"]["engine"] == "duckdb"
    assert spark["meta"]["engine"] == "pyspark"
    assert_same(duck, spark, "")
    return duck


# ----- the plain-Python reference ---------------------------------------------------------------
def reference(data, first: bool = False, touch: str | None = None) -> dict:
    """Journeys per user by a loop (no joins), then the first / last / linear credit per
    channel, conversions, null journeys and the conversions' values."""
    ev = data["events"]
    order_value = data["orders"].groupby("order_id").amount.sum().to_dict()
    per_user = defaultdict(list)
    for r in ev.itertuples(index=False):
        per_user[r.user_id].append(r)
    credit = {m: defaultdict(float) for m in ("first_touch", "last_touch", "linear")}
    value_credit = defaultdict(float)
    out = {"conversions": 0, "attributed": 0, "nulls": 0, "revenue": 0.0}
    for rows in per_user.values():
        convs = defaultdict(lambda: [0, 0.0])
        for r in rows:
            if r.event == "pay":
                amount = r.amount if r.amount is not None else order_value.get(r.order_id, 0.0)
                convs[r.ts][0] += 1
                convs[r.ts][1] += amount
        instants = sorted(convs)[:1] if first else sorted(convs)
        out["conversions"] += sum(convs[c][0] for c in instants)
        out["revenue"] += sum(convs[c][1] for c in instants)
        touches = sorted((r.ts, r.channel) for r in rows if isinstance(r.channel, str)
                         and r.event != "pay" and (touch is None or r.event == touch))
        journeys, trailing = defaultdict(list), []
        lookback = pd.Timedelta(hours=LOOKBACK_H)
        for ts, ch in touches:
            later = [c for c in instants if c >= ts]
            if later:
                if later[0] - ts <= lookback:
                    journeys[later[0]].append(ch)
            elif not (first and convs):
                trailing.append(ts)
        out["nulls"] += bool(trailing)
        for c, path in journeys.items():
            n, value = convs[c]
            out["attributed"] += n
            credit["first_touch"][path[0]] += n
            credit["last_touch"][path[-1]] += n
            for ch in path:
                credit["linear"][ch] += n / len(path)
                value_credit[ch] += value / len(path)
    out["credit"], out["linear_value"] = credit, value_credit
    return out


def check_reference(got, ref, revenue: bool) -> None:
    meta = got["meta"]
    assert meta["conversions"] == ref["conversions"]
    assert meta["attributed_conversions"] == ref["attributed"]
    assert meta["null_journeys"] == ref["nulls"]
    channels = {r["channel"]: r for r in got["channels"]}
    for model, per_channel in ref["credit"].items():
        for ch in set(channels) | set(per_channel):
            assert channels[ch][model] == pytest.approx(per_channel.get(ch, 0.0), rel=1e-9), (model, ch)
    models = {r["model"]: r for r in got["models"]}
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position", "markov"):
        assert models[model]["conversions"] == pytest.approx(ref["attributed"], rel=1e-9)
    if revenue:
        assert meta["revenue"] == pytest.approx(ref["revenue"], rel=1e-12)
        linear = {r["channel"]: r["linear"] for r in got["revenue"]}
        for ch in set(linear) | set(ref["linear_value"]):
            assert linear[ch] == pytest.approx(ref["linear_value"].get(ch, 0.0), rel=1e-9), ch


# ----- the requests ------------------------------------------------------------------------------
REQUESTS = {
    "conversions": dict(conversion_event="pay", lookback=f"{LOOKBACK_H}h", half_life="12h"),
    "revenue": dict(conversion_event="pay", lookback=f"{LOOKBACK_H}h", half_life="12h",
                    value="revenue"),
    "first conversion": dict(conversion_event="pay", lookback=f"{LOOKBACK_H}h",
                             half_life="1d", value="revenue", first_conversion=True),
    "touch event": dict(conversion_event="pay", touch_event="visit",
                        lookback=f"{LOOKBACK_H}h", half_life="6h"),
}


@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_all_six_models_agree_and_match_the_reference(workspaces, data, request_name):
    kwargs = REQUESTS[request_name]
    got = both(workspaces, lambda ws: ws.attribution(**kwargs))
    assert [r["model"] for r in got["models"]] == [
        "first_touch", "last_touch", "linear", "time_decay", "position", "markov"]
    assert got["meta"]["attributed_conversions"] > 0 and got["meta"]["null_journeys"] > 0
    ref = reference(data, first=kwargs.get("first_conversion", False),
                    touch=kwargs.get("touch_event"))
    check_reference(got, ref, revenue=kwargs.get("value") == "revenue")
    if kwargs.get("value") == "revenue":
        assert got["meta"]["value_source"] == "events.amount, else orders.amount by order_id"


@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_the_ibis_twin_equals_the_duckdb_sql(data, monkeypatch, request_name):
    """DuckDB runs SQL text (an ASOF join), Spark the Ibis relations of
    attribution/portable.py: the Ibis relations run on DuckDB too and give the SQL text's
    JSON (no Spark needed)."""
    from funnelscope.analyses.attribution import run as attribution_run

    ws = fs.connect()
    for name, frame in data.items():
        ws.load(frame, name)
    sql = ws.attribution(**REQUESTS[request_name]).to_dict()
    monkeypatch.setattr(attribution_run, "SQL_ON_DUCKDB", False)
    assert_same(sql, ws.attribution(**REQUESTS[request_name]).to_dict(), "")


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_attribution_errors_are_the_same(workspaces, engine):
    ws = workspaces[engine]
    with pytest.raises(FunnelscopeError, match="did you mean 'pay'"):
        ws.attribution(conversion_event="pya")
    with pytest.raises(FunnelscopeError, match="(?i)did you mean 'channel'"):
        ws.attribution(conversion_event="pay", channel_column="chanel")
