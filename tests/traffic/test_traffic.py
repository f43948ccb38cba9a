"""Spend quality against hand computation, the notes for missing spend columns (null, never
0), and the errors a user can make."""

from __future__ import annotations

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.errors import ConfigError, SpecError

T0 = pd.Timestamp("2026-03-02T09:00:00Z")
MIN = pd.Timedelta(minutes=1)

# user -> [(event, minutes after T0, channel)]
JOURNEYS = {
    "ann": [("visit", 0, "ads"), ("view", 1, "ads"), ("pay", 5, "ads")],
    "bob": [("visit", 0, "ads")],
    "cy": [("visit", 0, "search"), ("view", 2, "search"), ("view", 3, "search"),
           ("visit", 600, "ads"), ("pay", 601, "ads"), ("pay", 602, "ads")],
    "di": [("visit", 1440, "search"), ("view", 1441, "search")],
}
SPEND = [  # date, channel, campaign, cost, impressions, clicks
    ("2026-03-02", "ads", "feed", 100.0, 20000, 250),
    ("2026-03-03", "ads", "feed", 60.0, 10000, 150),
    ("2026-03-02", "search", "bid", 40.0, 2000, 80),
    ("2026-03-05", "search", "bid", 999.0, 1, 1),  # outside --end 2026-03-04
]


def events_frame() -> pd.DataFrame:
    rows = [(u, e, T0 + m * MIN, c) for u, evs in JOURNEYS.items() for e, m, c in evs]
    return pd.DataFrame(rows, columns=["user_id", "event", "ts", "channel"])


def workspace(spend_columns: tuple[str, ...] | None = ("impressions", "clicks")):
    ws = fs.connect(tz="UTC")
    ws.load(events_frame(), "events")
    if spend_columns is not None:
        frame = pd.DataFrame(SPEND, columns=["date", "channel", "campaign", "cost",
                                             "impressions", "clicks"])
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        ws.load(frame[["date", "channel", "campaign", "cost", *spend_columns]], "spend")
    return ws


def test_spend_quality_by_channel_is_the_hand_computation():
    ws = workspace()
    r = ws.traffic(by="channel", end="2026-03-04").to_dict()
    ws.close()
    g = {row["group"]: row for row in r["groups"]}
    # sessions by their first event: ads = ann, bob, cy's second; search = cy's first, di
    assert (g["ads"]["sessions"], g["search"]["sessions"]) == (3, 2)
    assert (g["ads"]["uv"], g["search"]["uv"]) == (3, 2)
    # conversions: ann 1 + cy 2 (all in ads sessions); converting users ann, cy of 3
    assert g["ads"]["conversions"] == 3 and g["ads"]["conversion_rate"] == pytest.approx(2 / 3)
    assert g["search"]["conversions"] == 0 and g["search"]["conversion_rate"] == 0.0
    cost, imp, clicks = 100.0 + 60.0, 20000 + 10000, 250 + 150  # the 03-05 row is out of range
    assert g["ads"]["cost"] == pytest.approx(cost)
    assert g["ads"]["ctr"] == pytest.approx(clicks / imp)
    assert g["ads"]["cpc"] == pytest.approx(cost / clicks)
    assert g["ads"]["cpm"] == pytest.approx(1000 * cost / imp)
    assert g["ads"]["cost_per_conversion"] == pytest.approx(cost / 3)
    assert g["ads"]["conversion_rate_per_click"] == pytest.approx(3 / clicks)
    assert g["search"]["cpc"] == pytest.approx(40.0 / 80)
    assert g["search"]["cost_per_conversion"] is None  # no conversions: null, not infinity
    total = r["summary"][0]
    assert total["cost"] == pytest.approx(200.0) and total["clicks"] == 480
    assert total["cpm"] == pytest.approx(1000 * 200.0 / 32000)
    assert r["meta"]["spend_days"] == {"first": None, "last": "2026-03-03"}
    assert r["meta"]["notes"] == []


def test_bounces_pages_and_new_visitors_by_hand():
    ws = workspace(None)
    r = ws.traffic(by="channel", start="2026-03-02T10:00:00Z").to_dict()
    ws.close()
    g = {row["group"]: row for row in r["groups"]}
    # from 10:00 on: cy's evening session (ads) and di's next-day session (search)
    assert g["ads"]["sessions"] == 1 and g["ads"]["new_visitors"] == 0  # cy began at 09:00
    assert g["search"]["new_visitors"] == 1 and g["search"]["bounces"] == 0
    assert g["search"]["pages_per_session"] == 1.0
    assert g["ads"]["avg_session_seconds"] == pytest.approx(120.0)


@pytest.mark.parametrize("columns,null,kept,word", [
    ((), ["impressions", "clicks", "ctr", "cpc", "cpm", "conversion_rate_per_click"],
     ["cost", "cost_per_conversion"], "impressions"),
    (("clicks",), ["impressions", "ctr", "cpm"], ["cost", "clicks", "cpc"], "impressions"),
    (("impressions",), ["clicks", "ctr", "cpc", "conversion_rate_per_click"],
     ["cost", "impressions", "cpm"], "clicks"),
])
def test_missing_spend_columns_are_null_with_a_note(columns, null, kept, word):
    ws = workspace(columns)
    r = ws.traffic(by="channel").to_dict()
    ws.close()
    ads = next(g for g in r["groups"] if g["group"] == "ads")
    for c in null:
        assert ads[c] is None, c
        assert r["summary"][0][c] is None, c
    for c in kept:
        assert ads[c] is not None and ads[c] > 0, c
    assert any(word in n and "add" in n or word in n and "fill" in n
               for n in r["meta"]["notes"]), r["meta"]["notes"]


def test_no_spend_table_and_a_by_spend_is_not_split_by():
    ws = workspace(None)
    r = ws.traffic(by="channel").to_dict()
    assert r["summary"][0]["cost"] is None
    assert any("no spend table" in n for n in r["meta"]["notes"])
    ws.close()
    ws = workspace()
    ws.load(pd.DataFrame({"user_id": list(JOURNEYS), "plan": ["a", "b", "a", None]}),
            "customers")
    r = ws.traffic(by="plan").to_dict()
    ws.close()
    assert r["meta"]["by_source"] == "customers.plan"
    assert {g["group"] for g in r["groups"]} == {"a", "b", "(none)"}
    assert all(g["cost"] is None for g in r["groups"])
    assert r["summary"][0]["cost"] == pytest.approx(1199.0)  # the total is still known
    assert any("split by channel and campaign only" in n for n in r["meta"]["notes"])


def test_errors_name_the_option():
    ws = workspace()
    with pytest.raises(SpecError, match="page_event.*'veiw'|veiw") as e:
        ws.traffic(page_event="veiw")
    assert "view" in str(e.value)  # did you mean
    with pytest.raises(SpecError, match="conversion_event"):
        ws.traffic(conversion_event="purchase")
    with pytest.raises(ConfigError, match="by: no column 'chanel'.*channel"):
        ws.traffic(by="chanel")
    with pytest.raises(SpecError, match="period"):
        ws.traffic(period="year")
    with pytest.raises(SpecError, match="session_gap"):
        ws.traffic(session_gap="0s")
    with pytest.raises(SpecError, match="start .* must be before end"):
        ws.traffic(start="2026-03-05", end="2026-03-01")
    with pytest.raises(SpecError, match="start"):
        ws.traffic(start="2026-02-30")
    ws.close()


def test_the_sql_needs_no_data():
    from funnelscope.analyses.traffic.spec import TrafficSpec

    text = TrafficSpec(by="channel", session_gap="15m").to_sql()
    assert "first_value" in text and "900000000" in text


def test_a_range_without_events_is_zero_traffic_not_an_error():
    ws = workspace()
    r = ws.traffic(by="channel", start="2027-01-01").to_dict()
    ws.close()
    s = r["summary"][0]
    assert (s["sessions"], s["uv"], s["pv"], s["conversions"]) == (0, 0, 0, 0)
    assert s["bounce_rate"] is None and s["conversion_rate"] is None  # 0 / 0 is no rate
    assert r["groups"] == []
