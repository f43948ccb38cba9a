"""Charts show the Result's numbers: counts, conversion, drop-off, intervals, times, in en and zh.

Oracles: the readable journeys below counted by hand (the docs/funnels.md example), a plain
Python median, and the Result's own tables for the other analyses (a chart must draw exactly
the numbers its Result holds, whatever computed them).
"""

from __future__ import annotations

import re
import statistics

import pandas as pd
import plotly.graph_objects as go
import pytest

import funnelscope as fs
from funnelscope.errors import ConfigError
from funnelscope.report import charts, runner, style

# docs/funnels.md, ordered mode, W = 30 min: view 5, cart 4, pay 2.
JOURNEYS = {
    "ana": [("view", "10:00"), ("cart", "10:05"), ("pay", "10:20")],
    "ben": [("view", "10:00"), ("cart", "10:10")],
    "chen": [("cart", "10:00"), ("view", "10:05"), ("pay", "10:10")],
    "dee": [("view", "10:00"), ("cart", "10:10"), ("pay", "10:31")],
    "eve": [("view", "10:00"), ("view", "10:20"), ("cart", "10:25"), ("pay", "10:45")],
    "fay": [("cart", "10:00"), ("pay", "10:05")],
}
CHANNEL = {"ana": "ads", "ben": "ads", "chen": "search", "dee": "search", "eve": "search",
           "fay": "ads"}
EXPECTED_STEPS = [5, 4, 2]
# seconds from the first step (view) to pay for the two who paid: ana 20 min, eve 25 min
# (eve's chain starts at the second view)
PAY_SECONDS = [20 * 60, 25 * 60]


def _journey_ws():
    rows = [(user, event, f"2024-01-01 {hhmm}", CHANNEL[user])
            for user, events in JOURNEYS.items() for event, hhmm in events]
    ws = fs.connect()
    ws.load(pd.DataFrame(rows, columns=["user_id", "event", "ts", "channel"]), "events")
    return ws


@pytest.fixture(scope="module")
def journey_result():
    return _journey_ws().funnel(["view", "cart", "pay"], "30m", by="channel", period="day")


def test_funnel_chart_draws_step_counts_conversion_and_drop_off(journey_result):
    fig = charts.plot(journey_result)
    kept, lost = fig.data
    assert list(kept.y) == ["view", "cart", "pay"]
    assert list(kept.x) == EXPECTED_STEPS
    assert list(lost.x) == [0] + [a - b for a, b in zip(EXPECTED_STEPS[:-1], EXPECTED_STEPS[1:], strict=True)]
    # labels: count and share of the first step; lost with the share lost from the previous
    assert kept.text[2] == f"2 · {2 / 5:.1%}"
    assert lost.text[2] == f"−2 ({1 - 2 / 4:.1%})"
    assert kept.marker.color == style.KEPT and lost.marker.color == style.LOST


def test_time_to_convert_histogram_counts_converters_and_marks_the_median(journey_result):
    fig = journey_result.plot("time_to_convert", bins=5)
    bars = fig.data[0]
    assert sum(bars.y) == len(PAY_SECONDS)
    unit, size = style.duration_unit(max(PAY_SECONDS))
    assert fig.layout.xaxis.title.text == "Minutes" and unit == "minutes"
    median_line = [s for s in fig.layout.shapes if s.type == "line"][0]
    assert median_line.x0 == pytest.approx(statistics.median(PAY_SECONDS) / size)


def test_breakdown_chart_draws_group_conversion_with_intervals(journey_result):
    fig = journey_result.plot("breakdown")
    bar = fig.data[0]
    g = journey_result.groups
    assert list(bar.y) == list(g["group"])
    # by hand: ads {ana, ben} -> ana paid: 1 of 2; search {chen, dee, eve} -> eve: 1 of 3
    # (fay never viewed, so she is not in the funnel)
    assert dict(zip(bar.y, bar.x, strict=True)) == pytest.approx({"ads": 1 / 2, "search": 1 / 3})
    for c, hi, lo, up, down in zip(bar.x, g["ci_high"], g["ci_low"], bar.error_x.array,
                                   bar.error_x.arrayminus, strict=True):
        assert up == pytest.approx(hi - c) and down == pytest.approx(c - lo)


def test_trend_chart_draws_conversion_by_entry_period(journey_result):
    fig = journey_result.plot("trend")
    line = next(t for t in fig.data if t.type == "scatter" and t.mode == "lines+markers")
    assert list(line.x) == list(journey_result.periods["period"])
    assert list(line.y) == pytest.approx([2 / 5])


def test_kinds_follow_the_data():
    r = _journey_ws().funnel(["view", "cart", "pay"], "30m")
    assert charts.kinds(r) == ["funnel", "time_to_convert"]  # no groups, no periods
    with pytest.raises(ConfigError, match="no chart 'nope'"):
        r.plot("nope")
    with pytest.raises(ConfigError, match="no chart is defined"):
        charts.plot(object())
    with pytest.raises(ConfigError, match="unknown language"):
        r.plot(lang="fr")


def test_result_plot_delegates_to_the_registry(journey_result):
    assert journey_result.plot().to_json() == charts.plot(journey_result, "funnel").to_json()


# ----- every Result type on the demo workspace --------------------------------------------------
def _results(ws, data):
    """The report's results (one run per session) plus a funnel with groups and periods."""
    from funnelscope.definitions import load_for

    out = {"funnel": load_for(ws.path).funnel("checkout").run(ws, by="channel", period="week")}
    out.update({name: part.result for name, part in data.parts.items() if part.ok})
    if runner.function("aarrr") is not None:
        out["aarrr"] = runner.run(ws, "aarrr")
    if "pipeline" in out:
        out["forecast"] = data.parts["pipeline"].extra["forecast"].result
        out["backtest"] = data.parts["pipeline"].extra["backtest"].result
    return out


@pytest.fixture(scope="module")
def demo_results(demo_ws, demo_data):
    return _results(demo_ws, demo_data)


ALLOWED_COLOURS = set(style.PALETTE) | {style.KEPT, style.LOST, style.NEUTRAL, "#555555"}


def _colours(fig: go.Figure) -> set[str]:
    found = set()
    for trace in fig.data:
        marker = getattr(trace, "marker", None)
        colour = getattr(marker, "color", None) if marker is not None else None
        colours = colour if isinstance(colour, (list, tuple)) else [colour]
        found |= {c for c in colours if isinstance(c, str) and c.startswith("#")}
        line = getattr(trace, "line", None)
        if line is not None and isinstance(getattr(line, "color", None), str):
            found.add(line.color)
    return found


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_result_type_has_charts_in_both_languages(demo_results):
    expected = {"funnel": 4, "retention": 2, "activity": 2, "churn": 2, "aarrr": 2, "rfm": 2,
                "clusters": 1, "clv": 1, "acquisition": 1, "churn_risk": 2, "b2b_chain": 1, "benchmark": 1, "pipeline": 5, "forecast": 1,
                "backtest": 1, "watch": 1, "experiment": 2, "attribution": 2, "paths": 1,
                "satisfaction": 3, "leads": 1, "traffic": 2}
    for name, result in demo_results.items():
        kinds = charts.kinds(result)
        assert len(kinds) == expected[name], (name, kinds)
        for kind in kinds:
            for lang in ("en", "zh"):
                fig = result.plot(kind, lang=lang) if hasattr(result, "plot") else \
                    charts.plot(result, kind, lang=lang)
                assert isinstance(fig, go.Figure) and fig.data, (name, kind)
                title = fig.layout.title.text
                assert title and (bool(CJK.search(title)) == (lang == "zh")), (name, kind, title)
                assert _colours(fig) <= ALLOWED_COLOURS, (name, kind, _colours(fig))


def test_retention_heatmap_cells_are_the_result_rates(demo_results):
    r = demo_results["retention"]
    fig = r.plot("heatmap")
    cells = r.tables["cells"]
    z = fig.data[0].z
    for i, cohort in enumerate(cells["cohort"].unique()):
        expected = cells[cells["cohort"] == cohort].sort_values("period")["rate"]
        got = list(z[i])
        for e, g in zip(expected, got, strict=True):
            assert (pd.isna(e) and g is None) or g == pytest.approx(float(e))


def test_pipeline_funnel_and_backtest_draw_the_result_tables(demo_results):
    if "pipeline" not in demo_results:
        pytest.skip("pipeline analysis not installed")
    p = demo_results["pipeline"]
    fig = p.plot("funnel")
    assert list(fig.data[0].x) == list(p.tables["funnel"]["deals"])
    assert list(fig.data[1].x) == list(p.tables["funnel"]["lost"])
    b = demo_results["backtest"]
    fig = b.plot("forecast_vs_actual")
    cut = b.tables["cutoffs"]
    actual = next(t for t in fig.data if t.type == "bar")
    assert list(actual.y) == pytest.approx(list(cut["actual"].astype(float)))


def test_rfm_grid_counts_every_customer_once(demo_results):
    if "rfm" not in demo_results:
        pytest.skip("value analyses not installed")
    r = demo_results["rfm"]
    fig = r.plot("grid")
    assert sum(sum(row) for row in fig.data[0].z) == len(r.tables["customers"])


def test_clv_histogram_holds_every_customer(demo_results):
    if "clv" not in demo_results:
        pytest.skip("value analyses not installed")
    r = demo_results["clv"]
    fig = r.plot("distribution")
    assert sum(fig.data[0].y) == int(r.tables["customers"]["clv"].notna().sum())


# ----- number formats ----------------------------------------------------------------------------
@pytest.mark.parametrize("value,en,zh", [
    (5, "5", "5"), (1234, "1,234", "1,234"), (12345, "12.3k", "1.23万"),
    (999_999, "1M", "100万"), (1_234_567, "1.23M", "123万"), (2.5e9, "2.5B", "25亿"),
    (-12345, "-12.3k", "-1.23万"), (None, "–", "–"), (float("nan"), "–", "–"),
])
def test_compact_numbers(value, en, zh):
    assert style.compact(value, "en") == en
    assert style.compact(value, "zh") == zh


def test_percent_count_and_duration_formats():
    assert style.percent(0.1234) == "12.3%" and style.percent(None) == "–"
    assert style.count(1234567) == "1,234,567"
    assert style.duration(90, "en") == "1.5 min" and style.duration(90, "zh") == "1.5分钟"
    assert style.duration(5400, "en") == "1.5 h" and style.duration(3 * 86400, "zh") == "3天"
    assert style.number(30080.41) == "30,080" and style.number(0.22734) == "0.2273"
