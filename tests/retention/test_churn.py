"""Churn: spells, churn rate per period, Kaplan–Meier against a hand computation and statsmodels."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelscope.analyses.retention import churn, kaplan_meier, median_lifetime
from funnelscope.errors import SpecError

from . import oracle
from .helpers import event_tuples, fresh_workspace, load_events, utc


# ----- Kaplan–Meier ---------------------------------------------------------------------------
def test_kaplan_meier_hand_computation():
    # durations 1, 2+, 3, 3, 5+, 6: at t=1 six at risk, one churns -> 5/6; t=3: four at risk
    # (one churned, one censored before), two churn -> 5/6 * 2/4; t=6: one at risk, churns -> 0.
    km = kaplan_meier([1, 2, 3, 3, 5, 6], [True, False, True, True, False, True])
    at = km.set_index("day")
    assert at.loc[1.0, "survival"] == pytest.approx(5 / 6)
    assert at.loc[2.0, "survival"] == pytest.approx(5 / 6)  # censoring does not move the curve
    assert at.loc[3.0, "survival"] == pytest.approx(5 / 12)
    assert at.loc[6.0, "survival"] == 0.0
    assert list(at["at_risk"]) == [6, 5, 4, 2, 1]
    # Greenwood at t=3: S^2 * (1/(6*5) + 2/(4*2))
    assert at.loc[3.0, "survival_se"] == pytest.approx((5 / 12) * np.sqrt(1 / 30 + 2 / 8))
    assert median_lifetime(km) == 3.0


def test_kaplan_meier_counts_equal_expanded_rows():
    a = kaplan_meier([0, 4, 9], [True, False, True], [3, 2, 5])
    b = kaplan_meier([0] * 3 + [4] * 2 + [9] * 5, [True] * 3 + [False] * 2 + [True] * 5)
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=60))
def test_kaplan_meier_matches_statsmodels(rows):
    from statsmodels.duration.survfunc import SurvfuncRight

    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows], dtype=int)
    km = kaplan_meier(t, e.astype(bool))
    if e.sum() == 0:
        assert (km["survival"] == 1.0).all()
        assert median_lifetime(km) is None
        return
    sm = SurvfuncRight(t, e)
    ours = km[km["churned"] > 0].reset_index(drop=True)
    np.testing.assert_allclose(ours["day"], sm.surv_times)
    np.testing.assert_allclose(ours["survival"], sm.surv_prob, atol=1e-12)
    np.testing.assert_allclose(ours["survival_se"], sm.surv_prob_se, atol=1e-9)
    np.testing.assert_array_equal(ours["at_risk"], sm.n_risk)
    q = sm.quantile(0.5)
    median = median_lifetime(km)
    if np.isclose(sm.surv_prob, 0.5, rtol=0, atol=1e-12).any():
        # statsmodels (like SAS) takes the first S(t) < 0.5; we take S(t) <= 0.5 (lifelines,
        # Kalbfleisch & Prentice). They differ only when the curve sits exactly at 0.5.
        assert median == sm.surv_times[np.isclose(sm.surv_prob, 0.5, rtol=0, atol=1e-12)][0]
    elif np.isnan(q):
        assert median is None
    else:
        assert median == pytest.approx(q)


# ----- churn on events ------------------------------------------------------------------------
JOURNEYS = {
    # inactivity 10 days: spells [Jan 1-2] churned, [Jan 20] churned
    "a": [("x", "2024-01-01 10:00"), ("x", "2024-01-02 10:00"), ("x", "2024-01-20 10:00")],
    # one spell Jan 2 - Jan 10 (gap 8 <= 10), churned
    "b": [("x", "2024-01-02 10:00"), ("cancel", "2024-01-10 10:00"), ("x", "2024-02-10 10:00")],
    "c": [("x", "2024-02-05 10:00"), ("cancel", "2024-02-05 11:00")],
    "d": [("x", "2024-03-30 10:00")],  # still active at the data end
}


def test_hand_checked_inactivity(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    r = churn(ws, inactivity_days=10, period="month")
    life = r.tables["lifetime"].iloc[0]
    # first spells: a 1 day (churned), b 8 days (churned: Feb 10 is 31 days later), c 0, d 0 (censored)
    assert (life["customers"], life["churned"], life["censored"]) == (4, 3, 1)
    surv = r.tables["survival"].set_index("day")["survival"]
    assert surv[0.0] == pytest.approx(3 / 4)  # c churns at 0, d censored at 0
    assert surv[1.0] == pytest.approx(3 / 4 * 1 / 2)
    assert life["median_lifetime_days"] == 1.0
    periods = r.tables["periods"].set_index("period")
    # January: spells a1, b, a2 start and end in January -> nobody alive at the start of Feb
    # except b's second spell... which starts Feb 10. Feb: c and b2 start; b2 ends Feb 10.
    assert periods.loc["2024-01-01", "new"] == 3
    assert periods.loc["2024-02-01", "customers_at_start"] == 0
    assert not periods.loc["2024-03-01", "complete"]  # March's last day + 10 > data end


def test_hand_checked_cancellation(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    r = churn(ws, cancel_event="cancel", period="month")
    surv = r.tables["survival"].set_index("day")
    # first spells: a censored at 89 days (no cancel), b cancelled after 8 days, c same day, d 0+
    assert surv.loc[0.0, "survival"] == pytest.approx(3 / 4)
    assert surv.loc[8.0, "survival"] == pytest.approx(3 / 8)
    assert surv.loc[89.0, "censored"] == 1
    p = r.tables["periods"].set_index("period")
    # Feb: a alive from January; b's second spell (Feb 10) and c start; c cancels in Feb
    assert p.loc["2024-02-01", "customers_at_start"] == 1
    assert (p.loc["2024-02-01", "new"], p.loc["2024-02-01", "churned"]) == (2, 1)
    assert p.loc["2024-02-01", "churn_rate"] == 0.0


def test_churn_by_customers_column(make_workspace):
    customers = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "plan": ["pro", "pro", "free", "free"]})
    ws = load_events(make_workspace, JOURNEYS, customers=customers)
    life = churn(ws, inactivity_days=10, by="plan").tables["lifetime"].set_index("group")
    assert life.loc["pro", "customers"] == 2 and life.loc["free", "censored"] == 1


def test_churn_errors(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    with pytest.raises(SpecError, match="no event named 'unsubscribe'"):
        churn(ws, cancel_event="unsubscribe")
    with pytest.raises(SpecError, match="inactivity_days must be"):
        churn(ws, inactivity_days=0)
    with pytest.raises(SpecError, match="cannot also count as activity"):
        churn(ws, events=["x", "cancel"], cancel_event="cancel")


USERS = ("u1", "u2", "u3", "u4", "u5")
BASE = utc("2024-01-01 00:00")


@st.composite
def journeys_strategy(draw):
    n = draw(st.integers(1, 30))
    out: dict[str, list] = {}
    for _ in range(n):
        u = draw(st.sampled_from(USERS))
        hours = draw(st.integers(0, 120 * 24))
        e = draw(st.sampled_from(("x", "x", "y", "cancel")))
        out.setdefault(u, []).append((e, (BASE + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")))
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys=journeys_strategy(), tz=st.sampled_from(("UTC", "Asia/Shanghai")),
       days=st.sampled_from((3, 10, 30)), use_cancel=st.booleans(),
       period=st.sampled_from(("week", "month")))
def test_matches_oracle(journeys, tz, days, use_cancel, period):
    events = event_tuples(journeys)
    cancel = {"cancel"} if use_cancel and any(e == "cancel" for _, e, _ in events) else None
    ws = fresh_workspace(journeys, tz)
    r = churn(ws, inactivity_days=days, cancel_event=sorted(cancel) if cancel else None,
              period=period)
    spells = oracle.churn_spells(events, tz, inactivity_days=days, cancel=cancel)
    first, last = oracle.data_days(events, tz)
    # survival input: each user's first spell
    firsts = {}
    for u, s, c, obs in spells:
        if u not in firsts or s < firsts[u][0]:
            firsts[u] = (s, c, obs)
    if firsts:
        km = kaplan_meier([(c - s).days for s, c, _ in firsts.values()],
                          [obs for _, _, obs in firsts.values()])
        pd.testing.assert_frame_equal(r.tables["survival"].reset_index(drop=True), km,
                                      check_dtype=False)
    ref = oracle.churn_periods(spells, first, last, period, 0 if cancel else days)
    got = {row["period"]: (row["customers_at_start"], row["new"],
                           None if pd.isna(row["churned"]) else int(row["churned"]),
                           None if pd.isna(row["churned_from_start"]) else int(row["churned_from_start"]),
                           None if pd.isna(row["churn_rate"]) else float(row["churn_rate"]))
           for row in r.tables["periods"].to_dict(orient="records")}
    assert set(got) == set(ref)
    for p, (at, new, ch, old, rate) in ref.items():
        g = got[p]
        assert g[:2] == (at, new), p
        if ch is not None:  # complete period: every number is final
            assert g[2:4] == (ch, old), p
            assert g[4] == (pytest.approx(rate) if rate is not None else None), p
        else:
            assert g[2] is None
