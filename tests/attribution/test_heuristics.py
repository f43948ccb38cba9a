"""Attribution's journeys and rule-based models against a per-user pure-Python oracle.

Oracles, written here from docs/attribution.md and not from the engine's SQL:

* journeys: for each user, events sorted by time; each touch goes to the first conversion
  instant at or after it when within the lookback, else (after the last conversion) to the
  user's journey ending in null -- a loop, no joins;
* first touch, last touch, linear: ChannelAttribution's ``heuristic_models()`` as its C++
  source defines them (``heuristic_models_cpp``: the first channel of the path gets the
  conversions, the last channel gets them, and each channel gets (its occurrences / path
  length) x conversions), on paths written as ChannelAttribution takes them
  (``"A > B > A"`` strings split on ``>``);
* time decay (2^(-age/half-life), normalised per conversion) and position (40/20/40);
* Markov: absorption probabilities by value iteration (x <- Qx + r until it stops moving),
  not a linear solve.

Hypothesis generates the users' events (times on an hour grid, so ties and lookback edges
happen); every model's credit must match, and every model must share out exactly the
conversions that have a touch.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelscope as fs

BASE = datetime(2026, 1, 1)
HOUR = 3600.0
CHANNELS = ["ads", "email", "search"]


# ----- the oracle ------------------------------------------------------------------------------
def oracle_journeys(rows, conversion="pay", touch=None, lookback_h=48, first=False):
    """[(channels in order, ages in hours, conversions, value)], one per journey; ages are
    conversion time - touch time (None for a journey ending in null)."""
    by_user = defaultdict(list)
    for user, event, hour, channel, amount in rows:
        by_user[user].append((hour, event, channel, amount))
    out = []
    for events in by_user.values():
        convs = defaultdict(lambda: [0, 0.0])
        for hour, event, _, amount in events:
            if event == conversion:
                convs[hour][0] += 1
                convs[hour][1] += amount or 0.0
        instants = sorted(convs)
        if first:
            instants = instants[:1]
        touches = sorted((h, ch) for h, e, ch, _ in events
                         if ch is not None and e != conversion and (touch is None or e == touch))
        journeys = defaultdict(list)
        trailing = []
        for hour, ch in touches:
            later = [c for c in instants if c >= hour]
            if later:
                if later[0] - hour <= lookback_h:
                    journeys[later[0]].append((hour, ch))
            elif not (first and convs):
                trailing.append((hour, ch))
        for c, ts in journeys.items():
            out.append(([ch for _, ch in ts], [c - h for h, _ in ts], convs[c][0], convs[c][1]))
        if trailing:
            end = trailing[-1][0]
            kept = [(h, ch) for h, ch in trailing if end - h <= lookback_h]
            out.append(([ch for _, ch in kept], None, 0, 0.0))
    return out


def channel_attribution_heuristics(paths):
    """ChannelAttribution's heuristic_models() on (path string, conversions) rows."""
    first, last, linear = defaultdict(float), defaultdict(float), defaultdict(float)
    for path, conv in paths:
        channels = [c.strip() for c in path.split(">")]
        first[channels[0]] += conv
        last[channels[-1]] += conv
        for c in set(channels):
            linear[c] += channels.count(c) / len(channels) * conv
    return {"first_touch": first, "last_touch": last, "linear": linear}


def oracle_credit(journeys, half_life_h, value=False):
    """Every model's credit per channel (conversions, or values)."""
    converting = [j for j in journeys if j[1] is not None]
    weight = (lambda j: j[3]) if value else (lambda j: j[2])
    credit = channel_attribution_heuristics([(" > ".join(p), weight(j)) for j in converting
                                             for p in [j[0]]])
    decay, position = defaultdict(float), defaultdict(float)
    for path, ages, _conv, _val in converting:
        w = weight((path, ages, _conv, _val))
        raw = [2 ** (-a / half_life_h) for a in ages]
        for ch, r in zip(path, raw, strict=True):
            decay[ch] += w * r / sum(raw)
        n = len(path)
        for i, ch in enumerate(path):
            if n == 1:
                share = 1.0
            elif n == 2:
                share = 0.5
            else:
                share = 0.4 if i in (0, n - 1) else 0.2 / (n - 2)
            position[ch] += w * share
    credit.update(time_decay=decay, position=position)
    return credit


def value_iteration_markov(journeys):
    """P(conversion) and removal effects of the first-order chain, by value iteration."""
    counts = defaultdict(lambda: defaultdict(float))
    for path, ages, conv, _ in journeys:
        merged = [c for i, c in enumerate(path) if i == 0 or path[i - 1] != c]
        weight = conv if ages is not None else 1
        states = ["(start)", *merged]
        for a, b in zip(states, states[1:], strict=False):
            counts[a][b] += weight
        if ages is not None:
            counts[merged[-1]]["(conversion)"] += conv
        else:
            counts[merged[-1]]["(null)"] += 1

    def p_conversion(removed=None):
        x = defaultdict(float)
        for _ in range(5000):
            new = defaultdict(float)
            for s, row in counts.items():
                total = sum(row.values())
                new[s] = sum(n / total * (1.0 if t == "(conversion)" else
                                          0.0 if t in ("(null)", removed) else x[t])
                             for t, n in row.items())
            if max((abs(new[s] - x[s]) for s in new), default=0) < 1e-15:
                x = new
                break
            x = new
        return x["(start)"]

    base = p_conversion()
    channels = sorted({c for p, *_ in journeys for c in p})
    effects = {c: (1 - p_conversion(c) / base) if base > 0 else 0.0 for c in channels}
    return base, effects


# ----- generated data ------------------------------------------------------------------------------
EVENT = st.tuples(
    st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
    st.sampled_from(["visit", "visit", "visit", "browse", "pay"]),
    st.integers(0, 160),  # hour
    st.sampled_from(CHANNELS + [None]),
    st.sampled_from([None, 10.0, 25.5]),
)


def workspace(rows):
    ws = fs.connect(tz="UTC")
    frame = pd.DataFrame([
        {"event_id": f"e{i}", "user_id": u, "event": e, "ts": BASE + timedelta(hours=h),
         "channel": ch, "amount": amount if e == "pay" else None}
        for i, (u, e, h, ch, amount) in enumerate(rows)])
    ws.load(frame, "events")
    return ws


def clean(rows):
    """Rows as loaded: amounts only on conversions; one visit and one pay always exist (a
    touch or conversion event absent from the data is an error, tested elsewhere)."""
    return [(u, e, h, ch, amount if e == "pay" else None) for u, e, h, ch, amount in rows] + \
        [("u9", "visit", 0, "ads", None), ("u9", "pay", 200, None, 5.0)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(EVENT, min_size=1, max_size=40),
       touch=st.sampled_from([None, "visit"]), first=st.booleans(),
       lookback_h=st.sampled_from([6, 48, 500]), half_life_h=st.sampled_from([1, 10]))
def test_every_model_matches_the_oracle(rows, touch, first, lookback_h, half_life_h):
    rows = clean(rows)
    journeys = oracle_journeys(rows, touch=touch, lookback_h=lookback_h, first=first)
    ws = workspace(rows)
    r = ws.attribution(conversion_event="pay", touch_event=touch, lookback=f"{lookback_h}h",
                       half_life=f"{half_life_h}h", first_conversion=first, value="revenue")
    conversions = sum(j[2] for j in journeys if j[1] is not None)
    assert r.meta["attributed_conversions"] == conversions
    assert r.meta["null_journeys"] == sum(1 for j in journeys if j[1] is None)
    assert r.meta["converting_journeys"] == sum(1 for j in journeys if j[1] is not None)
    pays = defaultdict(list)
    for u, e, h, *_ in rows:
        if e == "pay":
            pays[u].append(h)
    all_conv = sum(hours.count(min(hours)) if first else len(hours) for hours in pays.values())
    assert r.meta["conversions"] == all_conv
    assert r.meta["conversions_without_touches"] == all_conv - conversions
    for table, value in (("channels", False), ("revenue", True)):
        expected = oracle_credit(journeys, half_life_h, value=value)
        got = r.tables[table].set_index("channel")
        for model, per_channel in expected.items():
            for ch in set(got.index) | set(per_channel):
                have = float(got[model].get(ch, 0.0))
                assert have == pytest.approx(per_channel.get(ch, 0.0), abs=1e-9), (table, model, ch)
        total = sum(j[3 if value else 2] for j in journeys if j[1] is not None)
        for model in ("first_touch", "last_touch", "linear", "time_decay", "position", "markov"):
            assert got[model].sum() == pytest.approx(total, abs=1e-9), (table, model)
    base, effects = value_iteration_markov(journeys)
    assert r.meta["conversion_probability"] == pytest.approx(base, abs=1e-9)
    got = r.tables["channels"].set_index("channel")
    for ch, effect in effects.items():
        assert float(got.loc[ch, "removal_effect"]) == pytest.approx(effect, abs=1e-9), ch
    total_effect = sum(effects.values())
    for ch, effect in effects.items():
        share = effect / total_effect * conversions if total_effect else 0.0
        assert float(got.loc[ch, "markov"]) == pytest.approx(share, abs=1e-9), ch
    ws.close()


def test_channel_attribution_counts_each_occurrence_for_linear():
    """ChannelAttribution's linear_touch: a > b > a with 3 conversions gives a 2, b 1."""
    ws = workspace([("u1", "visit", 0, "a", None), ("u1", "visit", 1, "b", None),
                    ("u1", "visit", 2, "a", None), ("u2", "pay", 0, None, None),
                    ("u1", "pay", 3, None, None), ("u1", "pay", 3, "x", 1.0)])
    # two conversion rows at hour 3 (one carrying a channel, which is no touch): 2 conversions
    # of one journey; u2's conversion has no touch
    r = ws.attribution(conversion_event="pay", touch_event="visit")
    got = r.tables["channels"].set_index("channel")
    oracle = channel_attribution_heuristics([("a > b > a", 2)])
    for model in ("first_touch", "last_touch", "linear"):
        for ch in ("a", "b"):
            assert got.loc[ch, model] == pytest.approx(oracle[model].get(ch, 0.0))
    assert got.loc["a", "linear"] == pytest.approx(4 / 3)
    assert got.loc["a", "position"] == pytest.approx(2 * (0.4 + 0.4))
    assert r.meta["conversions"] == 3 and r.meta["conversions_without_touches"] == 1


def test_touches_default_to_every_event_with_a_channel():
    rows = [("u1", "browse", 0, "ads", None), ("u1", "visit", 1, "search", None),
            ("u1", "browse", 2, None, None), ("u1", "pay", 3, "search", 9.0)]
    ws = workspace(rows)
    default = ws.attribution(conversion_event="pay").tables["channels"].set_index("channel")
    assert default.loc["ads", "first_touch"] == 1 and default.loc["search", "last_touch"] == 1
    visits = ws.attribution(conversion_event="pay", touch_event="visit").tables["channels"]
    assert list(visits["channel"]) == ["search"]


def test_lookback_and_previous_conversion_bound_a_journey():
    rows = [("u1", "visit", 0, "a", None), ("u1", "visit", 10, "b", None),
            ("u1", "pay", 12, None, None), ("u1", "visit", 13, "c", None),
            ("u1", "pay", 14, None, None), ("u1", "visit", 20, "a", None)]
    r = workspace(rows).attribution(conversion_event="pay", lookback="5h")
    first = r.tables["channels"].set_index("channel")["first_touch"]
    # journey 1 = b (a is 12h before), journey 2 = c (b belongs to the first conversion)
    assert first.get("b") == 1 and first.get("c") == 1 and first.get("a", 0) == 0
    assert r.meta["null_journeys"] == 1  # the visit after the last conversion
