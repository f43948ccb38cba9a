"""The value analyses on a workspace: engine aggregates, results, saved segments, breakdowns.

Oracles: plain-Python loops over the raw orders (per-day merge in the reporting time zone, RFM
measures, CAC per channel, quartile tiers), the pandas analyses of this package run on the raw
orders (same scores, same fitted parameters), and DuckDB vs PySpark giving identical tables.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.analyses import value
from funnelscope.analyses.value import sources
from funnelscope.analyses.value.segments import save_segments, saved_segments
from funnelscope.analyses.value.tiers import TIERS, quartile_tiers
from funnelscope.errors import InputError, SpecError, WorkspaceError


def _orders(ws_tables) -> pd.DataFrame:
    return ws_tables["orders"].to_pandas()


def order_days_by_hand(orders: pd.DataFrame, tz: str) -> dict:
    """(user, local day) -> [amount, count, first local time], by a plain loop."""
    zone = ZoneInfo(tz)
    out: dict = {}
    for user, ts, amount in zip(orders["user_id"], orders["ts"], orders["amount"], strict=True):
        local = pd.Timestamp(ts).to_pydatetime().astimezone(zone).replace(tzinfo=None)
        key = (str(user), local.date())
        if key not in out:
            out[key] = [0.0, 0, local]
        out[key][0] += float(amount)
        out[key][1] += 1
        out[key][2] = min(out[key][2], local)
    return out


def _as_dict(frame: pd.DataFrame) -> dict:
    return {(r.user_id, r.day.date()): [r.amount, r.orders, r.first_order_at.to_pydatetime()]
            for r in frame.itertuples(index=False)}


# ----- engine aggregates --------------------------------------------------------------------
@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_order_days_merge_orders_per_local_day(tz):
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "user_id": ["a", "a", "a", "b", "a"],
        "ts": pd.to_datetime(["2024-01-01 15:00", "2024-01-01 17:00", "2024-01-01 17:30",
                              "2024-01-03 00:00", "2024-03-10 06:30"], utc=True),
        "amount": [10.0, 20.0, 5.0, 7.0, 1.5],
    })
    ws = fs.connect(tz=tz)
    ws.load(orders, "orders")
    got = _as_dict(sources.order_days(ws))
    want = order_days_by_hand(orders, tz)
    assert got.keys() == want.keys()
    for key, (amount, count, first) in want.items():
        assert got[key][0] == pytest.approx(amount)
        assert got[key][1:] == [count, first]
    # Shanghai splits a's three orders over two local days; UTC keeps them on one.
    assert len(want) == (4 if tz == "Asia/Shanghai" else 3)


def test_order_days_on_demo_orders_in_china_time(ecommerce_tables):
    ws = fs.connect(tz="Asia/Shanghai")
    ws.load(ecommerce_tables["orders"], "orders")
    frame = sources.order_days(ws)
    got, want = _as_dict(frame), order_days_by_hand(_orders(ecommerce_tables), "Asia/Shanghai")
    assert got.keys() == want.keys()
    assert all(got[k][0] == pytest.approx(want[k][0]) and got[k][1:] == want[k][1:] for k in want)
    assert frame.attrs["currency"] == "CNY"


def test_mixed_currencies_are_refused():
    orders = pd.DataFrame({"order_id": ["1", "2"], "user_id": ["a", "b"],
                           "ts": ["2024-01-01", "2024-01-02"], "amount": [1.0, 2.0],
                           "currency": ["EUR", "USD"]})
    ws = fs.connect()
    ws.load(orders, "orders")
    with pytest.raises(InputError, match=r"mixes currencies \(EUR, USD\)"):
        value.rfm(ws)


# ----- RFM ----------------------------------------------------------------------------------
def test_rfm_measures_equal_a_plain_loop_and_scores_equal_the_pandas_path(ecommerce_ws,
                                                                          ecommerce_tables):
    result = value.rfm(ecommerce_ws, analysis_date="2026-03-15")
    customers = result.customers.set_index("user_id")
    day = date(2026, 3, 15)
    last, count, total = {}, defaultdict(int), defaultdict(float)
    for r in _orders(ecommerce_tables).itertuples(index=False):
        d = r.ts.to_pydatetime().date()  # workspace time zone is UTC
        if d > day:
            continue
        last[r.user_id] = max(last.get(r.user_id, d), d)
        count[r.user_id] += 1
        total[r.user_id] += r.amount
    assert sorted(customers.index) == sorted(last)
    for user, d in last.items():
        row = customers.loc[user]
        assert row["recency_days"] == (day - d).days
        assert row["frequency"] == count[user]
        assert row["monetary"] == pytest.approx(total[user])
    reference = value.rfm_segments(_orders(ecommerce_tables), analysis_date="2026-03-15",
                                   currency=None).customers
    for col in ("recency_score", "frequency_score", "monetary_score", "rfm_score"):
        assert (customers[col] == reference[col].reindex(customers.index)).all(), col
    assert (customers["rfm_segment"] == reference["segment"].reindex(customers.index)).all()
    assert result.segments["customers"].sum() == len(customers)
    assert result.meta["analysis_date"] == "2026-03-15"
    assert result.spec.analysis_date == "2026-03-15"


def test_rfm_defaults_to_the_latest_order_day(ecommerce_ws, ecommerce_tables):
    result = ecommerce_ws.rfm()
    latest = _orders(ecommerce_tables)["ts"].max().date().isoformat()
    assert result.meta["analysis_date"] == latest
    assert result.customers["recency_days"].min() == 0


# ----- CLV ----------------------------------------------------------------------------------
def test_clv_fits_the_same_models_as_the_pandas_path_in_the_reporting_time_zone(
        ecommerce_tables):
    ws = fs.connect(tz="Asia/Shanghai")
    ws.load(ecommerce_tables["orders"], "orders")
    result = value.clv(ws, calibration_end="2026-03-31", time_unit="weeks")
    s = value.customer_summary(_orders(ecommerce_tables), observation_end="2026-03-31",
                               time_unit="weeks", time_zone="Asia/Shanghai").customers
    model = value.BetaGeoModel("weeks").fit(s["frequency"], s["recency"], s["T"])
    spend = value.GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    got = result.models
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        want = model.log_likelihood_ if name == "log_likelihood" else model.params_[name]
        assert got["bgnbd"][name] == pytest.approx(want, rel=1e-9)
    for name in ("p", "q", "gamma"):
        assert got["gamma_gamma"][name] == pytest.approx(spend.params_[name], rel=1e-9)
    table = result.customers.set_index("user_id")
    assert sorted(table.index) == sorted(s.index.astype(str))
    assert (table["frequency"] == s["frequency"].reindex(table.index)).all()
    assert result.meta["horizon"] == pytest.approx(365.25 / 7)
    assert list(result.tables["tiers"]["tier"]) == list(TIERS)
    assert result.customers["clv"].is_monotonic_decreasing


def test_clv_holdout_counts_the_orders_after_calibration(ecommerce_ws, ecommerce_tables):
    result = value.clv(ecommerce_ws, calibration_end="2026-02-28", holdout_end="2026-03-31",
                       time_unit="days")
    days = order_days_by_hand(_orders(ecommerce_tables), "UTC")
    first = defaultdict(lambda: date.max)
    for user, d in days:
        first[user] = min(first[user], d)
    cal, end = date(2026, 2, 28), date(2026, 3, 31)
    actual = sum(1 for user, d in days if first[user] <= cal < d <= end)
    assert result.tables["holdout"]["actual_total"].sum() == actual
    assert result.meta["time_unit"] == "days"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 6), st.none()), min_size=1, max_size=40))
def test_quartile_tiers_equal_a_plain_loop(values):
    series = pd.Series([np.nan if v is None else float(v) for v in values])
    got = quartile_tiers(series).tolist()
    finite = [v for v in values if v is not None]
    for v, tier in zip(values, got, strict=True):
        if v is None:
            assert tier is None
            continue
        higher = sum(1 for w in finite if w > v)
        share = higher / len(finite)
        want = ("top 25%" if share < 0.25 else "25-50%" if share < 0.5 else
                "50-75%" if share < 0.75 else "bottom 25%")
        assert tier == want


# ----- acquisition --------------------------------------------------------------------------
def test_cac_per_channel_equals_a_plain_loop(ecommerce_ws, ecommerce_tables):
    result = value.acquisition(ecommerce_ws)
    spend = ecommerce_tables["spend"].to_pandas()
    customers = ecommerce_tables["customers"].to_pandas()
    orders = _orders(ecommerce_tables)
    start, end = min(spend["date"]), max(spend["date"])
    cost = defaultdict(float)
    for r in spend.itertuples(index=False):
        cost[r.channel] += r.cost
    first_order = {}
    for r in orders.itertuples(index=False):
        first_order[r.user_id] = min(first_order.get(r.user_id, r.ts), r.ts)
    new, paying = defaultdict(int), defaultdict(int)
    for r in customers.itertuples(index=False):
        acquired = min(r.first_seen, first_order.get(r.user_id, r.first_seen))
        if start <= acquired.date() <= end:
            new[r.channel] += 1
            paying[r.channel] += r.user_id in first_order and first_order[r.user_id].date() <= end
    table = result.cac.set_index("channel")
    assert set(table.index) >= set(spend["channel"])  # every channel with spend is there
    for channel in cost:
        assert table.loc[channel, "spend"] == pytest.approx(cost[channel])
        assert table.loc[channel, "new_customers"] == new[channel]
        assert table.loc[channel, "new_paying_customers"] == paying[channel]
        assert table.loc[channel, "cac"] == pytest.approx(cost[channel] / new[channel])
    assert (table["ltv_to_cac"] == table["ltv"] / table["cac"]).all()
    assert set(result.tables["payback"]["channel"]) == set(table.index)
    assert result.meta["start"] == start.isoformat() and result.meta["end"] == end.isoformat()


def test_cac_by_campaign_and_n_day_ltv(ecommerce_ws, ecommerce_tables):
    result = value.acquisition(ecommerce_ws, group_by="channel,campaign", ltv_days=30,
                               gross_margin=0.5)
    spend = ecommerce_tables["spend"].to_pandas()
    pairs = set(zip(spend["channel"], spend["campaign"], strict=True))
    got = set(zip(result.cac["channel"], result.cac["campaign"], strict=True))
    assert pairs <= got
    assert result.cac["spend"].sum() == pytest.approx(spend["cost"].sum())
    # 30-day LTV only counts customers observed for 30 full days
    as_of = pd.Timestamp(result.meta["as_of"])
    assert as_of == max(pd.Timestamp(spend["date"].max()),
                        _orders(ecommerce_tables)["ts"].max().tz_localize(None).normalize())
    assert (result.cac["ltv_customers"] <= result.cac["new_customers"]).all()
    assert "months_to_payback" not in result.cac.columns  # payback is per channel only


# ----- clusters and churn risk ----------------------------------------------------------------
def test_clusters_on_demo_data(ecommerce_ws):
    result = value.clusters(ecommerce_ws, k_max=5,
                            funnel_steps=["view", "add_to_cart", "checkout", "pay"])
    profiles, customers = result.profiles, result.customers
    assert 2 <= result.meta["k"] <= 5
    assert profiles["customers"].sum() == len(customers) == customers["user_id"].nunique()
    assert profiles["label"].is_unique
    labels = dict(zip(profiles["cluster"], profiles["label"], strict=True))
    assert (customers["cluster_label"] == customers["cluster"].map(labels)).all()
    # every buyer paid, so each reached the last funnel step
    assert (customers["funnel_depth"] == 4).all()
    assert {"recency_days", "frequency", "monetary", "channel"} <= set(customers.columns)


def test_clusters_without_orders_use_event_activity():
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(60)],
        "user_id": [f"u{i % 12}" for i in range(60)],
        "event": ["open"] * 60,
        "ts": pd.Timestamp("2024-01-01", tz="UTC")
        + pd.to_timedelta([(i % 12) * 3 + (i // 12) * (i % 3) for i in range(60)], unit="D"),
    })
    ws = fs.connect()
    ws.load(events, "events")
    result = value.clusters(ws, k=2)
    assert result.meta["population"] == "users with an event"
    assert len(result.customers) == 12
    assert set(result.customers.columns) >= {"active_days", "recency_days", "tenure_days"}


def test_churn_risk_on_demo_data(ecommerce_ws):
    result = value.churn_risk(ecommerce_ws, window_days=21)
    meta = result.meta
    assert meta["validation_cutoff"] == "2026-03-10" and meta["train_cutoff"] == "2026-02-17"
    assert meta["activity_features"]
    assert result.at_risk["churn_probability"].is_monotonic_decreasing
    assert result.at_risk["user_id"].is_unique
    assert set(result.at_risk["churn_risk"]) <= set(TIERS)
    assert 0 <= result.metrics["auc"] <= 1
    assert "events_last_30_days" in set(result.tables["feature_importance"]["feature"])
    assert result.to_dict()["metrics"]["customers"] == result.metrics["customers"]


def test_churn_risk_explains_a_too_short_history(ecommerce_ws):
    with pytest.raises(InputError, match="not enough order history"):
        value.churn_risk(ecommerce_ws, window_days=90)


@pytest.mark.parametrize("call, kwargs, message", [
    ("rfm", {"recency_bins": 1}, "2 or more bins"),
    ("rfm", {"binning": "deciles"}, "binning"),
    ("rfm", {"analysis_date": "not a day"}, "not a date"),
    ("clv", {"time_unit": "fortnight"}, "not a time unit"),
    ("clv", {"calibration_end": "2026-03-01", "holdout_end": "2026-02-01"}, "must be after"),
    ("clv", {"discount_rate": -2}, "above -1"),
    ("clv", {"profit_margin": 1.5}, "fraction"),
    ("acquisition", {"group_by": "campaign"}, "channel,campaign"),
    ("acquisition", {"start": "2026-03-01", "end": "2026-01-01"}, "before start"),
    ("clusters", {"features": ["height"]}, "unknown cluster feature"),
    ("clusters", {"features": ["funnel_depth"]}, "needs funnel_steps"),
    ("churn_risk", {"window_days": 0}, "window_days"),
])
def test_bad_settings_raise_spec_errors(ecommerce_ws, call, kwargs, message):
    with pytest.raises(SpecError, match=message):
        getattr(value, call)(ecommerce_ws, **kwargs)


@pytest.mark.parametrize("unit", ["week", "weeks", "day", "days", "month", "months"])
def test_time_unit_spellings(unit):
    spec = value.CLVSpec(time_unit=unit)
    assert spec.time_unit == unit if unit.endswith("s") else spec.time_unit == unit + "s"


def test_results_are_json_ready(ecommerce_ws):
    import json

    for result in (value.rfm(ecommerce_ws), value.clv(ecommerce_ws),
                   value.acquisition(ecommerce_ws)):
        data = json.loads(json.dumps(result.to_dict(), default=str, allow_nan=False))
        assert data["spec"] and data["meta"]["engine"] == "duckdb"


# ----- saved segments ----------------------------------------------------------------------
def _segments_ws(tz: str = "UTC"):
    return fs.connect(tz=tz)


def test_save_segments_replaces_only_its_columns():
    ws = _segments_ws()
    save_segments(ws, pd.DataFrame({"user_id": ["a", "b"], "rfm_segment": ["Lost", "Champions"],
                                    "rfm_score": [111, 555]}))
    save_segments(ws, pd.DataFrame({"user_id": ["b", "c"], "cluster": ["recent", "lapsed"]}))
    save_segments(ws, pd.DataFrame({"user_id": ["b"], "rfm_segment": ["At Risk"],
                                    "rfm_score": [255]}))
    table = saved_segments(ws).set_index("user_id").sort_index()
    # a lost its only values (rfm replaced without a) and is dropped; c keeps its cluster
    assert list(table.index) == ["b", "c"]
    assert table.loc["b", "rfm_segment"] == "At Risk" and table.loc["b", "rfm_score"] == 255
    assert table.loc["b", "cluster"] == "recent" and table.loc["c", "cluster"] == "lapsed"
    assert pd.isna(table.loc["c", "rfm_segment"])


def test_save_segments_is_atomic(monkeypatch):
    ws = _segments_ws()
    save_segments(ws, pd.DataFrame({"user_id": ["a"], "rfm_segment": ["Lost"]}))
    real = ws.backend.con

    class FailingCreate:
        def __getattr__(self, name):
            return getattr(real, name)

        def execute(self, sql, *args):
            if str(sql).startswith("CREATE OR REPLACE TABLE"):
                real.execute(sql, *args)  # the new table is written ... then the process fails
                raise RuntimeError("disk full")
            return real.execute(sql, *args)

    monkeypatch.setattr(ws.backend, "con", FailingCreate())
    with pytest.raises(RuntimeError, match="disk full"):
        save_segments(ws, pd.DataFrame({"user_id": ["a", "b"], "cluster": ["x", "y"]}))
    monkeypatch.undo()
    table = saved_segments(ws)
    assert list(table.columns) == ["user_id", "rfm_segment"] and list(table["user_id"]) == ["a"]


def test_save_segments_checks_its_input_and_the_workspace(tmp_path):
    ws = _segments_ws()
    with pytest.raises(InputError, match="twice"):
        save_segments(ws, pd.DataFrame({"user_id": ["a", "a"], "cluster": ["x", "y"]}))
    with pytest.raises(InputError, match="user_id column"):
        save_segments(ws, pd.DataFrame({"id": ["a"], "cluster": ["x"]}))
    path = tmp_path / "ro.duckdb"
    fs.connect(str(path)).backend.disconnect()
    ro = fs.connect(str(path), read_only=True)
    with pytest.raises(WorkspaceError, match="read-only"):
        save_segments(ro, pd.DataFrame({"user_id": ["a"], "cluster": ["x"]}))


def test_saved_segments_are_funnel_breakdowns(ecommerce_tables):
    from funnelscope.analyses.funnel import funnel

    ws = fs.connect()
    for name in ("orders", "events"):
        ws.load(ecommerce_tables[name], name)
    rfm = value.rfm(ws, save=True)
    clv = value.clv(ws, save=True)
    assert rfm.meta["saved_columns"] == ["rfm_segment", "rfm_score"]
    saved = saved_segments(ws).set_index("user_id")
    assert list(saved.columns) == ["rfm_segment", "rfm_score", "clv_tier"]
    customers = rfm.customers.set_index("user_id")
    assert (saved.loc[customers.index, "rfm_segment"] == customers["rfm_segment"]).all()
    assert (saved.drop(index=customers.index)["rfm_segment"] == "No purchase").all()  # no order
    tiers = clv.customers.set_index("user_id")["clv_tier"]
    assert (saved.loc[tiers.index, "clv_tier"] == tiers).all()

    groups = funnel(ws, ["view", "pay"], "30d", by="rfm_segment").groups.set_index("group")
    named = [g for g in groups.index if g not in ("(none)", "other", "No purchase")]
    sizes = customers["rfm_segment"].value_counts()
    assert named and set(named) <= set(sizes.index)
    for g in named:  # every buyer viewed first, so each segment enters the funnel whole
        assert groups.loc[g, "entities"] == sizes[g]
    by_tier = ws.funnel(["view", "pay"], "30d", by="clv_tier").groups
    assert set(by_tier["group"]) - {"(none)"} == set(TIERS)


@pytest.mark.spark
def test_same_results_on_duckdb_and_pyspark(make_workspace, ecommerce_tables):
    orders = ecommerce_tables["orders"]
    duck = make_workspace({"orders": orders})
    spark = make_workspace({"orders": orders}, backend="pyspark")
    pd.testing.assert_frame_equal(sources.order_days(spark), sources.order_days(duck))
    r_spark, r_duck = value.rfm(spark, save=True), value.rfm(duck, save=True)
    pd.testing.assert_frame_equal(r_spark.customers, r_duck.customers)
    extra = pd.DataFrame({"user_id": r_duck.customers["user_id"].iloc[:5], "cluster": "x"})
    for ws in (spark, duck):
        save_segments(ws, extra)
    a = saved_segments(spark).sort_values("user_id", ignore_index=True)
    b = saved_segments(duck).sort_values("user_id", ignore_index=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert list(b.columns) == ["user_id", "rfm_segment", "rfm_score", "cluster"]

