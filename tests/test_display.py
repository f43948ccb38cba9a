"""Jupyter display and result lifetime: the terminal's formats, no workspace kept alive."""

from __future__ import annotations

import gc
import pickle

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses import display
from funnelscope.errors import WorkspaceError


def _workspace():
    ws = fs.connect()
    rows = []
    for u in range(30):
        rows.append({"user_id": f"u{u}", "event": "view", "ts": f"2026-01-01 00:{u:02d}:00",
                     "channel": "ads" if u % 2 else "organic"})
        if u % 3 == 0:
            rows.append({"user_id": f"u{u}", "event": "pay", "ts": f"2026-01-01 01:{u:02d}:00",
                         "channel": None})
    ws.load(pd.DataFrame(rows), "events")
    return ws


def test_cells_are_formatted_like_the_terminal():
    assert display.cell("conversion_from_start", 0.3261) == "32.6%"
    assert display.cell("median_seconds_from_previous", 318.0) == "5.3m"
    assert display.cell("p90_seconds_from_start", 5040.0) == "1.4h"
    assert display.cell("entities", 20000) == "20,000"
    assert display.cell("p_value", 4.83e-79) == "4.8e-79"
    assert display.cell("ci_low", None) == "–"
    assert display.cell("ci_low", pd.NA) == "–"


def test_funnel_html_uses_step_names_and_percentages():
    ws = _workspace()
    r = ws.funnel(["view", "pay"], window="1d", by="channel")
    html = r._repr_html_()
    groups = html[html.index("<h5>groups"):]
    assert "<th>view</th>" in groups and "<th>pay</th>" in groups and "step_1" not in groups
    assert "33.3%" in html  # 10 of 30 paid
    assert "1.0h" in html  # every payer paid an hour after viewing


def test_long_tables_are_cut_in_the_display():
    df = pd.DataFrame({"rate": [0.5] * 50})
    html = display.tables_html("R", {"t": df})
    assert html.count("<td>50.0%</td>") == 20 and "30 more rows" in html


def test_results_hold_no_workspace():
    ws = _workspace()
    r = ws.funnel(["view", "pay"], window="1d")
    assert sorted(r.converted()) == sorted(f"u{u}" for u in range(0, 30, 3))
    copy = pickle.loads(pickle.dumps(r))
    assert copy.workspace is None and copy.records("steps") == r.records("steps")
    with pytest.raises(WorkspaceError, match="ws="):
        copy.converted()
    assert copy.converted(ws=ws) == r.converted()
    del ws
    gc.collect()
    assert r.workspace is None  # the result did not keep the connection alive


def test_pipeline_results_outlive_their_workspace():
    from funnelscope.data.demo import generate

    ws = fs.connect()
    ws.load(generate("b2b", users=300, seed=3)["deals"], "deals")
    r = ws.pipeline()
    ws.close()
    del ws
    gc.collect()
    copy = pickle.loads(pickle.dumps(r))
    assert copy.forecast().meta == r.forecast().meta
    assert copy.backtest().tables["cutoffs"].equals(r.backtest().tables["cutoffs"])
