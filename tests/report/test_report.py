"""The HTML report: one self-contained file, sections when their data exists, en and zh.

Oracles: the biggest leak is recomputed from the steps table (smallest step-to-step ratio);
section presence follows the tables loaded; every string of the Chinese report's headings comes
from the zh column; the file is opened offline in Chromium and every chart must draw.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.report import collect as collect_mod
from funnelscope.report.collect import collect
from funnelscope.report.html import plotly_js, render
from funnelscope.report.i18n import t

SECTIONS = ("funnels", "retention", "segments", "value", "pipeline", "metrics", "data")


@pytest.fixture(scope="module")
def data(demo_data):
    return demo_data


@pytest.fixture(scope="module")
def html_en(data):
    return render(data, "en")


@pytest.fixture(scope="module")
def html_zh(data):
    return render(data, "zh")


def _page(html: str) -> str:
    """The report without the embedded plotly.js bundle (which has URLs and English inside)."""
    bundle = plotly_js()
    assert bundle in html
    return html.replace(bundle, "")


def _figures(html: str) -> list[dict]:
    found = re.findall(r'<script type="application/json" class="figure-data"[^>]*>(.*?)</script>',
                       html, flags=re.S)
    return [json.loads(f.replace("<\\/", "</")) for f in found]


def test_nothing_failed_on_the_demo_workspace(data):
    assert data.errors == []


def test_the_file_is_self_contained(html_en):
    page = _page(html_en)
    assert "<script src" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    version = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", plotly_js()).group(1)
    assert f"plotly.js v{version}" in html_en  # the installed bundle, embedded
    figures = _figures(html_en)
    assert len(figures) >= 15
    assert all(f["data"] and "layout" in f for f in figures)


def test_every_section_is_present_when_its_data_exists(html_en):
    for section in SECTIONS:
        assert f'<section id="{section}">' in html_en
    assert '<section id="headline">' in html_en


def test_the_biggest_leak_is_stated_in_words(data, html_en, html_zh):
    r = data.funnels[0].main.result
    s = r.steps
    ratios = (s["entities"].iloc[1:].to_numpy() / s["entities"].iloc[:-1].to_numpy())
    i = int(ratios.argmin())
    a, b = s["step"].iloc[i], s["step"].iloc[i + 1]
    lost = int(s["entities"].iloc[i] - s["entities"].iloc[i + 1])
    en = f"The biggest leak is {a} → {b}: only {ratios[i]:.1%} go on, {lost:,} are lost."
    zh = f"最大的流失在 {a} → {b}：只有 {ratios[i]:.1%} 继续，流失 {lost:,} 人。"
    assert en in html_en
    assert zh in html_zh


def test_the_chinese_report_speaks_chinese(html_en, html_zh):
    html_en, html_zh = _page(html_en), _page(html_zh)
    assert '<html lang="zh-CN">' in html_zh
    for key in ("report_title", "section_headline", "section_funnels", "section_retention",
                "section_segments", "section_value", "section_pipeline", "section_metrics",
                "trend_heading", "time_heading", "show_table"):
        assert t(key, "zh") in html_zh and t(key, "zh") not in html_en
        assert t(key, "en") not in html_zh
    titles = [f["layout"]["title"]["text"] for f in _figures(html_zh)]
    assert all(re.search(r"[\u4e00-\u9fff]", title) for title in titles)


def test_sections_follow_the_tables(tmp_path):
    from funnelscope.data.demo import generate

    only_events = fs.connect()
    only_events.load(generate("ecommerce", users=200, seed=1)["events"], "events")
    html = render(collect(only_events), "en")
    assert '<section id="retention">' in html and '<section id="funnels">' in html
    assert t("no_funnels", "en") in html  # no funnelscope.yml: how to declare one
    for absent in ("segments", "value", "pipeline", "metrics"):
        assert f'<section id="{absent}">' not in html
    only_deals = fs.connect()
    only_deals.load(generate("b2b", users=600, seed=1)["deals"], "deals")
    html = render(collect(only_deals), "en")
    assert '<section id="pipeline">' in html
    for absent in ("funnels", "retention", "segments", "value"):
        assert f'<section id="{absent}">' not in html


def test_a_failing_part_is_reported_and_the_rest_goes_on(demo_ws, monkeypatch):
    real = collect_mod.runner.request

    def broken(ws, name, *args, **kw):
        if name == "clusters":
            raise RuntimeError("simulated failure")
        return real(ws, name, *args, **kw)

    monkeypatch.setattr(collect_mod.runner, "request", broken)
    data = collect(demo_ws, only=("clusters", "rfm"))
    assert len(data.errors) == 1 and "simulated failure" in data.errors[0]
    html = render(data, "en")
    assert "This part could not be computed: RuntimeError: simulated failure" in html
    assert t("rfm_heading", "en") in html


def test_cli_report_writes_the_file(tmp_path, capsys):
    from funnelscope.cli.app import main
    from funnelscope.data.demo import generate

    ws_path = tmp_path / "small.duckdb"
    ws = fs.connect(str(ws_path))
    ws.load(generate("ecommerce", users=200, seed=2)["events"], "events")
    ws.backend.disconnect()
    (tmp_path / "funnelscope.yml").write_text("funnels:\n  buy:\n    steps: [view, pay]\n")
    out = tmp_path / "out" / "r.html"
    main(["report", "--workspace", str(ws_path), "--lang", "zh", "--out", str(out)])
    err = capsys.readouterr().err
    html = out.read_text(encoding="utf-8")
    assert "漏斗「buy」" in html and "warning" not in err and str(out) in err
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--workspace", str(ws_path), "--lang", "fr"])
    assert exit_.value.code == 2 and "unknown language" in capsys.readouterr().err


def test_the_report_opens_offline_and_draws_every_chart(html_zh, tmp_path):
    from tests.web.browser import chromium_or_skip, launch, screenshot

    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.zh.html"
    path.write_text(html_zh, encoding="utf-8")
    expected = len(_figures(html_zh))
    with sync_playwright() as p:
        ctx = launch(p, tmp_path / "profile", viewport={"width": 1200, "height": 1000})
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {expected}",
                                   timeout=30_000)
            assert errors == []
            assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
            assert page.locator("h1").inner_text() == t("report_title", "zh")
            screenshot(page, "report-zh")
        finally:
            ctx.close()


def test_report_tables_show_formatted_numbers(data):
    from funnelscope.report.compose import compose

    _, sections = compose(data, "en")
    funnels = next(s for s in sections if s.id == "funnels")
    table = funnels.blocks[0].tables[0]
    steps = data.funnels[0].main.result.steps
    assert [r[0] for r in table.rows] == list(steps["step"])
    assert [r[1] for r in table.rows] == [f"{n:,}" for n in steps["entities"]]
    assert [r[2] for r in table.rows] == [f"{c:.1%}" for c in steps["conversion_from_start"]]
    assert isinstance(pd.DataFrame(table.rows), pd.DataFrame)


def test_demo_writes_the_definitions_and_the_report(tmp_path, capsys):
    from funnelscope.cli.app import main
    from funnelscope.report.demo import DEMO_DEFINITIONS

    workspace = tmp_path / "demo" / "funnelscope.duckdb"
    main(["demo", "--dataset", "ecommerce", "--users", "300", "--workspace", str(workspace)])
    capsys.readouterr()
    definitions = tmp_path / "demo" / "funnelscope.yml"
    assert definitions.read_text(encoding="utf-8") == DEMO_DEFINITIONS.read_text(encoding="utf-8")
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert "Funnel “checkout”" in html and "Funnel “search_to_cart”" in html
    assert "This part could not be computed" not in html
