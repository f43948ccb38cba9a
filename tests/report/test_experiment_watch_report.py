"""The report's experiment and watch sections, their charts and the embedded results JSON.

Data: six weeks of daily journeys (view -> pay, the same conversion every weekday) with one
injected bad day (nobody on the web platform pays), and an ``exposures`` table of an A/B test
with a known split. Oracles: plain-Python counts of the journeys (users exposed per variant,
who paid within the window after their exposure) and the day that was injected; the
``<script id="funnelscope-results">`` JSON must equal the Python results of the same request.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import funnelscope as fs

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
DAYS = 42
BAD_DAY = START + timedelta(days=DAYS - 5)  # within the last 14 days, its 1d window closed
YML = """timezone: UTC
funnels:
  buy:
    steps: [view, pay]
    window: 1d
    breakdowns: [platform]
"""


def journeys(bad_day: bool):
    """user -> events, user -> platform: 240 users a day (a third on each platform), two in
    five pay within 2 hours; on BAD_DAY (when ``bad_day``) no web user pays (40% -> 26.7%,
    beyond the band's binomial floor of 3 x 3.2 points)."""
    events, platform = {}, {}
    for d in range(DAYS):
        day = START + timedelta(days=d)
        for i in range(240):
            user = f"d{d}u{i}"
            plat = ("web", "ios", "android")[i % 3]
            t = day + timedelta(hours=8, minutes=3 * i)
            evs = [("view", t)]
            pays = i % 5 < 2
            if bad_day and day == BAD_DAY and plat == "web":
                pays = False
            if pays:
                evs.append(("pay", t + timedelta(hours=2)))
            events[user] = evs
            platform[user] = plat
    return events, platform


def exposures_of(events: dict) -> pd.DataFrame:
    """Users of the last 20 days, exposed at their view: even index control, odd treatment;
    some also in a smaller second experiment (never the first one listed)."""
    rows = []
    last = START + timedelta(days=DAYS - 20)
    for n, (user, evs) in enumerate(sorted(events.items())):
        t = evs[0][1]
        if t >= last:
            rows.append((user, "checkout_redesign", ("control", "treatment")[n % 2], t))
            if n % 10 == 0:
                rows.append((user, "banner", "b", t))
    return pd.DataFrame(rows, columns=["user_id", "experiment", "variant", "ts"])


def build(path, bad_day: bool, with_exposures: bool):
    events, platform = journeys(bad_day)
    frame = pd.DataFrame([{"user_id": u, "event": e, "ts": t, "platform": platform[u]}
                          for u, evs in events.items() for e, t in evs])
    ws = fs.connect(str(path))
    ws.load(frame, "events")
    if with_exposures:
        ws.load(exposures_of(events), "exposures")
    ws.close()
    (path.parent / "funnelscope.yml").write_text(YML, encoding="utf-8")
    return events


def report_of(path, lang: str = "en"):
    from funnelscope.definitions import load_for
    from funnelscope.report.collect import collect
    from funnelscope.report.html import render

    ws = fs.connect(str(path), read_only=True)
    defs = load_for(path)
    defs.apply(ws)
    data = collect(ws, defs, only=("funnel", "watch", "experiment"))
    return ws, data, render(data, lang)


def embedded(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="funnelscope-results">(.*?)</script>',
                  html, re.S)
    assert m, "the report embeds its results"
    return json.loads(m.group(1).replace("<\\/", "</"))


def section_text(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.find("<section", start + 1)
    chunk = html[start:end if end > 0 else len(html)]
    chunk = re.sub(r"<script.*?</script>", "", chunk, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", chunk))


def plain(x):
    """JSON values, without the timing (meta.seconds) that differs between two runs."""
    out = json.loads(json.dumps(x, default=str))
    out.get("meta", {}).pop("seconds", None)
    return out


@pytest.fixture(scope="module")
def anomalous(tmp_path_factory):
    path = tmp_path_factory.mktemp("report-ab") / "ab.duckdb"
    events = build(path, bad_day=True, with_exposures=True)
    ws, data, html = report_of(path)
    yield path, events, ws, data, html
    ws.close()


def test_watch_section_finds_the_injected_day_and_embeds_the_python_result(anomalous):
    path, _, ws, data, html = anomalous
    # the report watches the yml's first funnel, explained by its first breakdown
    expected = plain(ws.watch(["view", "pay"], window="1d", since="14d", by="platform").to_dict())
    assert plain(embedded(html)["analyses"]["watch"]) == expected
    alerts = expected["alerts"]
    day = BAD_DAY.date().isoformat()
    assert [(a["metric"], a["date"][:10], a["direction"]) for a in alerts] == \
        [("conversion:pay", day, "down")]
    assert alerts[0]["top_segments"][0]["segment"] == "web"
    text = section_text(html, "watch")
    assert "Conversion alerts" in text and "funnel “buy”" in text
    assert "1 alert(s) in the last 14 days" in text
    assert f"{day}: Conversion to pay went down to" in text
    assert "web (" in text  # the top segment, with its share of the change
    # the chart marks the alert day on the conversion panel
    from funnelscope.report import charts

    fig = charts.plot(data.parts["watch"].result, "series")
    marked = [tr for tr in fig.data if tr.name == "Alert"]
    assert len(marked) == 1 and list(marked[0].x) == [day]


def test_watch_section_says_no_alerts_on_clean_data(tmp_path):
    path = tmp_path / "clean.duckdb"
    build(path, bad_day=False, with_exposures=False)
    ws, data, html = report_of(path)
    try:
        assert data.parts["watch"].ok, data.parts["watch"].error
        assert embedded(html)["analyses"]["watch"]["alerts"] == []
        assert "No alerts in the last 14 days" in section_text(html, "watch")
        assert "experiment" not in data.parts  # no exposures table, no experiment section
        assert 'id="experiment"' not in html
    finally:
        ws.close()


def test_experiment_section_uses_the_first_experiment_and_agrees_with_plain_counts(anomalous):
    _, events, ws, data, html = anomalous
    exposures = exposures_of(events)
    # the oracle: users exposed to checkout_redesign per variant, who paid within 1d after
    ab = exposures[exposures["experiment"] == "checkout_redesign"]
    oracle = {}
    for r in ab.itertuples(index=False):
        paid = any(e == "pay" and r.ts <= t <= r.ts + timedelta(days=1) for e, t in events[r.user_id])
        users, conv = oracle.get(r.variant, (0, 0))
        oracle[r.variant] = (users + 1, conv + int(paid))
    got = embedded(html)["analyses"]["experiment"]
    assert {v["variant"]: (v["users"], v["conversions"]) for v in got["variants"]} == oracle
    expected = plain(ws.experiment(experiment="checkout_redesign", steps=["pay"],
                                   window="1d").to_dict())
    assert plain(got) == expected
    text = section_text(html, "experiment")
    assert "Experiment “checkout_redesign”" in text
    assert f"{sum(u for u, _ in oracle.values()):,} users compared, control: control" in text
    assert "treatment vs control (conversion)" in text and "Sample ratio OK" in text
    from funnelscope.report import charts

    result = data.parts["experiment"].result
    assert charts.kinds(result) == ["lift", "rates"]
    bars = charts.plot(result, "rates").data[0]
    assert list(bars.x) == ["control", "treatment"]
    assert list(bars.y) == pytest.approx([oracle[v][1] / oracle[v][0] for v in bars.x])


def test_sections_and_charts_in_chinese(anomalous):
    path = anomalous[0]
    ws, data, html = report_of(path, "zh")
    try:
        assert "转化告警" in html and "A/B 实验" in html
        assert "实验「checkout_redesign」" in section_text(html, "experiment")
        from funnelscope.report import charts

        fig = charts.plot(data.parts["watch"].result, "series", lang="zh")
        assert fig.layout.title.text == "每日转化率与预期区间"
        assert charts.plot(data.parts["experiment"].result, "lift", lang="zh").layout.title.text \
            == "相对对照组的提升"
    finally:
        ws.close()


def test_lift_chart_draws_each_treatment_with_its_interval():
    """The counts-only contract (funnelscope abtest) draws too; the interval bars are the
    contract's relative CI around its estimate."""
    from funnelscope.analyses.experiment.requests import abtest_from_text
    from funnelscope.report.charts.experiment import lift_figure

    c = abtest_from_text("200/1000", ["B=260/1000", "C=190/1000"])
    fig = lift_figure(c)
    dots = fig.data[-1]
    assert list(dots.y) == ["B vs A", "C vs A"]
    for i, comp in enumerate(c["comparisons"]):
        r = comp["relative"]
        assert dots.x[i] == pytest.approx(r["estimate"])
        assert dots.x[i] + dots.error_x.array[i] == pytest.approx(r["ci_high"])
        assert dots.x[i] - dots.error_x.arrayminus[i] == pytest.approx(r["ci_low"])
