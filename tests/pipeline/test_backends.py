"""The same pipeline answers on every backend (DuckDB and PySpark local[2]).

Only the two engine queries differ per backend (the per-deal table and the replay); their
outputs and everything computed from them must be identical.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnelscope.analyses.pipeline import pipeline

from . import oracle
from .cases import B2B, random_rows, to_frame
from .test_journeys import AMOUNTS, CLOSED, JOURNEYS, OWNERS, journeys_to_rows

ROWS = journeys_to_rows(JOURNEYS, CLOSED, AMOUNTS, OWNERS) + random_rows(seed=7, n_deals=80)
TABLES = ("funnel", "funnel_by", "funnel_by_period", "velocity", "cycle", "stalled",
          "pipeline_velocity", "win_rates", "coverage", "bottlenecks")


def _run(make_workspace, backend):
    ws = make_workspace({"deals": to_frame(ROWS)}, backend=backend, deals={"stages": list(B2B)})
    r = pipeline(ws, by="owner", period="month", targets=5000)
    return r, r.backtest("month", periods=3), r.forecast(), r.what_if("sql", 10)


@pytest.mark.spark
def test_every_output_is_the_same_on_every_backend(make_workspace, backend):
    r, bt, fc, wi = _run(make_workspace, backend)
    want = oracle.funnel(oracle.build(ROWS, B2B, "won"), B2B)
    assert r.funnel["deals"].tolist() == [w["deals"] for w in want]
    assert r.funnel["lost"].tolist() == [w["lost"] for w in want]
    assert r.funnel["regressions"].tolist() == [w["regressions"] for w in want]
    assert len(bt.cutoffs) == 3
    if backend == "duckdb":
        return
    base, base_bt, base_fc, base_wi = _run(make_workspace, "duckdb")
    pd.testing.assert_frame_equal(r.deals, base.deals)
    for name in TABLES:
        pd.testing.assert_frame_equal(r.tables[name], base.tables[name], check_exact=False,
                                      rtol=1e-12)
    pd.testing.assert_frame_equal(bt.cutoffs, base_bt.cutoffs, check_exact=False, rtol=1e-12)
    assert bt.meta == base_bt.meta
    pd.testing.assert_frame_equal(fc.tables["stages"], base_fc.tables["stages"],
                                  check_exact=False, rtol=1e-12)
    assert wi == base_wi
