"""FunnelResult tables, statistics, breakdowns, periods, censoring, lists and the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

import funnelscope as fs
from funnelscope.analyses.stats import chi_square_2x2, wilson_interval
from funnelscope.errors import SpecError


def _ws(rows, customers=None, tz="UTC"):
    ws = fs.connect(tz=tz)
    cols = ["user_id", "event", "ts"] + (["channel"] if len(rows[0]) > 3 else [])
    ws.load(pd.DataFrame(rows, columns=cols), "events")
    if customers is not None:
        ws.load(pd.DataFrame(customers, columns=["user_id", "segment"]), "customers")
    return ws


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (57, 1000), (1, 1)])
def test_wilson_matches_statsmodels(k, n):
    lo, hi = wilson_interval(k, n)
    slo, shi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(slo, abs=1e-12) and hi == pytest.approx(shi, abs=1e-12)
    assert wilson_interval(0, 0) == (None, None)


@pytest.mark.parametrize("table", [(10, 20, 30, 40), (5, 0, 7, 9), (100, 900, 80, 920)])
def test_chi_square_matches_scipy(table):
    a, b, c, d = table
    chi2, p = chi_square_2x2(a, b, c, d)
    ref = sps.chi2_contingency([[a, b], [c, d]], correction=False)
    assert chi2 == pytest.approx(ref[0]) and p == pytest.approx(ref[1])
    assert chi_square_2x2(0, 0, 3, 4) == (None, None)


def _shop():
    rows = []
    # 6 users via ads: 2 pay; 4 via search: 3 pay; first touch decides the group
    for i in range(6):
        rows.append((f"a{i}", "view", f"2024-01-0{1 + i % 3} 10:00", "ads"))
        if i < 2:
            rows.append((f"a{i}", "pay", f"2024-01-0{1 + i % 3} 11:00", "search"))
    for i in range(4):
        rows.append((f"s{i}", "view", "2024-01-02 09:00", "ads"))
        rows.append((f"s{i}", "view", "2024-01-02 09:30", "search"))
        if i < 3:
            rows.append((f"s{i}", "pay", "2024-01-02 12:00", "ads"))
    rows.append(("late", "view", "2024-01-09 23:00", "ads"))  # window still open at the end
    rows.append(("late", "search", "2024-01-10 00:00", "ads"))
    return rows


def test_steps_groups_first_touch_and_censoring():
    ws = _ws(_shop())
    r = ws.funnel(["view", "pay"], window="1d", by="channel")
    steps = r.steps
    assert steps["entities"].tolist() == [11, 5]
    assert steps.loc[0, "still_converting"] == 1 and steps.loc[0, "dropped"] == 5
    lo, hi = wilson_interval(5, 11)
    assert steps.loc[1, "ci_low"] == pytest.approx(lo) and steps.loc[1, "ci_high"] == pytest.approx(hi)
    g = r.groups.set_index("group")
    # s* users: the reported path starts at the latest view before pay (09:30, search), and
    # `by` attributes the entity to that path's first-step event (docs/funnels.md)
    # (s3 never pays: its reported path is the first-to-reach level 1, the 09:00 ads view)
    assert g.loc["search", "entities"] == 3 and g.loc["search", "step_2"] == 3
    assert g.loc["ads", "entities"] == 8 and g.loc["ads", "step_2"] == 2
    chi2, p = chi_square_2x2(3, 0, 2, 6)
    assert g.loc["search", "p_value"] == pytest.approx(p)
    no_censor = ws.funnel(["view", "pay"], window="1d", censor=False).steps
    assert no_censor.loc[0, "dropped"] == 6 and no_censor.loc[0, "still_converting"] == 0


def test_lists_and_time_to_convert():
    ws = _ws(_shop())
    r = ws.funnel(["view", "pay"], window="1d")
    assert r.converted() == ["a0", "a1", "s0", "s1", "s2"]
    assert r.dropped_after("view") == sorted(["a2", "a3", "a4", "a5", "s3", "late"])
    h = r.time_to_convert("view", "pay", bins=3)
    assert h["entities"].sum() == 5
    # a0/a1: 1 h; s0..s2: 2.5 h from the latest view (09:30), the path the greedy scan reports
    secs = sorted(r.entries.dropna(subset=["t2"]).eval("(t2 - t1) / 1e6").tolist())
    assert secs == [3600.0, 3600.0, 9000.0, 9000.0, 9000.0]
    assert r.steps.loc[1, "median_seconds_from_previous"] == 9000.0
    with pytest.raises(SpecError):
        r.converted("nope")


def test_top_groups_fold_into_other_and_customer_breakdown():
    rows = [(f"u{i}", "view", "2024-01-01 10:00", f"c{i % 5}") for i in range(50)]
    rows += [(f"u{i}", "pay", "2024-01-01 11:00", "x") for i in range(0, 50, 2)]
    customers = [(f"u{i}", "vip" if i < 10 else "normal") for i in range(50)]
    ws = _ws(rows, customers)
    r = ws.funnel(["view", "pay"], window="1d", by="channel", top_groups=2)
    assert r.groups["group"].tolist()[-1] == "other"
    assert r.groups["entities"].sum() == 50
    seg = ws.funnel(["view", "pay"], window="1d", by="segment").groups.set_index("group")
    assert seg.loc["vip", "entities"] == 10 and seg.loc["vip", "step_2"] == 5


def test_periods_use_the_reporting_time_zone():
    rows = [("a", "view", "2024-01-01T23:30:00Z"), ("b", "view", "2024-01-02T01:00:00Z"),
            ("a", "pay", "2024-01-02T00:10:00Z")]
    utc = _ws(rows).funnel(["view", "pay"], window="1d", period="day").periods
    assert utc["period"].tolist() == ["2024-01-01", "2024-01-02"]
    sh = _ws(rows, tz="Asia/Shanghai").funnel(["view", "pay"], window="1d", period="day").periods
    assert sh["period"].tolist() == ["2024-01-02"] and sh["entities"].tolist() == [2]
    assert sh["step_2"].tolist() == [1]


def test_bad_specs_say_what_to_do():
    ws = _ws(_shop())
    with pytest.raises(SpecError, match="window"):
        ws.funnel(["view", "pay"], window="7 parsecs")
    with pytest.raises(SpecError, match="mode"):
        ws.funnel(["view", "pay"], mode="sideways")
    with pytest.raises(SpecError, match="property"):
        ws.funnel(["view", fs.step("pay", where={"colour": "red"})])
    with pytest.raises(SpecError, match="neither"):
        ws.funnel(["view", "pay"], by="planet")
    with pytest.raises(SpecError, match="at most 32"):
        ws.funnel([f"s{i}" for i in range(33)])


def test_ten_chinese_steps():
    names = ["浏览", "搜索", "详情", "收藏", "加购", "结算", "填写地址", "选择支付", "支付", "评价"]
    rows = []
    for u in range(20):
        for j, n in enumerate(names[: 1 + u % 10]):
            rows.append((f"用户{u}", n, f"2024-01-01 10:{j:02d}"))
    r = _ws(rows).funnel(names, window="1h")
    assert r.steps["entities"].tolist() == [20 - 2 * j for j in range(10)]
    assert r.steps["step"].tolist() == names


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "funnelscope", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_json_contract_and_in_place_events(tmp_path):
    path = tmp_path / "events.csv"
    pd.DataFrame(_shop(), columns=["uid", "event_name", "time", "channel"]).to_csv(path, index=False)
    out = _cli("funnel", "--events", str(path), "--map", "user_id=uid,ts=time,event=event_name",
               "--steps", "view,pay", "--window", "1d", "--by", "channel", "--period", "day",
               "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"steps", "groups", "periods", "spec"}
    first = data["steps"][0]
    for key in ("step", "entities", "conversion_from_start", "conversion_from_previous", "ci_low",
                "ci_high", "dropped", "median_seconds_from_previous", "p90_seconds_from_previous"):
        assert key in first
    assert [s["entities"] for s in data["steps"]] == [11, 5]
    assert data["spec"]["window"] == "1d"
    csv = _cli("funnel", "--events", str(path), "--map", "user_id=uid,ts=time,event=event_name",
               "--steps", "view,pay", "--format", "csv")
    assert csv.returncode == 0 and csv.stdout.splitlines()[0].startswith("step,")


def test_cli_errors_are_one_line(tmp_path):
    path = tmp_path / "events.csv"
    pd.DataFrame(_shop(), columns=["user_id", "event", "ts", "channel"]).to_csv(path, index=False)
    out = _cli("funnel", "--events", str(path), "--steps", "view,pay", "--window", "soon")
    assert out.returncode == 2
    assert out.stderr.startswith("error: cannot read window 'soon'") and len(out.stderr.splitlines()) == 1
    out = _cli("funnel", "--steps", "view")
    assert out.returncode == 2 and "--workspace" in out.stderr
    assert "Example" in _cli("funnel", "--help").stdout


def test_large_random_matches_simple_reference():
    """Per-user Python reference on 3,000 users with random delays (distinct steps, ordered)."""
    rng = np.random.default_rng(3)
    steps = ["view", "cart", "pay"]
    rows, expected = [], [0, 0, 0]
    for u in range(3000):
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=int(rng.integers(0, 86400 * 30)))
        level = 0
        for j, s in enumerate(steps):
            if rng.random() < (0.9 if j == 0 else 0.5):
                t = t + pd.Timedelta(seconds=int(rng.exponential(3600 * 24)))
                rows.append((f"u{u}", s, t.isoformat()))
                level = j + 1 if level == j else level
            else:
                break
        start = [r for r in rows if r[0] == f"u{u}" and r[1] == "view"]
        if level:
            t0 = pd.Timestamp(start[0][2])
            times = [pd.Timestamp(r[2]) for r in rows if r[0] == f"u{u}"]
            reach = 1 + sum(1 for tt in times[1:level] if tt - t0 <= pd.Timedelta(days=2))
            for j in range(reach):
                expected[j] += 1
    r = _ws(rows).funnel(steps, window="2d")
    assert r.steps["entities"].tolist() == expected
