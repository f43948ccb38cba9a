"""The demo datasets: API, schema, determinism, invariants, and recovery of the ground truth.

Oracles are deliberately plain: pandas group-bys over the generated tables and the formula
``clip(base * product of multipliers)`` re-implemented here from the dict that
``ground_truth()`` returns. Statistical checks use large samples and a 4.5-sigma band.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelscope.data import demo
from funnelscope.errors import ConfigError, FunnelscopeError

START = pd.Timestamp("2026-01-01", tz="UTC")
END = START + pd.Timedelta(days=90)
TS = pa.timestamp("us", tz="UTC")
S = pa.string()
F = pa.float64()
CHANNELS = {"search", "wechat_qr", "share", "ads", "organic"}
Z = 4.5  # width of the statistical band, in standard errors

EXPECTED_TABLES = {
    "ecommerce": ["events", "customers", "orders", "spend", "exposures", "responses"],
    "saas": ["events", "customers", "spend"],
    "finance": ["events", "customers", "orders", "spend"],
    "b2b": ["deals", "customers", "spend"],
}
EVENT_COLUMNS = [("event_id", S), ("user_id", S), ("event", S), ("ts", TS)]
PROPERTY_COLUMNS = [("channel", S), ("platform", S), ("user_type", S)]
SCHEMAS = {
    ("ecommerce", "events"): EVENT_COLUMNS + PROPERTY_COLUMNS + [("amount", F), ("order_id", S)],
    ("finance", "events"): EVENT_COLUMNS + PROPERTY_COLUMNS
    + [("amount", F), ("order_id", S), ("product", S), ("risk_result", S)],
    ("saas", "events"): EVENT_COLUMNS + [("account_id", S)] + PROPERTY_COLUMNS
    + [("plan", S), ("amount", F)],
    ("ecommerce", "orders"): [("order_id", S), ("user_id", S), ("ts", TS), ("amount", F), ("currency", S)],
    ("finance", "orders"): [
        ("order_id", S), ("user_id", S), ("ts", TS), ("amount", F), ("currency", S), ("product", S),
    ],
    ("ecommerce", "exposures"): [("user_id", S), ("experiment", S), ("variant", S), ("ts", TS)],
    ("ecommerce", "responses"): [("response_id", S), ("user_id", S), ("ts", TS), ("survey", S),
                                 ("question", S), ("score", F), ("comment", S)],
    ("b2b", "deals"): [
        ("deal_id", S), ("stage", S), ("stage_entered_at", TS), ("amount", F), ("owner", S),
        ("team", S), ("product", S), ("segment", S), ("closed", S), ("account_id", S),
    ],
}
CUSTOMER_HEAD = [("user_id", S), ("first_seen", TS), ("channel", S), ("segment", S), ("city", S)]
SPEND = [("date", pa.date32()), ("channel", S), ("campaign", S), ("cost", F),
         ("impressions", F), ("clicks", F)]


# ----------------------------------------------------------------------------- helpers

def clip_probability(model: dict, step: str, cell: dict) -> float:
    """Plain-Python oracle of the conversion model in ground truth."""
    p = model["base"][step]
    for factor in model["factors"]:
        p *= model["multipliers"][factor][cell[factor]][step]
    return min(max(p, model["low"]), model["high"])


def first_occurrences(events: pd.DataFrame, steps: list[str], entity: str = "user_id") -> pd.DataFrame:
    """Per entity, the first time of each step event (NaT if never)."""
    sub = events[events["event"].isin(steps)]
    first = sub.groupby([entity, "event"])["ts"].min().unstack()
    return first.reindex(columns=steps)


def check_rate(hits: int, expected: float, variance: float, n: int, label: str) -> None:
    """|hits - expected| within Z standard errors (sum of Bernoulli variances)."""
    assert n > 200, f"{label}: too few observations ({n}) for a meaningful check"
    band = Z * math.sqrt(variance) + 1.0
    assert abs(hits - expected) <= band, (
        f"{label}: observed {hits / n:.4f}, truth {expected / n:.4f} (n={n})"
    )


def planted_multipliers(truth: dict, events: pd.DataFrame, exposures: pd.DataFrame) -> dict:
    """Per-user multipliers of the ecommerce demo's planted A/B test and outage, re-derived from
    ``ground_truth()`` alone (the exposures table only says who got the treatment):
    ``{step: Series of multipliers indexed by user_id}`` for the steps they change."""
    first_view = events[events["event"] == "view"].groupby("user_id")["ts"].min()
    platform = events.drop_duplicates("user_id").set_index("user_id")["platform"]
    exp, out = truth["experiment"], truth["anomaly"]
    treated = exposures.loc[exposures["variant"] == "treatment", "user_id"]
    pay = pd.Series(1.0, index=first_view.index)
    pay[pay.index.isin(treated)] = exp["treatment_effect"]["multiplier_of_checkout_to_pay"]
    local_day = first_view.dt.tz_convert(out["timezone"]).dt.strftime("%Y-%m-%d")
    hit = (local_day == out["day"]) & platform.reindex(first_view.index).isin(out["platforms"])
    checkout = pd.Series(1.0, index=first_view.index)
    checkout[hit] = out["multiplier_of_add_to_cart_to_checkout"]
    return {"pay": pay, "checkout": checkout}


def check_user_funnel(events, customers, model, steps, factors_from_customers, by_channel,
                      planted=None):
    """Empirical conversion-from-previous (first occurrences, censoring-safe) against the truth.

    An entity counts for step j when its first step-(j-1) event is at least the step's
    maximum delay before the window end, so its outcome is fully observed. ``planted``
    (``{step: multiplier per user}``) applies planted effects, as the generator does: the
    user's probability is min(clip(cell) * multiplier, 0.97); the by-channel check uses only
    unaffected users.
    """
    planted = planted or {}
    first = first_occurrences(events, steps)
    first = first.join(customers.set_index("user_id")[factors_from_customers])
    # the generator's order: a later step never appears without all earlier ones, in order
    for a, b in zip(steps, steps[1:], strict=False):
        has_b = first[b].notna()
        assert first.loc[has_b, a].notna().all(), f"{b} without {a}"
        assert (first.loc[has_b, a] < first.loc[has_b, b]).all(), f"{b} before first {a}"
    for j in range(1, len(steps)):
        prev, step = steps[j - 1], steps[j]
        latest = END - pd.Timedelta(seconds=model["delays"][step]["max_seconds"])
        at_prev = first[first[prev].notna() & (first[prev] <= latest)]
        cells = at_prev[model["factors"]].drop_duplicates()
        cells["p"] = [clip_probability(model, step, dict(zip(model["factors"], row, strict=True)))
                      for row in cells.itertuples(index=False)]
        p = at_prev.merge(cells, on=model["factors"], how="left")["p"].to_numpy()
        mult = (planted[step].reindex(at_prev.index).fillna(1.0).to_numpy() if step in planted
                else np.ones(len(p)))
        p = np.minimum(p * mult, 0.97)
        converted = at_prev[step].notna().to_numpy()
        check_rate(int(converted.sum()), p.sum(), (p * (1 - p)).sum(), len(p), f"{step} overall")
        for channel, group in at_prev[mult == 1.0].groupby("channel"):
            hits = int(group[step].notna().sum())
            n = len(group)
            truth = by_channel[channel][step]
            check_rate(hits, truth * n, n * truth * (1 - truth), n, f"{step} via {channel}")


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def small():
    return {name: demo.generate(name, users=3_000, seed=11) for name in demo.DATASETS}


@pytest.fixture(scope="module")
def ecommerce_big():
    tables = demo.generate("ecommerce", users=150_000, seed=5)
    return {k: t.to_pandas() for k, t in tables.items()}


# ----------------------------------------------------------------------------- API and schema

def test_datasets_and_table_names(small):
    assert demo.DATASETS == ("ecommerce", "saas", "finance", "b2b")
    for name in demo.DATASETS:
        assert list(small[name]) == EXPECTED_TABLES[name]
    assert set(demo.generate_all(users=200, seed=3)) == set(demo.DATASETS)


@pytest.mark.parametrize("dataset", demo.DATASETS)
def test_schemas_are_canonical(small, dataset):
    tables = small[dataset]
    for table_name, table in tables.items():
        key = (dataset, table_name)
        if key in SCHEMAS:
            assert list(zip(table.column_names, table.schema.types, strict=True)) == SCHEMAS[key]
        elif table_name == "customers":
            head = list(zip(table.column_names, table.schema.types, strict=False))[: len(CUSTOMER_HEAD)]
            assert head == CUSTOMER_HEAD
        elif table_name == "spend":
            assert list(zip(table.column_names, table.schema.types, strict=True)) == SPEND
        else:  # pragma: no cover
            pytest.fail(f"unexpected table {key}")
        for column in ("event_id", "user_id", "event", "ts", "deal_id", "stage", "order_id"):
            if column in table.column_names and not (table_name == "events" and column == "order_id"):
                assert table[column].null_count == 0, f"{key}.{column} has nulls"


def test_default_size_loads_fast_and_is_a_few_hundred_thousand_events():
    tables = demo.generate("ecommerce")
    assert tables["customers"].num_rows == 20_000
    assert 100_000 <= tables["events"].num_rows <= 400_000


def test_id_formats(small):
    ev = small["ecommerce"]["events"].to_pandas()
    assert ev["event_id"].str.fullmatch(r"ec-v?\d{9}").all()  # ec-v...: visit events
    assert (ev["event_id"].str.startswith("ec-v") == (ev["event"] == "visit")).all()
    assert ev["user_id"].str.fullmatch(r"u\d{6}").all()
    assert small["saas"]["events"].to_pandas()["event_id"].str.startswith("sa-").all()
    assert small["finance"]["events"].to_pandas()["event_id"].str.startswith("fi-").all()
    assert small["saas"]["events"].to_pandas()["account_id"].str.fullmatch(r"a\d{5}").all()


# ----------------------------------------------------------------------------- determinism

def _digest(tables: dict[str, pa.Table], tmp_path, tag: str) -> str:
    h = hashlib.sha256()
    for path in demo.export(tables, tmp_path / tag, fmt="csv"):
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("dataset", demo.DATASETS)
def test_same_seed_same_bytes_other_seed_differs(dataset, tmp_path):
    a = demo.generate(dataset, users=2_000, seed=9)
    b = demo.generate(dataset, users=2_000, seed=9)
    c = demo.generate(dataset, users=2_000, seed=10)
    for name in a:
        assert a[name].equals(b[name]), f"{dataset}.{name} differs between runs"
    assert _digest(a, tmp_path, "a") == _digest(b, tmp_path, "b")
    assert any(not a[name].equals(c[name]) for name in a)


def test_datasets_use_separate_streams():
    eco = demo.generate("ecommerce", users=500, seed=1)["customers"]
    fin = demo.generate("finance", users=500, seed=1)["customers"]
    assert eco["channel"].to_pylist() != fin["channel"].to_pylist()


# ----------------------------------------------------------------------------- invariants

@pytest.mark.parametrize("dataset", ["ecommerce", "saas", "finance"])
def test_event_invariants(small, dataset):
    tables = small[dataset]
    ev = tables["events"].to_pandas()
    assert ev["event_id"].is_unique
    assert ev["ts"].min() >= START and ev["ts"].max() < END
    assert not ev["ts"].is_monotonic_increasing, "events must not come sorted"
    assert not ev["event_id"].is_monotonic_increasing
    cust = tables["customers"].to_pandas()
    assert len(cust) == 3_000 and cust["user_id"].is_unique
    assert set(ev["user_id"]) == set(cust["user_id"]), "every customer has events and vice versa"
    first = ev.groupby("user_id")["ts"].min()
    pd.testing.assert_series_equal(
        first.reindex(cust["user_id"]), cust.set_index("user_id")["first_seen"], check_names=False
    )
    assert set(ev["channel"]) == CHANNELS
    assert set(ev["platform"]) <= {"ios", "android", "web", "miniprogram"}
    assert set(ev["user_type"]) == {"new", "returning"}
    # properties are per user: one channel / platform / user type each, except that a visit
    # event carries its own session's traffic source as channel
    other = ev[ev["event"] != "visit"]
    assert (other.groupby("user_id")[["channel", "platform", "user_type"]].nunique() == 1).all().all()
    visits = ev[ev["event"] == "visit"].sort_values("ts")
    if dataset == "ecommerce":
        first_visit = visits.groupby("user_id").first()
        acquired = cust.set_index("user_id")
        assert len(first_visit) == len(cust), "every user's first session is a visit"
        assert (first_visit["channel"] == acquired.loc[first_visit.index, "channel"]).all()
        assert (first_visit["ts"] == acquired.loc[first_visit.index, "first_seen"]).all()
        assert (visits.groupby("user_id")["channel"].nunique() > 1).mean() > 0.2, "multi-touch"
    assert set(cust["city"]) <= {"北京", "上海", "深圳", "广州", "杭州", "成都", "武汉", "南京"}


@pytest.mark.parametrize("dataset,pay_events", [
    ("ecommerce", {"pay", "repurchase"}),
    ("finance", {"first_investment", "repeat_investment"}),
])
def test_orders_match_their_events(small, dataset, pay_events):
    ev = small[dataset]["events"].to_pandas()
    orders = small[dataset]["orders"].to_pandas()
    assert orders["order_id"].is_unique
    assert (orders["amount"] > 0).all() and (orders["currency"] == "CNY").all()
    assert orders["ts"].min() >= START and orders["ts"].max() < END
    paid = ev[ev["event"].isin(pay_events)]
    assert paid["order_id"].notna().all() and paid["amount"].notna().all()
    others = ev[~ev["event"].isin(pay_events)]
    assert others["order_id"].isna().all() and others["amount"].isna().all()
    joined = paid.set_index("order_id")[["user_id", "ts", "amount"]].sort_index()
    expected = orders.set_index("order_id")[["user_id", "ts", "amount"]].sort_index()
    pd.testing.assert_frame_equal(joined, expected)


def test_saas_accounts(small):
    ev = small["saas"]["events"].to_pandas()
    cust = small["saas"]["customers"].to_pandas()
    sizes = cust.groupby("account_id").size()
    assert sizes.min() >= 1 and sizes.max() <= 20
    assert (cust.groupby("account_id")["account_size"].first() == sizes).all()
    assert (cust.groupby("account_id")[["channel", "segment", "city"]].nunique() == 1).all().all()
    user_account = cust.set_index("user_id")["account_id"]
    assert (ev["account_id"].to_numpy() == user_account.reindex(ev["user_id"]).to_numpy()).all()
    paid = ev[ev["event"].isin(["paid", "renew"])]
    assert paid["amount"].gt(0).all() and paid["plan"].notna().all()
    assert ev.loc[~ev["event"].isin(["paid", "renew"]), "plan"].isna().all()
    assert paid.groupby("account_id")["user_id"].nunique().max() == 1, "one payer per account"


def test_finance_risk_results(small):
    ev = small["finance"]["events"].to_pandas()
    checks = ev[ev["event"] == "risk_check"]
    assert set(checks["risk_result"]) == {"pass", "fail"}
    assert ev.loc[ev["event"] != "risk_check", "risk_result"].isna().all()
    investors = set(ev.loc[ev["event"] == "first_investment", "user_id"])
    assert (checks.loc[checks["user_id"].isin(investors), "risk_result"] == "pass").all()


@settings(max_examples=25, deadline=None)
@given(
    dataset=st.sampled_from(demo.DATASETS),
    users=st.integers(1, 400),
    seed=st.integers(0, 2**32),
    start=st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2040-12-31").date()),
    days=st.integers(1, 120),
)
def test_any_window_keeps_every_time_inside(dataset, users, seed, start, days):
    tables = demo.generate(dataset, users=users, seed=seed, start=start.isoformat(), days=days)
    lo = pd.Timestamp(start, tz="UTC")
    hi = lo + pd.Timedelta(days=days)
    if dataset == "b2b":
        lo = hi - pd.Timedelta(days=max(days, 365))
    time_columns = {"events": "ts", "orders": "ts", "customers": "first_seen", "deals": "stage_entered_at",
                    "responses": "ts"}
    for name, table in tables.items():
        if name in time_columns and table.num_rows:
            ts = table[time_columns[name]].to_pandas()
            assert ts.min() >= lo and ts.max() < hi, name
    spend_dates = tables["spend"]["date"].to_pandas()
    assert spend_dates.min() >= lo.date() and spend_dates.max() < hi.date()
    if dataset != "b2b":
        assert tables["customers"].num_rows == users
        assert len(set(tables["events"]["event_id"].to_pylist())) == tables["events"].num_rows


# ----------------------------------------------------------------------------- ground truth

def test_ground_truth_is_plain_data_and_a_fresh_copy():
    for name in demo.DATASETS:
        truth = demo.ground_truth(name)
        json.dumps(truth, ensure_ascii=False)
        assert truth["dataset"] == name
    truth = demo.ground_truth("ecommerce")
    truth["funnel"]["base"]["pay"] = 0.0
    assert demo.ground_truth("ecommerce")["funnel"]["base"]["pay"] == 0.7


def test_ecommerce_conversion_recovers_truth(ecommerce_big):
    truth = demo.ground_truth("ecommerce")
    planted = planted_multipliers(truth, ecommerce_big["events"], ecommerce_big["exposures"])
    assert (planted["checkout"] < 1).sum() > 300, "the outage hits enough users to check"
    check_user_funnel(
        ecommerce_big["events"], ecommerce_big["customers"], truth["funnel"], truth["steps"],
        ["channel", "platform", "user_type"], truth["expected_conversion_from_previous"]["by_channel"],
        planted=planted,
    )


def test_ecommerce_surveys_recover_truth(ecommerce_big):
    """Who answers, when, and the NPS category given (ordered again within 30 days, segment),
    the score given the category and CSAT given the category, re-derived from the tables;
    then ``satisfaction`` finds that detractors order again less than promoters."""
    truth = demo.ground_truth("ecommerce")["surveys"]
    resp, orders = ecommerce_big["responses"], ecommerce_big["orders"]
    segment = ecommerce_big["customers"].set_index("user_id")["segment"]
    assert resp["response_id"].is_unique and set(resp["survey"]) == {truth["survey"]}
    nps = resp[resp["question"] == "nps"].set_index("user_id")
    csat = resp[resp["question"] == "csat"].set_index("user_id")
    assert nps.index.is_unique and (nps["ts"] == csat["ts"].reindex(nps.index)).all()
    first = orders.groupby("user_id")["ts"].min()
    delay = nps["ts"] - first.reindex(nps.index)
    bounds = truth["answer_delay_after_first_order"]
    assert delay.min() >= pd.Timedelta(seconds=bounds["min_seconds"])
    assert delay.max() <= pd.Timedelta(seconds=bounds["max_seconds"])
    settled = first[first <= END - pd.Timedelta(seconds=bounds["max_seconds"])]
    n = len(settled)
    rate = truth["response_rate"]
    check_rate(int(settled.index.isin(nps.index).sum()), n * rate, n * rate * (1 - rate), n,
               "response rate")
    horizon = pd.Timedelta(days=truth["horizon_days"])
    joined = orders.merge(nps["ts"].rename("answer"), left_on="user_id", right_index=True)
    after = joined[(joined["ts"] > joined["answer"]) & (joined["ts"] <= joined["answer"] + horizon)]
    frame = pd.DataFrame({"score": nps["score"], "csat": csat["score"].reindex(nps.index),
                          "segment": segment.reindex(nps.index),
                          "again": nps.index.isin(after["user_id"])})
    frame["category"] = np.select([frame["score"] >= 9, frame["score"] >= 7],
                                  ["promoter", "passive"], "detractor")
    given = truth["nps_category_given_ordered_again_and_segment"]
    assert all(given["no_order_again"][seg]["detractor"] > given["ordered_again"][seg]["detractor"]
               for seg in given["ordered_again"]), "the story: detractors order again less"
    for (again, seg), cell in frame.groupby(["again", "segment"]):
        probs = given["ordered_again" if again else "no_order_again"][seg]
        m = len(cell)
        for cat in ("promoter", "detractor"):
            p = probs[cat]
            check_rate(int((cell["category"] == cat).sum()), m * p, m * p * (1 - p), m,
                       f"P({cat} | again={again}, {seg})")
    for cat, cell in frame.groupby("category"):
        m = len(cell)
        p = sum(v for k, v in truth["csat_given_category"][cat].items() if int(k) >= 4)
        check_rate(int((cell["csat"] >= 4).sum()), m * p, m * p * (1 - p), m, f"CSAT 4-5 | {cat}")
        top = max(truth["nps_score_given_category"][cat], key=int)
        p = truth["nps_score_given_category"][cat][top]
        check_rate(int((cell["score"] == int(top)).sum()), m * p, m * p * (1 - p), m,
                   f"score {top} | {cat}")

    import funnelscope as fs

    ws = fs.connect()
    ws.load(ecommerce_big["responses"], "responses")
    ws.load(ecommerce_big["orders"], "orders")
    result = ws.satisfaction(horizon=f"{truth['horizon_days']}d").to_dict()
    test = result["churn_test"][0]
    assert test["detractor_rate"] < test["promoter_rate"] and test["p_value"] < 1e-6
    ws.close()


def test_ecommerce_experiment_exposes_the_last_30_days_half_and_half(ecommerce_big):
    truth = demo.ground_truth("ecommerce")["experiment"]
    ev, exp = ecommerce_big["events"], ecommerce_big["exposures"]
    first_view = ev[ev["event"] == "view"].groupby("user_id")["ts"].min()
    cutoff = END - pd.Timedelta(days=30)
    assert set(exp["user_id"]) == set(first_view[first_view >= cutoff].index)
    assert exp["user_id"].is_unique and set(exp["experiment"]) == {truth["name"]}
    assert (exp.set_index("user_id")["ts"] == first_view.reindex(exp["user_id"])).all()
    n, treated = len(exp), int((exp["variant"] == "treatment").sum())
    check_rate(treated, n / 2, n / 4, n, "treatment share")
    assert set(exp["variant"]) == set(truth["variants"])


def test_ecommerce_differs_by_channel_platform_and_user_type():
    truth = demo.ground_truth("ecommerce")
    by_channel = truth["expected_conversion_from_previous"]["by_channel"]
    carts = [by_channel[c]["add_to_cart"] for c in sorted(CHANNELS)]
    assert max(carts) - min(carts) > 0.1
    m = truth["funnel"]["multipliers"]
    assert m["user_type"]["returning"]["repurchase"] > m["user_type"]["new"]["repurchase"]
    assert m["platform"]["ios"]["add_to_cart"] != m["platform"]["web"]["add_to_cart"]


def test_ecommerce_shapes(ecommerce_big):
    ev = ecommerce_big["events"]
    per_user = ev.groupby("user_id").size()
    assert per_user.mean() > 5
    views = ev[ev["event"] == "view"].groupby("user_id").size()
    assert (views > 1).mean() > 0.5, "repeated views"
    assert {"search", "view_item_list", "share"} <= set(ev["event"])
    # multiple sessions: many users have events more than a day apart
    times = ev.groupby("user_id")["ts"]
    span = times.max() - times.min()
    assert (span > pd.Timedelta(days=1)).mean() > 0.3
    # delays: view -> cart in minutes, pay -> repurchase in days
    first = first_occurrences(ev, ["view", "add_to_cart", "pay", "repurchase"])
    cart_delay = (first["add_to_cart"] - first["view"]).dropna().median()
    assert pd.Timedelta(minutes=1) < cart_delay < pd.Timedelta(hours=1)
    rep_delay = (first["repurchase"] - first["pay"]).dropna()
    assert rep_delay.max() <= pd.Timedelta(days=30) and rep_delay.median() > pd.Timedelta(days=3)
    amounts = ecommerce_big["orders"]["amount"]
    assert amounts.min() >= 1.0 and amounts.median() > 50


def test_finance_conversion_recovers_truth():
    tables = demo.generate("finance", users=150_000, seed=6)
    truth = demo.ground_truth("finance")
    check_user_funnel(
        tables["events"].to_pandas(), tables["customers"].to_pandas(), truth["funnel"], truth["steps"],
        ["channel", "platform", "user_type", "segment"],
        truth["expected_conversion_from_previous"]["by_channel"],
    )


def test_saas_user_and_account_conversion_recover_truth():
    tables = demo.generate("saas", users=120_000, seed=8)
    truth = demo.ground_truth("saas")
    ev = tables["events"].to_pandas()
    cust = tables["customers"].to_pandas()
    by_channel = truth["expected_conversion_from_previous"]["by_channel"]
    check_user_funnel(ev, cust, truth["user_funnel"], ["visit", "signup", "activate"],
                      ["channel", "segment"], by_channel)
    model = truth["account_funnel"]
    first = first_occurrences(ev, ["activate", "paid", "renew"], entity="account_id")
    accounts = cust.groupby("account_id")[["channel", "segment"]].first()
    first = first.join(accounts)
    for prev, step in (("activate", "paid"), ("paid", "renew")):
        latest = END - pd.Timedelta(seconds=model["delays"][step]["max_seconds"])
        at_prev = first[first[prev].notna() & (first[prev] <= latest)]
        p = np.array([clip_probability(model, step, {"channel": c, "segment": s})
                      for c, s in zip(at_prev["channel"], at_prev["segment"], strict=True)])
        hits = int(at_prev[step].notna().sum())
        check_rate(hits, p.sum(), (p * (1 - p)).sum(), len(p), f"account {step}")
        assert (at_prev.loc[at_prev[step].notna(), step] > at_prev.loc[at_prev[step].notna(), prev]).all()
        if step == "paid":  # the exact by-channel expectation (mix of sizes and segments) holds too
            for channel, group in at_prev.groupby("channel"):
                n, truth_p = len(group), by_channel[channel]["paid"]
                check_rate(int(group["paid"].notna().sum()), truth_p * n, n * truth_p * (1 - truth_p),
                           n, f"account paid via {channel}")


@pytest.mark.parametrize("dataset,users", [("ecommerce", 60_000), ("saas", 60_000),
                                           ("finance", 60_000), ("b2b", 300_000)])
def test_spend_covers_every_channel_and_cac_matches_truth(dataset, users):
    tables = demo.generate(dataset, users=users, seed=4)
    spend = tables["spend"].to_pandas()
    cust = tables["customers"].to_pandas()
    truth = demo.ground_truth(dataset)["spend"]
    assert set(spend["channel"]) == CHANNELS
    assert (spend["cost"] >= 0).all()
    assert spend.groupby(["date", "channel", "campaign"]).size().max() == 1
    assert any(re.search(r"[\u4e00-\u9fff]", name) for name in spend["campaign"])
    new = cust if dataset == "b2b" else cust[cust["user_type"] == "new"]
    acquired = new.groupby("campaign").size()
    cost = spend.groupby("campaign")["cost"].sum()
    channel_of = spend.groupby("campaign")["channel"].first()
    for campaign, info in truth["campaigns"].items():
        assert channel_of[campaign] == info["channel"]
        if acquired.get(campaign, 0) >= 300:
            cac = cost[campaign] / acquired[campaign]
            assert cac == pytest.approx(info["cost_per_new_customer"], rel=0.08), campaign
    # spend follows acquisition day by day: zero cost exactly on days without new customers
    new_days = new.assign(date=new["first_seen"].dt.date).groupby(["date", "campaign"]).size()
    merged = spend.set_index(["date", "campaign"]).join(new_days.rename("new")).fillna({"new": 0})
    assert ((merged["cost"] == 0) == (merged["new"] == 0)).all()


def test_ecommerce_festival_campaign_runs_on_festival_days_only():
    spend = demo.generate("ecommerce", users=5_000, seed=2)["spend"].to_pandas()
    festival = spend[spend["campaign"] == "年货节大促"]
    assert set(festival["channel"]) == {"ads"}
    days = pd.to_datetime(festival["date"])
    assert days.min() == pd.Timestamp("2026-01-10") and days.max() == pd.Timestamp("2026-01-25")


# ----------------------------------------------------------------------------- b2b

@pytest.fixture(scope="module")
def pipeline():
    deals = demo.generate("b2b", users=300_000, seed=12)["deals"].to_pandas()
    return deals.sort_values(["deal_id", "stage_entered_at"], kind="stable").reset_index(drop=True)


def test_deal_history_invariants(pipeline):
    truth = demo.ground_truth("b2b")
    stages = truth["stages"]
    d = pipeline
    assert set(d["stage"]) <= set(stages)
    assert set(d["closed"]) == {"won", "lost", "open"}
    assert (d.groupby("deal_id")[["closed", "owner", "team", "amount", "account_id"]].nunique() == 1).all().all()
    first_rows = d.groupby("deal_id").head(1)
    assert (first_rows["stage"] == "target").all(), "every deal starts at target"
    assert d["stage_entered_at"].max() < END
    assert d["stage_entered_at"].min() < END - pd.Timedelta(days=330), "a year of history"
    index = d["stage"].map(stages.index)
    reached_paying = (index >= stages.index("paying")).groupby(d["deal_id"]).any()
    closed = d.groupby("deal_id")["closed"].first()
    assert ((closed == "won") == reached_paying).all()
    same_deal = d["deal_id"].eq(d["deal_id"].shift())
    step = (index - index.shift())[same_deal]
    assert (step >= 2).sum() > 10, "some deals skip stages"
    assert (step < 0).sum() > 10, "some deals go back to an earlier stage"
    assert (step != 0).all()
    shares = closed.value_counts(normalize=True)
    assert shares["lost"] > 0.5 and shares["won"] > 0.03
    last = d.groupby("deal_id")["stage_entered_at"].max()
    stalled = closed.eq("open") & (last < END - pd.Timedelta(days=120))
    assert stalled.sum() > 20, "some open deals stall for months"
    assert d.groupby("deal_id")["deal_id"].size().max() <= 12


def test_deal_transitions_recover_truth(pipeline):
    """Per stage entry (first pass, outcome fully observed), outcome shares match the truth."""
    truth = demo.ground_truth("b2b")
    stages = truth["stages"]
    d = pipeline.copy()
    d["s"] = d["stage"].map(stages.index)
    nxt = d.groupby("deal_id")["s"].shift(-1)
    back = (d["s"] < d.groupby("deal_id")["s"].shift()).astype(int)
    d["regressed"] = back.groupby(d["deal_id"]).cumsum() > 0
    d["outcome"] = np.select(
        [nxt == d["s"] + 1, nxt == d["s"] + 2, nxt < d["s"], nxt.isna() & (d["closed"] == "lost"),
         nxt.isna() & (d["closed"] == "open")],
        ["advance", "skip", "regress", "lost", "stall"], default="other",
    )
    max_wait = pd.Timedelta(seconds=max(v["max_seconds"] for v in truth["stage_duration"].values()))
    rows = d[(d["s"] < stages.index("paying")) & ~d["regressed"] & (d["stage_entered_at"] <= END - max_wait)]
    assert (rows["outcome"] != "other").all()
    for (stage, outcome), _ in pd.Series(0, index=pd.MultiIndex.from_product(
            [stages[:6], ["advance", "skip", "regress", "stall", "lost"]])).items():
        at = rows[rows["stage"] == stage]
        p = at["owner"].map(lambda o, s=stage, oc=outcome: truth["transitions"][o][s][oc]).to_numpy()
        hits = int((at["outcome"] == outcome).sum())
        check_rate(hits, p.sum(), (p * (1 - p)).sum(), len(p), f"{stage} -> {outcome}")


def test_owners_have_clearly_different_win_rates(pipeline):
    truth = demo.ground_truth("b2b")["expected_win_rate_by_owner"]
    best, worst = max(truth, key=truth.get), min(truth, key=truth.get)
    assert truth[best] > 3 * truth[worst]
    closed = pipeline.groupby("deal_id")[["owner", "closed"]].first()
    decided = closed[closed["closed"] != "open"]
    rate = decided["closed"].eq("won").groupby(decided["owner"]).mean()
    assert rate[best] > 2 * rate[worst]
    assert pd.Series(truth).rank().corr(rate.rank()) > 0.8


def test_b2b_customers_are_accounts():
    tables = demo.generate("b2b", users=20_000, seed=3)
    cust = tables["customers"].to_pandas()
    deals = tables["deals"].to_pandas()
    assert cust["user_id"].is_unique and (cust["user_id"] == cust["account_id"]).all()
    assert set(deals["account_id"]) == set(cust["account_id"])
    created = deals.groupby("account_id")["stage_entered_at"].min()
    pd.testing.assert_series_equal(
        created.reindex(cust["account_id"]), cust.set_index("account_id")["first_seen"], check_names=False
    )


# ----------------------------------------------------------------------------- export

@pytest.mark.parametrize("dataset", ["ecommerce", "b2b"])
def test_export_csv_round_trips(small, dataset, tmp_path):
    tables = small[dataset]
    paths = demo.export(tables, tmp_path / "out", fmt="csv")
    assert [p.name for p in paths] == [f"{name}.csv" for name in tables]
    for path, (name, table) in zip(paths, tables.items(), strict=True):
        back = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert list(back.columns) == table.column_names
        original = table.to_pandas()
        for field in table.schema:
            col = back[field.name]
            if pa.types.is_timestamp(field.type):
                assert col.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z").all()
                assert (pd.to_datetime(col, utc=True) == original[field.name]).all()
            elif field.name in ("city", "campaign", "channel", "event_id", "deal_id"):
                assert (col == original[field.name]).all(), f"{name}.{field.name}"
    assert "北京" in (tmp_path / "out" / "customers.csv").read_text(encoding="utf-8")


def test_export_parquet_round_trips(small, tmp_path):
    tables = small["saas"]
    paths = demo.export(tables, tmp_path, fmt="parquet")
    for path, table in zip(paths, tables.values(), strict=True):
        assert path.suffix == ".parquet"
        assert pq.read_table(path).equals(table)


def test_export_handles_null_and_odd_timestamps(tmp_path):
    table = pa.table({"ts": pa.array([0, None, -62_000_000_000_000_000], pa.timestamp("us", tz="UTC"))})
    [path] = demo.export({"t": table}, tmp_path, fmt="csv")
    lines = path.read_text().splitlines()
    assert lines[1].strip('"') == "1970-01-01T00:00:00.000000Z"
    assert lines[2] == ""
    assert lines[3].strip('"').endswith("Z")


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kwargs,needle", [
    ({"dataset": "retail"}, "unknown demo dataset"),
    ({"dataset": "saas", "users": 0}, "users=0"),
    ({"dataset": "saas", "users": True}, "users=True"),
    ({"dataset": "saas", "seed": -1}, "seed=-1"),
    ({"dataset": "saas", "start": "yesterday"}, "not an ISO-8601 date"),
    ({"dataset": "saas", "days": 0}, "days=0"),
])
def test_bad_arguments_raise_config_errors(kwargs, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)) as info:
        demo.generate(**kwargs)
    assert isinstance(info.value, FunnelscopeError) and info.value.hint


def test_unknown_format_and_ground_truth_name():
    with pytest.raises(ConfigError, match="unknown export format"):
        demo.export({}, "unused", fmt="xlsx")
    with pytest.raises(ConfigError, match="ecommerce, saas, finance, b2b"):
        demo.ground_truth("crm")


# ----------------------------------------------------------------------------- next steps

def _venv_or_skip():
    import sys
    from pathlib import Path

    if sys.prefix == sys.base_prefix or not (Path(sys.prefix) / "bin" / "funnelscope").is_file():
        pytest.skip("needs funnelscope installed in a virtual environment (make install)")
    return Path(sys.prefix)


def test_the_command_is_the_venv_script_unless_the_venv_is_active(monkeypatch, tmp_path):
    from pathlib import Path

    from funnelscope.cli.commands.demo import funnelscope_command

    venv = _venv_or_skip()
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert funnelscope_command(venv.parent) == f"{venv.name}/bin/funnelscope"  # .venv/bin/...
    assert funnelscope_command(tmp_path) == str(Path(venv, "bin", "funnelscope").absolute())
    monkeypatch.setenv("PATH", f"{venv / 'bin'}:/usr/bin:/bin")  # found on PATH as is
    assert funnelscope_command(venv.parent) == "funnelscope"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))  # `source .venv/bin/activate`
    assert funnelscope_command(venv.parent) == "funnelscope"
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path))  # another venv is active
    assert funnelscope_command(venv.parent) == f"{venv.name}/bin/funnelscope"


def test_split_day_of_the_next_steps():
    from datetime import date

    from funnelscope.cli.commands.demo import split_day

    assert split_day("2026-01-01", 90) == date(2026, 3, 1)  # README: rfm --as-of 2026-02-28
    assert split_day("2026-01-01", 30) == date(2026, 1, 21)  # the 1st would be the first day
    assert split_day("2026-01-01", 1) == date(2026, 1, 2)


def test_printed_next_steps_run_as_printed(tmp_path):
    """`make demo` from the project root, then every printed command, copied as is, exits 0
    in a shell where the virtual environment is not activated."""
    import os
    import shlex
    import subprocess

    from funnelscope.cli.commands.demo import next_steps

    venv = _venv_or_skip()
    root = venv.parent
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # a bare `funnelscope` would not be found
    workspace = tmp_path / "demo" / "funnelscope.duckdb"
    run = subprocess.run(
        [str(venv / "bin" / "funnelscope"), "demo", "--dataset", "all", "--users", "1500",
         "--workspace", str(workspace)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = run.stderr.split("Next steps (from this directory):\n", 1)[1].splitlines()
    commands = [line.strip() for line in printed if line.startswith("  ")]
    with pytest.MonkeyPatch.context() as mp:  # the same lines from the printing function
        mp.delenv("VIRTUAL_ENV", raising=False)
        mp.setenv("PATH", env["PATH"])
        assert commands == next_steps(workspace, cwd=root)
    assert len(commands) == 5 and all(c.startswith(f"{venv.name}/bin/funnelscope ") for c in commands)
    assert any("--by rfm_segment" in c for c in commands)
    for command in commands:
        done = subprocess.run(shlex.split(command), cwd=root, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        assert done.stdout.strip(), command
        if "--by rfm_segment" in command:  # after `rfm --save`, every user has a segment
            assert "No purchase" in done.stdout and "(none)" not in done.stdout
