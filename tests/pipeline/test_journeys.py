"""Readable deal histories whose numbers follow from the definitions by hand (docs/pipeline.md).

Also the input checks: every mistake an analyst can make gets a SpecError saying what to do.
"""

from __future__ import annotations

import pytest

from funnelscope.analyses.pipeline import pipeline
from funnelscope.analyses.pipeline.spec import default_win_stage, resolve_stages
from funnelscope.errors import SpecError

from .cases import B2B, journeys_to_rows, to_frame

JOURNEYS = {
    # skipped mql: counts as having passed it; still open at sql
    "skipper": [("lead", "2024-01-01"), ("sql", "2024-01-05")],
    # moved back sql -> mql once (a regression into mql), then on to won
    "regressor": [("lead", "2024-01-01"), ("mql", "2024-01-03"), ("sql", "2024-01-10"),
                  ("mql", "2024-01-12"), ("sql", "2024-01-20"), ("opportunity", "2024-02-01"),
                  ("won", "2024-02-15")],
    # went quiet after mql, reopened months later from lead, lost at sql
    "reopened": [("lead", "2024-01-02"), ("mql", "2024-01-04"), ("lead", "2024-04-01"),
                 ("mql", "2024-04-03"), ("sql", "2024-04-10")],
    "open_deal": [("lead", "2024-03-01"), ("mql", "2024-03-02")],
    "lost_early": [("lead", "2024-01-05")],
}
CLOSED = {"skipper": "open", "regressor": "won", "reopened": "lost", "open_deal": "open",
          "lost_early": "lost"}
AMOUNTS = {"regressor": 1000.0, "reopened": 500.0, "open_deal": 200.0, "lost_early": 300.0}
OWNERS = {"skipper": "ann", "regressor": "ann", "reopened": "bob", "open_deal": "bob",
          "lost_early": "bob"}


@pytest.fixture
def result(make_workspace):
    rows = journeys_to_rows(JOURNEYS, CLOSED, AMOUNTS, OWNERS)
    ws = make_workspace({"deals": to_frame(rows)}, deals={"stages": list(B2B)})
    return pipeline(ws, by="owner", controllability={"sql": 1})


def test_reached_lost_and_regressions_follow_the_definitions(result):
    f = result.funnel.set_index("stage")
    assert f["deals"].to_dict() == {"lead": 5, "mql": 4, "sql": 3, "opportunity": 1,
                                    "won": 1, "renewed": 0}
    assert f.loc["lead", "amount"] == 2000.0  # the skipper has no amount: counts as 0
    assert f["lost"].to_dict() == {"lead": 1, "mql": 0, "sql": 1, "opportunity": 0, "won": 0,
                                   "renewed": 0}
    assert f["regressions"].to_dict() == {"lead": 1, "mql": 1, "sql": 0, "opportunity": 0,
                                          "won": 0, "renewed": 0}
    assert f["still_open"].to_dict() == {"lead": 0, "mql": 1, "sql": 1, "opportunity": 0,
                                         "won": 0, "renewed": 0}
    assert f.loc["sql", "conversion_from_previous"] == 3 / 4
    assert f.loc["opportunity", "conversion_from_start"] == 1 / 5
    assert f.loc["sql", "loss_rate"] == 1 / 3
    assert f.loc["renewed", "conversion_from_previous"] == 0.0


def test_time_in_stage_sums_every_stay_and_cycles_run_to_win_or_last_entry(result):
    d = result.deals.set_index("deal_id")
    day = 86_400_000_000
    mql, sql = B2B.index("mql"), B2B.index("sql")
    assert d.loc["regressor", f"time_in_{mql}"] == 15 * day  # 7 days + 8 days
    assert d.loc["regressor", f"time_in_{sql}"] == 14 * day  # 2 days + 12 days
    cycle = result.tables["cycle"].set_index("outcome")
    assert cycle.loc["won", "median_days"] == 45.0  # 2024-01-01 -> 2024-02-15
    assert cycle.loc["lost", "deals"] == 2
    assert cycle.loc["lost", "p90_days"] == pytest.approx(0 + 0.9 * 99)  # 0 and 99 days


def test_win_rate_counts_closed_deals_only(result):
    w = result.win_rates.set_index(["group", "period"])
    assert w.loc[("(all)", "(all)"), "win_rate"] == 1 / 3
    assert w.loc[("ann", "(all)"), "win_rate"] == 1.0  # skipper is open: not in it
    assert w.loc[("bob", "(all)"), "won"] == 0


def test_bottlenecks_weigh_losses_by_what_passing_deals_become(result):
    b = result.bottlenecks().set_index("from_stage")
    # deals reaching mql that closed: regressor (won 1000), reopened (lost) -> 500 each
    assert b.loc["lead", "value_if_passed"] == 500.0
    assert b.loc["sql", "value_if_passed"] == 1000.0
    assert b.loc["sql", "priority"] == 1000.0  # controllability 1 from the spec
    assert b.loc["lead", "priority"] == 1500.0
    assert b.loc["lead", "rank"] == 1
    assert result.bottlenecks({"sql": 5}).iloc[0]["from_stage"] == "sql"


def test_what_if_moves_deals_that_stopped_before_the_stage(result):
    w = result.what_if("sql", 25)
    assert w["new_conversion"] == 1.0
    assert w["extra_deals_reaching_stage"] == pytest.approx(1.0)
    assert w["change_won_deals"] == pytest.approx(0.5)  # P(won | reached sql) = 1/2
    assert w["change_won_amount"] == pytest.approx(500.0)
    capped = result.what_if("sql", 90)
    assert capped["extra_deals_reaching_stage"] == pytest.approx(1.0)


def test_stalled_deals_and_velocity(result):
    v = result.velocity.set_index("stage")
    assert v.loc["mql", "deals_timed"] == 2  # regressor and reopened left mql; open_deal did not
    assert v.loc["lead", "open_deals"] == 0
    assert v.loc["sql", "open_deals"] == 1
    # the skipper has sat in sql since 2024-01-05, far beyond sql's p90 (14 days)
    assert "skipper" in set(result.tables["stalled"]["deal_id"])


@pytest.mark.parametrize("kwargs, message", [
    ({"stages": ["lead"]}, "at least two stages"),
    ({"stages": ["a", "b", "a"]}, "repeats"),
    ({"win_stage": "closed"}, "win stage"),
    ({"period": "week"}, "unknown period"),
    ({"by": "region"}, "no column 'region'"),
    ({"controllability": {"sql": 7}}, "1-5"),
    ({"controllability": {"nope": 2}}, "unknown stage"),
    ({"probabilities": {"lead": 0.1}}, "no value for stage 'mql'"),
    ({"probabilities": "salesforce"}, "no stage 'lead'"),
    ({"categories": {"lead": "Maybe"}}, "unknown forecast category"),
    ({"stages": ["x", "y"]}, "no deal has a stage entry"),
    ({"as_of": "2024-01-02"}, "before the latest"),
    ({"as_of": "not a time"}, "cannot read as_of"),
])
def test_mistakes_are_explained(make_workspace, kwargs, message):
    rows = journeys_to_rows(JOURNEYS, CLOSED, AMOUNTS, OWNERS)
    ws = make_workspace({"deals": to_frame(rows)}, deals={"stages": list(B2B)})
    with pytest.raises(SpecError, match=message):
        pipeline(ws, **kwargs)


def test_what_if_mistakes_are_explained(result):
    with pytest.raises(SpecError, match="first stage"):
        result.what_if("lead", 5)
    with pytest.raises(SpecError, match="either points"):
        result.what_if("sql")
    with pytest.raises(SpecError, match="no owner has 10"):
        result.what_if("sql", to="best_owner")


def test_presets_and_win_stages():
    assert resolve_stages("b2b", []) == B2B
    assert default_win_stage(resolve_stages("telecom", [])) == "paying"
    assert default_win_stage(resolve_stages("salesforce", [])) == "Closed Won"
    assert default_win_stage(("a", "Closed-Won", "c")) == "Closed-Won"
    assert default_win_stage(("a", "b", "c")) == "c"
    assert resolve_stages(" a, b ,c", []) == ("a", "b", "c")


def test_cohorts_and_close_periods_use_the_reporting_time_zone(make_workspace):
    """2024-03-31 20:00 UTC is already 1 April in Shanghai: a second-quarter deal there."""
    rows = journeys_to_rows({"late_march": [("lead", "2024-03-31 20:00"), ("won", "2024-06-30 17:00")],
                             "early": [("lead", "2024-03-31 15:00")]},
                            {"late_march": "won", "early": "lost"})
    ws = make_workspace({"deals": to_frame(rows)}, tz="Asia/Shanghai",
                        deals={"stages": list(B2B), "tz": "UTC"})
    r = pipeline(ws, period="quarter")
    cohorts = r.tables["funnel_by_period"].query("stage == 'lead'").set_index("cohort")["deals"]
    assert cohorts.to_dict() == {"2024Q1": 1, "2024Q2": 1}
    closes = r.win_rates.query("period != '(all)'").set_index("period")
    assert closes.loc["2024Q3", "won"] == 1  # 30 June 17:00 UTC = 1 July 01:00 in Shanghai
    assert closes.loc["2024Q1", "lost"] == 1
    assert r.forecast().meta["start"] == "2024-10-01T00:00:00+08:00"
