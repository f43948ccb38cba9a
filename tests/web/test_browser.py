"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright against a
live server on a free loopback port. Build a funnel, see the chart and table, switch to
Chinese, download the CSV, open the other pages. Screenshots go to test-artifacts/.

Oracle: the numbers the page shows and the CSV it downloads equal the JSON API's answer for
the same funnel.
"""

from __future__ import annotations

import csv
import io
import socket
import threading
import time

import pytest

from tests.web.browser import chromium_or_skip, launch, screenshot


@pytest.fixture(scope="module")
def live_server(web_workspace):
    chromium_or_skip()
    import uvicorn

    from funnelscope.web import Settings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(workspace=web_workspace, time_limit=60))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start within 15 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser_page(live_server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = launch(p, tmp_path_factory.mktemp("chromium-profile"),
                     viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        try:
            yield page
        finally:
            ctx.close()


def _ready(page, after: int = 0) -> int:
    """Wait until the builder has drawn a newer answer than ``after``; return its number."""
    page.wait_for_function(f"Number(document.body.getAttribute('data-ready') || 0) > {after}")
    return int(page.get_attribute("body", "data-ready"))


def _rows(page) -> list[list[str]]:
    return [[c.inner_text() for c in r.query_selector_all("td")]
            for r in page.query_selector_all("#steps-table tbody tr")]


def test_build_a_funnel_switch_to_chinese_and_download_the_csv(live_server, browser_page):
    base, _ = live_server
    page = browser_page
    page.goto(f"{base}/funnels?lang=en")
    n = _ready(page)
    assert page.locator("h1").inner_text() == "Funnel builder"
    # build view -> add_to_cart -> pay, broken down by channel
    selects = page.locator("select.step")
    selects.nth(0).select_option("view")
    selects.nth(1).select_option("add_to_cart")
    page.click("#add-step")
    page.locator("select.step").nth(2).select_option("pay")
    page.select_option("#by", "channel")
    page.click("#run")
    n = _ready(page, n)
    page.wait_for_selector("#chart-funnel .main-svg")
    page.wait_for_selector("#chart-breakdown .main-svg")
    rows = _rows(page)
    import httpx

    expected = httpx.get(f"{base}/api/funnel?steps=view,add_to_cart,pay&window=7d&mode=ordered"
                         "&by=channel", timeout=30).json()
    assert [r[0] for r in rows] == ["view", "add_to_cart", "pay"]
    assert [r[1] for r in rows] == [f"{s['entities']:,}" for s in expected["steps"]]
    assert "steps=view%2Cadd_to_cart%2Cpay" in page.url
    screenshot(page, "dashboard-funnel-en")

    page.click("#lang-zh")
    page.wait_for_url("**/funnels?*lang=zh*")
    _ready(page)
    assert page.locator("h1").inner_text() == "漏斗构建器"
    assert page.locator("#steps-table th").first.inner_text() == "步骤"
    assert [r[1] for r in _rows(page)] == [f"{s['entities']:,}" for s in expected["steps"]]
    title = page.locator("#chart-funnel .gtitle").text_content()
    assert title == "漏斗：各步骤人数"
    screenshot(page, "dashboard-funnel-zh")

    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "funnel-steps.csv"
    with open(download.path(), encoding="utf-8") as f:
        table = list(csv.DictReader(io.StringIO(f.read())))
    assert [r["step"] for r in table] == ["view", "add_to_cart", "pay"]
    assert [int(r["entities"]) for r in table] == [s["entities"] for s in expected["steps"]]
    assert page.errors == []


@pytest.mark.parametrize("path,heading", [
    ("/retention", "留存与活跃"), ("/segments", "客户分群"), ("/value", "客户价值"),
    ("/pipeline", "销售管道与预测"),
])
def test_other_pages_draw_their_charts(live_server, browser_page, path, heading):
    base, _ = live_server
    page = browser_page
    page.goto(f"{base}{path}?lang=zh")
    assert page.locator("h1").inner_text() == heading
    expected = page.locator("script.figure-data").count()
    assert expected >= 1
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {expected}")
    screenshot(page, f"dashboard{path.replace('/', '-')}-zh")
    assert page.errors == []
