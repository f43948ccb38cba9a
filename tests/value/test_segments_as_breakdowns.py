"""Saved segments (rfm_segment, cluster, clv_tier) work as breakdowns in funnels and retention.

Oracles: plain pandas over the generated tables (who is a customer, who bought by a day, who
viewed in a period); the RFM report's own per-buyer segments.
"""

from __future__ import annotations

import pandas as pd

import funnelscope as fs
from funnelscope.analyses.value.segments import (
    NO_PURCHASE,
    known_users,
    save_segments,
    saved_segments,
)
from funnelscope.data.demo import generate

AS_OF = "2026-02-28"  # the demo data runs 2026-01-01 .. 2026-03-31


def _workspace(tables=("events", "orders", "customers")):
    ws = fs.connect()
    generated = generate("ecommerce", users=1500, seed=5)
    for name in tables:
        ws.load(generated[name], name)
    return ws, {name: generated[name].to_pandas() for name in generated}


def _local_day(ts: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(ts, utc=True).dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def test_saved_rfm_segments_cover_every_known_user():
    ws, tables = _workspace()
    report = ws.rfm(analysis_date=AS_OF, save=True)
    saved = saved_segments(ws).set_index("user_id")
    everyone = set(tables["customers"].user_id) | set(tables["events"].user_id)
    assert set(saved.index) == everyone == set(known_users(ws))

    orders = tables["orders"]
    buyers = set(orders.loc[_local_day(orders.ts, ws.config.timezone) <= pd.Timestamp(AS_OF), "user_id"])
    assert 0 < len(buyers) < len(everyone)
    scored = report.customers.set_index("user_id")
    assert set(scored.index) == buyers  # the report itself is about buyers only
    for column in ("rfm_segment", "rfm_score"):
        assert saved.loc[sorted(buyers), column].to_dict() == scored[column].to_dict()
    others = saved.drop(index=list(buyers))
    assert (others["rfm_segment"] == NO_PURCHASE).all() and others["rfm_score"].isna().all()


def test_without_customers_the_events_name_the_users():
    ws, tables = _workspace(("events", "orders"))
    ws.rfm(save=True)
    saved = saved_segments(ws)
    assert set(saved.user_id) == set(tables["events"].user_id)
    assert saved["rfm_segment"].notna().all()


def test_rfm_segment_breaks_down_a_later_funnel():
    ws, tables = _workspace()
    ws.rfm(analysis_date=AS_OF, save=True)
    segments = saved_segments(ws).set_index("user_id")["rfm_segment"]

    funnel = ws.funnel(["view", "pay"], window="7d", start="2026-03-01", by="rfm_segment")
    groups = funnel.groups.set_index("group")
    assert "(none)" not in groups.index and "other" not in groups.index  # nobody is left out
    # reference: users who viewed in March, per saved segment, counted in plain pandas
    events = tables["events"]
    local = pd.to_datetime(events.ts, utc=True).dt.tz_convert(ws.config.timezone)
    march = events[(local >= pd.Timestamp("2026-03-01", tz=ws.config.timezone))]
    viewers = pd.Series(sorted(set(march.loc[march.event == "view", "user_id"])))
    expected = viewers.map(segments).value_counts()
    assert groups["entities"].to_dict() == expected.to_dict()
    for step in ("step_1", "step_2"):  # the groups partition the funnel
        assert groups[step].sum() == funnel.steps["entities"].iloc[int(step[-1]) - 1]
    # not circular: people without a purchase by the end of February do pay in March
    assert groups.loc[NO_PURCHASE, "step_2"] > 0
    assert groups.loc[NO_PURCHASE, "entities"] > groups["entities"].drop(NO_PURCHASE).max()

    retention = ws.retention(period="week", periods=2, by="rfm_segment")
    cells = retention.tables["cells"]
    assert set(cells["group"].dropna()) <= set(segments.unique())
    sizes = cells.drop_duplicates(["cohort", "group"]).groupby("group")["size"].sum()
    active = set(events.user_id)
    for segment, size in sizes.items():
        assert size == len(set(segments[segments == segment].index) & active)


def test_any_saved_column_is_a_breakdown():
    ws, _ = _workspace()
    users = ws.events.select("user_id").distinct().to_pandas()["user_id"].tolist()
    tiers = pd.DataFrame({"user_id": users,
                          "clv_tier": ["top 25%" if i % 4 == 0 else "rest" for i in range(len(users))]})
    save_segments(ws, tiers)
    groups = ws.funnel(["view", "add_to_cart"], window="1d", by="clv_tier").groups.set_index("group")
    assert groups.loc["top 25%", "entities"] == (tiers.clv_tier == "top 25%").sum()
    assert groups.loc["rest", "entities"] == (tiers.clv_tier == "rest").sum()
