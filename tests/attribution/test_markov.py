"""The Markov model: exact removal effects on small graphs worked out by hand, a Monte-Carlo
simulation of the fitted chain, and the errors of a bad request.

Each hand-checked graph is written twice: as journeys (users' events, run end to end through
``ws.attribution``) and as the arithmetic in the comments, in fractions. Notation: a = P(a
walk from channel A ends in conversion), the same for b, c; P = from start.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from fractions import Fraction as F

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses.attribution.markov import fit_chain
from funnelscope.errors import ConfigError, SpecError

BASE = datetime(2026, 3, 1)


def run(journeys, value=False, **kw):
    """``journeys``: [(channels, outcome, value)] with outcome "pay" or None; one user each,
    touches one hour apart, the conversion an hour after the last touch."""
    rows = []
    for i, (channels, outcome, amount) in enumerate(journeys):
        user = f"u{i}"
        for h, ch in enumerate(channels):
            rows.append({"user_id": user, "event": "visit", "ts": BASE + timedelta(hours=h),
                         "channel": ch, "amount": None})
        if outcome:
            rows.append({"user_id": user, "event": "pay",
                         "ts": BASE + timedelta(hours=len(channels)), "channel": None,
                         "amount": amount})
    ws = fs.connect(tz="UTC")
    ws.load(pd.DataFrame(rows), "events")
    return ws.attribution(conversion_event="pay", touch_event="visit",
                          value="revenue" if value else "conversions", **kw)


def check(result, p, effects, attributed, table="channels"):
    got = result.tables[table].set_index("channel")
    if p is not None:
        assert result.meta["conversion_probability"] == pytest.approx(float(p), abs=1e-12)
    for ch, e in effects.items():
        assert got.loc[ch, "removal_effect"] == pytest.approx(float(e), abs=1e-12), ch
        assert got.loc[ch, "markov"] == pytest.approx(float(attributed[ch]), abs=1e-12), ch


def test_a_chain_without_loops():
    # journeys: A > B converts, A ends in null, B converts.
    # start->A 2/3, start->B 1/3; A->B 1/2, A->null 1/2; B->conversion 1.
    # b = 1; a = 1/2 * b = 1/2; P = 2/3 * 1/2 + 1/3 * 1 = 2/3.
    # A removed: P = 1/3 * b = 1/3 -> effect 1 - (1/3)/(2/3) = 1/2.
    # B removed: P = 0 -> effect 1.
    # shares 1/2 : 1 -> A 1/3, B 2/3 of 2 conversions: A 2/3, B 4/3.
    r = run([(["A", "B"], "pay", 1.0), (["A"], None, None), (["B"], "pay", 1.0)])
    check(r, F(2, 3), {"A": F(1, 2), "B": F(1)}, {"A": F(2, 3), "B": F(4, 3)})


def test_a_chain_with_a_loop():
    # journeys: A > B > A converts, B ends in null, A converts, B > A ends in null.
    # start->A 2/4, start->B 2/4. A: ->B 1, ->conversion 2, ->null 1 (of 4).
    # B: ->A 2, ->null 1 (of 3).
    # a = 1/4 b + 1/2, b = 2/3 a  =>  a = a/6 + 1/2  =>  a = 3/5, b = 2/5.
    # P = 1/2 * 3/5 + 1/2 * 2/5 = 1/2.
    # A removed: every walk that would reach A ends in null; B's only way on is A: P = 0,
    # effect 1. B removed: a = 1/2 (A->B now null), P = 1/2 * 1/2 = 1/4, effect 1/2.
    # shares 1 : 1/2 -> of 2 conversions: A 4/3, B 2/3.
    r = run([(["A", "B", "A"], "pay", 1.0), (["B"], None, None), (["A"], "pay", 1.0),
             (["B", "A"], None, None)])
    check(r, F(1, 2), {"A": F(1), "B": F(1, 2)}, {"A": F(4, 3), "B": F(2, 3)})


def test_repeats_merge_and_a_conversion_can_count_several_times():
    # journeys: A > A > B three times converting (three users) and once ending in null,
    # C twice in null, C > B converting.
    # repeats merge: A > A > B is A > B. start->A 4/7, start->C 3/7; A->B 1;
    # C->B 1/3, C->null 2/3; B->conversion 4/5, B->null 1/5.
    # b = 4/5, a = 4/5, c = 1/3 * 4/5 = 4/15; P = 4/7 * 4/5 + 3/7 * 4/15 = 48/105 + 12/105 = 4/7.
    # A removed: P = 3/7 * 4/15 = 4/35 -> effect 1 - (4/35)/(4/7) = 4/5.
    # B removed: P = 0 -> effect 1.  C removed: P = 16/35 -> effect 1 - 4/5 = 1/5.
    # effects sum to 2: shares A 2/5, B 1/2, C 1/10 of 4 conversions: 8/5, 2, 2/5.
    journeys = [(["A", "A", "B"], "pay", 1.0)] * 3 + [(["A", "A", "B"], None, None),
                                                      (["C"], None, None), (["C"], None, None),
                                                      (["C", "B"], "pay", 1.0)]
    r = run(journeys)
    check(r, F(4, 7), {"A": F(4, 5), "B": F(1), "C": F(1, 5)},
          {"A": F(8, 5), "B": F(2), "C": F(2, 5)})
    transitions = {(t["from_state"], t["to_state"]): t["probability"]
                   for t in r.to_dict()["transitions"]}
    assert ("A", "A") not in transitions  # merged, as ChannelAttribution does
    assert transitions[("C", "B")] == pytest.approx(1 / 3)


def test_revenue_removal_effects_weight_conversions_by_their_value():
    # journeys: A converts worth 100, B converts worth 20, A > B ends in null.
    # start->A 2/3, start->B 1/3; A->conversion 1/2, A->B 1/2; B->conversion 1/2, B->null 1/2.
    # mean value of a conversion reached from A: 100, from B: 20.
    # E[value] from B = 1/2 * 20 = 10; from A = 1/2 * 100 + 1/2 * 10 = 55;
    # from start = 2/3 * 55 + 1/3 * 10 = 40.
    # A removed: 1/3 * 10 = 10/3 -> effect 1 - (10/3)/40 = 11/12.
    # B removed: from A = 50 -> 2/3 * 50 = 100/3 -> effect 1 - 5/6 = 1/6.
    # shares 11/13 and 2/13 of revenue 120: A 1320/13, B 240/13.
    # conversions: b = 1/2, a = 1/2 + 1/4 = 3/4, P = 2/3 * 3/4 + 1/3 * 1/2 = 2/3.
    r = run([(["A"], "pay", 100.0), (["B"], "pay", 20.0), (["A", "B"], None, None)], value=True)
    check(r, None, {"A": F(11, 12), "B": F(1, 6)}, {"A": F(1320, 13), "B": F(240, 13)},
          table="revenue")
    assert r.meta["conversion_probability"] == pytest.approx(2 / 3)
    assert r.meta["revenue"] == pytest.approx(120.0)


# ----- Monte Carlo ---------------------------------------------------------------------------------
def random_paths(seed=11, n=400):
    rng = random.Random(seed)
    paths = []
    for _ in range(n):
        length = rng.choice([1, 1, 2, 3, 4])
        path = tuple(rng.choice("ABCD") for _ in range(length))
        converts = rng.random() < (0.15 + 0.2 * path.count("B") + 0.1 * ("D" in path))
        paths.append((path, 1 if converts else 0, 0 if converts else 1, 10.0 if converts else 0.0))
    return paths


def simulate(paths, walks, seed=5):
    """Simulate ``walks`` walks of the chain fitted to ``paths`` (its transitions counted here
    from the paths): P(conversion), and for each channel P(conversion without visiting it),
    which is P(conversion) with the channel removed (a removed channel sends walks to null
    the moment they reach it)."""
    counts = defaultdict(lambda: defaultdict(float))
    for path, conv, nulls, _ in paths:
        merged = [c for i, c in enumerate(path) if i == 0 or path[i - 1] != c]
        states = ["(start)", *merged]
        for a, b in zip(states, states[1:], strict=False):
            counts[a][b] += conv + nulls
        counts[merged[-1]]["(conversion)"] += conv
        counts[merged[-1]]["(null)"] += nulls
    table = {s: (list(row), list(row.values())) for s, row in counts.items()}
    rng = random.Random(seed)
    converted = 0
    without = defaultdict(int)
    channels = sorted({c for p, *_ in paths for c in p})
    for _ in range(walks):
        state, seen = "(start)", set()
        while state not in ("(conversion)", "(null)"):
            targets, weights = table[state]
            state = rng.choices(targets, weights)[0]
            seen.add(state)
        if state == "(conversion)":
            converted += 1
            for c in channels:
                if c not in seen:
                    without[c] += 1
    return converted / walks, {c: without[c] / walks for c in channels}


def test_exact_solution_agrees_with_a_simulation_of_the_chain():
    paths = random_paths()
    chain = fit_chain(paths)
    walks = 60_000
    p_sim, removed_sim = simulate(paths, walks)
    p = chain.conversion_probability()
    tolerance = 5 * (0.25 / walks) ** 0.5  # five standard errors of a proportion
    assert p == pytest.approx(p_sim, abs=tolerance)
    for c, p_removed in removed_sim.items():
        assert chain.conversion_probability(removed=c) == pytest.approx(p_removed, abs=tolerance), c


def test_engine_paths_give_the_fitted_chain():
    """The same paths through a workspace give the same removal effects as the chain fitted
    directly (the SQL's path aggregation loses nothing)."""
    paths = random_paths(seed=3, n=120)
    journeys = [(list(p), "pay" if c else None, v if c else None) for p, c, _, v in paths]
    r = run(journeys)
    chain = fit_chain(paths)
    got = r.tables["channels"].set_index("channel")
    for c, e in zip(chain.channels, chain.removal_effects(), strict=True):
        assert got.loc[c, "removal_effect"] == pytest.approx(e, abs=1e-12)
    assert got["markov"].sum() == pytest.approx(sum(c for _, c, _, _ in paths))


# ----- errors ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_ws():
    ws = fs.connect(tz="UTC")
    ws.load(pd.DataFrame([
        {"user_id": "u1", "event": "visit", "ts": BASE, "channel": "A"},
        {"user_id": "u1", "event": "pay", "ts": BASE + timedelta(hours=1), "channel": None},
    ]), "events")
    return ws


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({}, SpecError, "conversion_event"),
    ({"conversion_event": "pya"}, SpecError, "did you mean 'pay'"),
    ({"conversion_event": "pay", "touch_event": "visti"}, SpecError, "did you mean 'visit'"),
    ({"conversion_event": "pay", "touch_event": "pay"}, SpecError, "cannot be its own touch"),
    ({"conversion_event": "pay", "channel_column": "chanel"}, ConfigError, "did you mean 'channel'"),
    ({"conversion_event": "pay", "order": 2}, SpecError, "only the first-order"),
    ({"conversion_event": "pay", "lookback": "0d"}, SpecError, "lookback"),
    ({"conversion_event": "pay", "half_life": "soon"}, SpecError, "half_life"),
    ({"conversion_event": "pay", "value": "profit"}, SpecError, "value"),
    ({"conversion_event": "pay", "value": "revenue"}, ConfigError, "no amount column"),
])
def test_a_bad_request_says_what_to_change(small_ws, kwargs, error, words):
    with pytest.raises(error) as raised:
        small_ws.attribution(**kwargs)
    assert words.lower() in str(raised.value).lower()


def test_other_engines_get_a_clear_error():
    class PolarsLike:
        engine = "polars"

    from funnelscope.analyses.attribution.run import attribution

    with pytest.raises(SpecError, match="DuckDB and PySpark"):
        attribution(PolarsLike(), conversion_event="pay")


def test_the_spec_compiles_without_data():
    from funnelscope.analyses.attribution.spec import AttributionSpec

    sql = AttributionSpec(conversion_events=("pay",), touch_events=("it's",)).to_sql()
    assert "'it''s'" in sql and "ASOF LEFT JOIN" in sql
