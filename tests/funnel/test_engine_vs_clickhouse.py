"""The engine against ClickHouse's windowFunnel (chdb) on the e-commerce demo data.

Ordered mode, distinct step events: entities per step must equal what windowFunnel(W) gives
(entities whose level >= j), on the same Parquet file read both ways.
"""

from __future__ import annotations

import pytest

import funnelscope as fs
from funnelscope.data.demo import export, generate
from funnelscope.durations import to_microseconds

pytestmark = pytest.mark.usefixtures("names_unchecked")

chdb = pytest.importorskip("chdb")

STEPS = ["view", "add_to_cart", "checkout", "pay", "repurchase"]


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    export({"events": generate("ecommerce", users=4000, seed=11)["events"]}, out, fmt="parquet")
    return out / "events.parquet"


def _chdb_counts(path, steps, window_us, option=None):
    conds = ", ".join(f"event = '{s}'" for s in steps)  # constants, not user input
    opt = f", '{option}'" if option else ""
    sql = (
        f"SELECT level, count() FROM (SELECT user_id, windowFunnel({window_us}{opt})"
        f"(toUInt64(toUnixTimestamp64Micro(ts)), {conds}) AS level "
        f"FROM file('{path}', Parquet, 'user_id String, event String, ts DateTime64(6, ''UTC'')') "
        f"GROUP BY user_id) GROUP BY level ORDER BY level"
    )
    rows = [line.split(",") for line in str(chdb.query(sql, "CSV")).strip().splitlines()]
    by_level = {int(a): int(b) for a, b in rows}
    return [sum(n for lvl, n in by_level.items() if lvl >= j) for j in range(1, len(steps) + 1)]


@pytest.mark.parametrize("window", ["1h", "1d", "7d", "30d"])
def test_ordered_equals_windowfunnel(demo_events, window):
    ws = fs.connect(events=str(demo_events))
    ours = ws.funnel(STEPS, window=window).steps["entities"].tolist()
    assert ours == _chdb_counts(demo_events, STEPS, to_microseconds(window))
    assert ours[0] > ours[3] > 0 and ours == sorted(ours, reverse=True)
