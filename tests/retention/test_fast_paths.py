"""The fast DuckDB paths of retention, activity and churn against the portable Ibis
expressions (which the cross-backend tests hold equal to Spark, and the oracle tests to plain
Python), on one random log and many options, in a reporting zone with DST."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnelscope.analyses.retention import fast_activity, fast_churn, fast_retention
from funnelscope.analyses.retention.actives import activity
from funnelscope.analyses.retention.cohorts import retention
from funnelscope.analyses.retention.lifetimes import churn

from .helpers import load_events


@pytest.fixture(scope="module")
def journeys():
    rng = np.random.default_rng(3)
    t0 = pd.Timestamp("2024-02-20")
    out: dict[str, list] = {}
    for i in range(3000):
        user = f"u{rng.zipf(1.5) % 150}"
        when = t0 + pd.Timedelta(minutes=int(rng.integers(0, 50 * 24 * 60)))
        event = str(rng.choice(["view", "click", "pay", "signup"], p=[0.5, 0.3, 0.1, 0.1]))
        out.setdefault(user, []).append((event, when.strftime("%Y-%m-%d %H:%M")))
        if i % 7 == 0:  # right at a New York midnight (05:00 / 04:00 UTC)
            out[user].append(("view", when.strftime("%Y-%m-%d 05:00")))
    return out


def both(monkeypatch, module, run):
    """(fast result, portable result) of ``run()``."""
    fast = run()
    with monkeypatch.context() as m:
        m.setattr(module, "applies", lambda *a, **k: False)
        slow = run()
    return fast, slow


RETENTION = [
    {"period": "day", "periods": 10},
    {"period": "day", "periods": 62, "kind": "on"},
    {"period": "week", "periods": 4, "brackets": [1, "2-4"]},
    {"period": "month", "periods": 1},
    {"period": "day", "periods": 5, "kind": "on_or_after"},
    {"start": "signup", "returning": "any", "period": "day", "periods": 7},
    {"start": "view", "returning": ["view", "pay"], "period": "week", "periods": 3},
    {"start": "pay", "returning": "view", "period": "day", "periods": 7},
    {"start": "pay", "returning": "view", "period": "week", "periods": 2, "kind": "on_or_after"},
    {"returning": "pay", "period": "day", "periods": 3},
]


@pytest.mark.parametrize("options", RETENTION)
def test_retention_fast_equals_portable(make_workspace, journeys, monkeypatch, options):
    ws = load_events(make_workspace, journeys, tz="America/New_York")
    fast, slow = both(monkeypatch, fast_retention, lambda: retention(ws, **options))
    assert fast.to_dict()["cohorts"] == slow.to_dict()["cohorts"]
    for name, table in slow.tables.items():
        pd.testing.assert_frame_equal(fast.tables[name], table, check_dtype=False)


@pytest.mark.parametrize("options", [{"period": "week"}, {"period": "month"},
                                     {"period": "day", "events": ["view", "pay"]}])
def test_activity_fast_equals_portable(make_workspace, journeys, monkeypatch, options):
    ws = load_events(make_workspace, journeys, tz="America/New_York")
    fast, slow = both(monkeypatch, fast_activity, lambda: activity(ws, **options))
    for name, table in slow.tables.items():
        pd.testing.assert_frame_equal(fast.tables[name], table, check_dtype=False)
    assert fast.meta["summary"] == slow.meta["summary"]


@pytest.mark.parametrize("options", [{"inactivity_days": 7, "period": "week"},
                                     {"inactivity_days": 3, "period": "day"},
                                     {"inactivity_days": 10, "period": "month", "events": "view"}])
def test_churn_fast_equals_portable(make_workspace, journeys, monkeypatch, options):
    ws = load_events(make_workspace, journeys, tz="America/New_York")
    fast, slow = both(monkeypatch, fast_churn, lambda: churn(ws, **options))
    for name, table in slow.tables.items():
        pd.testing.assert_frame_equal(fast.tables[name], table, check_dtype=False)
