"""Industry benchmark: your figures against plain pandas over the raw tables, on every surface.

A small hand-made workspace (UTC, so local days are UTC days) with clicks, signups, an
activation event, payments and orders over three months. Each of the user's figures is
recomputed below from the raw rows with pandas, following docs/metrics.md ("Benchmarks")
word for word; the CLI JSON and the API must give the same table.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses.benchmark.defaults import default_benchmarks
from funnelscope.analyses.benchmark.run import _better
from funnelscope.errors import ConfigError, SpecError

# (user, event, time)
EVENTS = [
    ("u1", "view", "2026-01-02 10:00"), ("u1", "click", "2026-01-02 10:01"),
    ("u1", "signup", "2026-01-02 10:05"), ("u1", "activate", "2026-01-04 09:00"),
    ("u1", "pay", "2026-01-05 12:00"), ("u1", "view", "2026-02-20 08:00"),
    ("u2", "view", "2026-01-03 11:00"), ("u2", "signup", "2026-01-03 11:10"),
    ("u2", "activate", "2026-01-20 11:00"),  # after the 7-day window
    ("u2", "view", "2026-01-25 09:00"), ("u2", "view", "2026-03-30 09:00"),
    ("u3", "view", "2026-01-10 09:00"), ("u3", "click", "2026-01-10 09:02"),
    ("u3", "view", "2026-02-05 09:00"), ("u3", "pay", "2026-02-05 09:30"),
    ("u3", "view", "2026-02-25 09:00"), ("u3", "view", "2026-03-15 09:00"),  # churns in March
    ("u1", "view", "2026-03-05 08:00"), ("u1", "view", "2026-03-28 08:00"),
    ("u1", "view", "2026-04-10 08:00"),  # a buyer still active after March
    ("u4", "view", "2026-01-15 14:00"), ("u4", "signup", "2026-01-15 14:05"),
    ("u4", "activate", "2026-01-16 14:00"), ("u4", "view", "2026-02-10 10:00"),
    ("u4", "view", "2026-03-01 10:00"), ("u4", "pay", "2026-03-01 10:05"),
    ("u5", "view", "2026-02-01 10:00"), ("u5", "view", "2026-02-03 10:00"),
    ("u6", "view", "2026-03-25 10:00"), ("u6", "signup", "2026-03-28 10:00"),
    ("u7", "view", "2026-01-05 10:00"), ("u7", "view", "2026-04-30 10:00"),
]
# (order_id, user, time, amount); u9 bought offline and has no event
ORDERS = [
    ("o1", "u1", "2026-01-05 12:00", 100.0), ("o2", "u1", "2026-02-20 08:30", 50.0),
    ("o3", "u3", "2026-02-05 09:30", 80.0), ("o4", "u4", "2026-03-01 10:05", 30.0),
    ("o5", "u4", "2026-03-10 10:05", 70.0), ("o6", "u4", "2026-04-02 10:05", 20.0),
    ("o7", "u9", "2026-02-11 10:00", 500.0),
]


def events_frame() -> pd.DataFrame:
    return pd.DataFrame(EVENTS, columns=["user_id", "event", "ts"])


def orders_frame() -> pd.DataFrame:
    return pd.DataFrame(ORDERS, columns=["order_id", "user_id", "ts", "amount"])


def make_workspace(path, orders: bool = True, events: pd.DataFrame | None = None) -> str:
    ws = fs.connect(str(path), tz="UTC")
    ws.config.timezone = "UTC"
    ws.load(events if events is not None else events_frame(), "events")
    if orders:
        ws.load(orders_frame(), "orders")
    ws.close()
    return str(path)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("bench") / "w.duckdb")


@pytest.fixture(scope="module")
def ws(workspace):
    w = fs.connect(workspace, read_only=True, tz="UTC")
    yield w
    w.close()


# ----- plain-pandas oracles -----------------------------------------------------------------
def users_with(event: str) -> set[str]:
    e = events_frame()
    return set(e.loc[e.event == event, "user_id"])


def oracle_churn(inactivity: int = 30, buyers: bool = True) -> tuple[int, int]:
    """Spells by inactivity, churned customers who started before each complete month / the
    customers at its start, summed over complete months with customers at their start.
    buyers: only users with an order, and only their activity from their first order on."""
    e = events_frame()
    e["ts"] = pd.to_datetime(e.ts)
    e["day"] = e.ts.dt.normalize()
    first, end = e.day.min(), e.day.max()
    if buyers:
        first_order = pd.to_datetime(orders_frame().groupby("user_id").ts.min())
        e = e[e.user_id.isin(first_order.index)]
        e = e[e.ts >= e.user_id.map(first_order)]
    spells = []  # (start day, last day, churned)
    for _, days in e.groupby("user_id").day:
        days = sorted(set(days))
        start = prev = days[0]
        for d in days[1:]:
            if (d - prev).days > inactivity:
                spells.append((start, prev))
                start = d
            prev = d
        spells.append((start, prev))
    spells = [(s, last, last + pd.Timedelta(days=inactivity) <= end) for s, last in spells]
    num = den = 0
    for month in pd.period_range(first, end, freq="M"):
        m0, m1 = month.start_time, month.end_time.normalize()
        if m0 < first or m1 > end or m1 + pd.Timedelta(days=inactivity) > end:
            continue  # not complete
        at_start = [s for s in spells if s[0] < m0 and not (s[2] and s[1] < m0)]
        if not at_start:
            continue
        den += len(at_start)
        num += sum(1 for s in at_start if s[2] and m0 <= s[1] <= m1)
    return num, den


def oracle_activation(days: int = 7) -> tuple[int, int]:
    """Users acquired by their first signup at least `days` days before the data end; of
    them, those who activated within days x 24 h."""
    e = events_frame()
    e["ts"] = pd.to_datetime(e.ts)
    end = e.ts.dt.normalize().max()
    signup = e[e.event == "signup"].groupby("user_id").ts.min()
    act = e[e.event == "activate"]
    eligible = [u for u, t in signup.items() if t.normalize() + pd.Timedelta(days=days) <= end]
    hit = [u for u in eligible
           if ((act.user_id == u) & (act.ts >= signup[u])
               & (act.ts - signup[u] <= pd.Timedelta(days=days))).any()]
    return len(hit), len(eligible)


def oracle() -> dict[str, float]:
    e, o = events_frame(), orders_frame()
    users = set(e.user_id)
    per_buyer = o.groupby("user_id").size()
    churned, at_start = oracle_churn()
    activated, eligible = oracle_activation()
    return {
        "click_rate": len(users_with("click")) / len(users),
        "registration_rate": len(users_with("signup")) / len(users),
        "trial_activation": activated / eligible,
        "paid_conversion": len(users & set(o.user_id)) / len(users),
        "repurchase_rate": (per_buyer >= 2).sum() / len(per_buyer),
        "monthly_churn": churned / at_start,
        "clv": o.amount.sum() / o.user_id.nunique(),
    }


def figures(result) -> dict[str, float | None]:
    return {r["metric"]: r["yours"] for r in result.to_dict()["comparison"]}


# ----- tests --------------------------------------------------------------------------------
def test_oracle_is_not_trivial():
    o = oracle()
    assert o["paid_conversion"] == 3 / 7  # u9 (orders only) is not an event user
    assert 0 < o["monthly_churn"] < 1 and 0 < o["trial_activation"] < 1
    assert oracle_churn() == (1, 2)  # buyers u1 and u3 at the start of March; u3 churns
    assert o["repurchase_rate"] == 2 / 4 and o["clv"] == 850 / 4


def test_your_figures_equal_plain_pandas(ws):
    result = ws.benchmark(industry="saas", activation_event="activate")
    got = figures(result)
    assert set(got) == set(METRIC_ORDER)
    assert got == pytest.approx(oracle())
    rows = {r["metric"]: r for r in result.to_dict()["comparison"]}
    assert (rows["monthly_churn"]["numerator"], rows["monthly_churn"]["denominator"]) == oracle_churn()
    assert (rows["trial_activation"]["numerator"], rows["trial_activation"]["denominator"]) == \
        oracle_activation()
    assert {m: r["note"] for m, r in rows.items() if r["note"]} == {
        "clv": "orders have no currency column: amounts taken as CNY"}
    assert rows["clv"]["unit"] == "CNY" and rows["paid_conversion"]["unit"] == "rate"


METRIC_ORDER = ["click_rate", "registration_rate", "trial_activation", "paid_conversion",
                "repurchase_rate", "monthly_churn", "clv"]


def test_cli_json_gives_the_same_numbers(workspace, ws, capsys):
    from funnelscope.cli.app import main

    capsys.readouterr()
    main(["benchmark", "--workspace", workspace, "--tz", "UTC", "--industry", "saas",
          "--activation-event", "activate", "--format", "json"])
    cli = json.loads(capsys.readouterr().out)
    python = ws.benchmark(industry="saas", activation_event="activate").to_dict()
    assert cli["comparison"] == python["comparison"]
    assert {r["metric"]: r["yours"] for r in cli["comparison"]} == pytest.approx(oracle())


def test_pay_event_counts_payers_by_event(ws):
    got = figures(ws.benchmark(industry="ecommerce", pay_event="pay"))
    e = events_frame()
    assert got["paid_conversion"] == len(users_with("pay")) / e.user_id.nunique()


def test_defaults_table():
    table = default_benchmarks()
    assert set(table) == {"ecommerce", "saas", "finance"}
    assert table["ecommerce"]["paid_conversion"] == 0.03 and "registration_rate" not in table["ecommerce"]
    assert table["saas"]["trial_activation"] == 0.50 and "trial_activation" not in table["finance"]
    assert [table[i]["clv"] for i in ("ecommerce", "saas", "finance")] == [1000, 5000, 3000]
    assert [table[i]["monthly_churn"] for i in ("ecommerce", "saas", "finance")] == [0.05, 0.02, 0.03]


def test_rows_follow_the_industry(ws):
    """Only metrics with a benchmark: ecommerce has no registration or trial activation."""
    got = [r["metric"] for r in ws.benchmark(industry="ecommerce").to_dict()["comparison"]]
    assert got == ["click_rate", "paid_conversion", "repurchase_rate", "monthly_churn", "clv"]


@pytest.mark.parametrize("yours,bench,higher,expected", [
    (0.10, 0.05, True, "above"), (0.02, 0.05, True, "below"), (0.051, 0.05, True, "on par"),
    (0.01, 0.05, False, "above"), (0.09, 0.05, False, "below"), (0.0490, 0.05, False, "on par"),
    (1200.0, 1000.0, True, "above"),
])
def test_gap_and_better(yours, bench, higher, expected):
    assert _better(yours - bench, bench, higher) == expected
    assert _better(None, bench, higher) is None


def test_gap_and_better_in_the_table(ws):
    rows = {r["metric"]: r for r in ws.benchmark(
        industry="ecommerce", benchmarks={"ecommerce": {"monthly_churn": 0.99}}).to_dict()["comparison"]}
    o = oracle()
    churn = rows["monthly_churn"]
    assert churn["gap"] == pytest.approx(o["monthly_churn"] - 0.99)
    assert churn["direction"] == "lower is better" and churn["better"] == "above"  # less churn
    clv = rows["clv"]
    assert clv["gap"] == pytest.approx(o["clv"] - 1000) and clv["better"] == "below"
    assert rows["paid_conversion"]["better"] == "above"  # 43 % vs 3 %


def test_yml_overrides_and_adds_an_industry(tmp_path, capsys):
    from funnelscope.cli.app import main

    path = make_workspace(tmp_path / "w.duckdb")
    (tmp_path / "funnelscope.yml").write_text(
        "timezone: UTC\n"
        "benchmarks:\n"
        "  ecommerce: {paid_conversion: 0.04, clv: null, registration_rate: 0.3}\n"
        "  myindustry:\n"
        "    repurchase_rate: 0.5\n"
        "    clv: 90\n"
        "    currency: USD\n", encoding="utf-8")
    ws = fs.connect(path, read_only=True)
    rows = {r["metric"]: r for r in ws.benchmark(industry="ecommerce").to_dict()["comparison"]}
    assert rows["paid_conversion"]["benchmark"] == 0.04
    assert rows["paid_conversion"]["source"] == "funnelscope.yml"
    assert rows["repurchase_rate"]["benchmark"] == 0.30 and rows["repurchase_rate"]["source"] == "default"
    assert "clv" not in rows and rows["registration_rate"]["benchmark"] == 0.3
    mine = ws.benchmark(industry="myindustry").to_dict()
    assert [r["metric"] for r in mine["comparison"]] == ["repurchase_rate", "clv"]
    clv = mine["comparison"][1]
    assert clv["unit"] == "USD" and clv["yours"] == pytest.approx(oracle()["clv"])
    assert mine["meta"]["industries"] == ["ecommerce", "saas", "finance", "myindustry"]
    capsys.readouterr()
    main(["benchmark", "--workspace", path, "--industry", "myindustry", "--format", "json"])
    assert json.loads(capsys.readouterr().out)["comparison"] == mine["comparison"]
    ws.close()


@pytest.mark.parametrize("text,where,message", [
    ("benchmarks:\n  ecommerce:\n    paid_convresion: 0.04\n", ":3:5",
     "unknown benchmark metric 'paid_convresion'. Did you mean 'paid_conversion'"),
    ("benchmarks:\n  ecommerce:\n    paid_conversion: 4\n", ":3:22", "between 0 and 1"),
    ("benchmarks:\n  shop:\n    clv: lots\n", ":3:10", "must be a number"),
    ("benchmarks:\n  shop: 0.3\n", ":2:", "must be a mapping"),
])
def test_yml_errors_name_file_and_line(text, where, message):
    from funnelscope.definitions import DefinitionsError, parse

    with pytest.raises(DefinitionsError) as raised:
        parse(text, "funnelscope.yml")
    assert f"funnelscope.yml{where}" in str(raised.value) and message in str(raised.value)


def test_unknown_industry_lists_industries(ws):
    with pytest.raises(ConfigError) as raised:
        ws.benchmark(industry="ecomerce")
    text = str(raised.value) + " " + (raised.value.hint or "")
    assert "Did you mean 'ecommerce'" in text and "ecommerce, saas, finance" in text


def test_not_measurable_rows_say_why(tmp_path):
    events = events_frame()
    events = events[~events.event.isin(["click", "signup"])]
    path = make_workspace(tmp_path / "w.duckdb", orders=False, events=events)
    ws = fs.connect(path, read_only=True, tz="UTC")
    rows = {r["metric"]: r for r in ws.benchmark(industry="saas").to_dict()["comparison"]}
    for metric, reason in [("click_rate", "no 'click' event"),
                           ("registration_rate", "no 'signup' event"),
                           ("trial_activation", "--activation-event"),
                           ("paid_conversion", "no orders table"),
                           ("repurchase_rate", "no orders table"), ("clv", "no orders table")]:
        row = rows[metric]
        assert row["yours"] is None and row["gap"] is None and row["better"] is None, metric
        assert row["note"].startswith("not measurable here: ") and reason in row["note"], metric
    assert rows["monthly_churn"]["yours"] is not None  # events alone give churn
    # a name given explicitly must exist: an error, never "not measurable" or 0
    with pytest.raises(SpecError, match="no event named 'click'"):
        ws.benchmark(industry="saas", click_event="click")
    ws.close()


def test_api_answers_the_same_json(workspace, ws):
    from fastapi.testclient import TestClient

    from funnelscope.web import Settings, create_app

    python = ws.benchmark(industry="saas", activation_event="activate").to_dict()
    with TestClient(create_app(Settings(workspace=workspace))) as client:
        got = client.get("/api/benchmark?industry=saas&activation_event=activate").json()
        assert got["comparison"] == python["comparison"] and got["spec"] == python["spec"]
        csv = client.get("/api/benchmark.csv?industry=saas").text.splitlines()
        assert csv[0].startswith("metric,definition,yours,benchmark,gap,better")
        bad = client.get("/api/benchmark?industry=ecomerce")
        assert bad.status_code == 400 and "ecommerce" in bad.text


def test_terminal_table(workspace, capsys):
    from funnelscope.cli.app import main

    capsys.readouterr()
    main(["benchmark", "--workspace", workspace, "--tz", "UTC", "--industry", "ecommerce"])
    out = capsys.readouterr().out
    assert "Benchmark: ecommerce" in out and "42.9%" in out and "lower is better" in out
