"""Saved segments (rfm_segment, cluster, clv_tier) work as breakdowns in funnels and retention."""

from __future__ import annotations

import pandas as pd

import funnelscope as fs
from funnelscope.analyses.value.segments import save_segments, saved_segments
from funnelscope.data.demo import generate


def _workspace():
    ws = fs.connect()
    tables = generate("ecommerce", users=1500, seed=5)
    for name in ("events", "orders", "customers"):
        ws.load(tables[name], name)
    return ws, tables


def test_rfm_segment_breaks_down_funnel_and_retention():
    ws, tables = _workspace()
    ws.rfm(save=True)
    segments = saved_segments(ws).set_index("user_id")["rfm_segment"]

    funnel = ws.funnel(["view", "pay"], window="7d", by="rfm_segment")
    groups = funnel.groups.set_index("group")
    # reference: users who paid per segment, counted in plain pandas (every payer has an order,
    # so every payer has a segment; users without orders have none)
    events = tables["events"].to_pandas()
    payers = set(events.loc[events.event == "pay", "user_id"])
    for segment, n in groups["step_2"].items():
        if segment in ("(none)", "other"):
            continue
        members = set(segments[segments == segment].index)
        assert n <= len(members & payers)
        assert n > 0
    assert groups["entities"].sum() == funnel.steps["entities"].iloc[0]

    retention = ws.retention(period="week", periods=2, by="rfm_segment")
    cells = retention.tables["cells"]
    assert set(cells["group"].dropna()) <= set(segments.unique())
    sizes = cells.drop_duplicates(["cohort", "group"]).groupby("group")["size"].sum()
    for segment, size in sizes.items():
        assert size == (segments == segment).sum()


def test_any_saved_column_is_a_breakdown():
    ws, _ = _workspace()
    users = ws.events.select("user_id").distinct().to_pandas()["user_id"].tolist()
    tiers = pd.DataFrame({"user_id": users,
                          "clv_tier": ["top 25%" if i % 4 == 0 else "rest" for i in range(len(users))]})
    save_segments(ws, tiers)
    groups = ws.funnel(["view", "add_to_cart"], window="1d", by="clv_tier").groups.set_index("group")
    assert groups.loc["top 25%", "entities"] == (tiers.clv_tier == "top 25%").sum()
    assert groups.loc["rest", "entities"] == (tiers.clv_tier == "rest").sum()
