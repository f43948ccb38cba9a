"""The alerts and experiments pages in a real browser (Debian's Chromium, headless, Playwright),
against the live server of test_browser.py. Screenshots go to test-artifacts/.

Oracle: the alerts page says what the watch JSON of the same request holds (how many alerts
in how many days) and draws its chart; the calculator shows the numbers of /api/abtest.
"""

from __future__ import annotations

import re

from tests.web.browser import screenshot
from tests.web.test_browser import browser_page, live_server  # noqa: F401 - fixtures


def _plotted(page) -> int:
    return page.locator(".chart .main-svg").count()


def test_the_alerts_panel_renders(live_server, browser_page):  # noqa: F811
    import httpx

    base, _ = live_server
    page = browser_page
    page.goto(f"{base}/alerts?lang=en")
    assert page.locator("h1").inner_text() == "Conversion alerts"
    assert page.locator("header nav a.active").inner_text() == "Alerts"
    panel = page.locator(".panel").inner_text()
    name = page.locator("select[name=name]").input_value()
    by = page.locator("input[name=by]").input_value()
    query = {"name": name, "since": "14d", **({"by": by} if by else {})}
    watch = httpx.get(f"{base}/api/watch", params=query, timeout=60).json()
    days = len({r["date"][:10] for r in watch["series"]})
    if watch["alerts"]:
        assert f"{len(watch['alerts'])} alert(s) in the last {days} days" in panel
        assert watch["alerts"][0]["date"][:10] in panel
    else:
        assert f"No alerts in the last {days} days" in panel
    page.wait_for_function("document.querySelectorAll('.chart .main-svg').length > 0")
    assert _plotted(page) >= 1 and not page.errors
    screenshot(page, "alerts-en")
    page.click("#lang-zh")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "转化告警"
    assert re.search("最近 \\d+ 天", page.locator(".panel").inner_text())
    screenshot(page, "alerts-zh")


def test_the_abtest_calculator_shows_the_api_numbers(live_server, browser_page):  # noqa: F811
    import httpx

    base, _ = live_server
    page = browser_page
    page.goto(f"{base}/experiments?lang=en")
    assert page.locator("h1").inner_text() == "Experiments"
    page.fill("input[name=control]", "200/1000")
    page.fill("textarea[name=treatment]", "250/1000\nC=215/1000")
    page.click("#abtest button[type=submit]")
    page.wait_for_selector("#abtest-result table")
    api = httpx.get(f"{base}/api/abtest", timeout=30,
                    params={"control": "200/1000", "treatment": ["250/1000", "C=215/1000"]}).json()
    rows = [[c.inner_text() for c in r.query_selector_all("td")]
            for r in page.query_selector_all("#abtest-result table:nth-of-type(2) tbody tr")]
    assert [r[0] for r in rows] == ["B vs A", "C vs A"]
    for row, comp in zip(rows, api["comparisons"], strict=True):
        assert row[2] == f"{comp['relative']['estimate']:.2%}"
        assert row[6] == f"{comp['bayesian']['chance_to_win']:.1%}"
    page.wait_for_function("document.querySelectorAll('#abtest-result .main-svg').length >= 2")
    assert not page.errors
    screenshot(page, "experiments-calculator")
