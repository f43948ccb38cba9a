"""Generic dashboard pages: ``/analyses/<route>`` for every registry analysis without a
hand-made page (plugins too), generated from the registry entry.

Oracle: the JSON API. A page runs the request of ``/api/<route>`` with the same query string
(the one parser, the server's worker), so every number its tables show must be the API's
number for that row and column (shown to four significant digits, or whole above 1,000).
A request the parser refuses is the page's error block with HTTP 400, never a 500.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest

from funnelscope.analyses import registry
from funnelscope.report.compose import COMPOSED
from funnelscope.web.pages import HAND_MADE, generic_entries
from tests.plugin.entry import EVENT_MIX
from tests.web.test_browser import browser_page, live_server  # noqa: F401 - fixtures

#: tables of the fixture workspace (tests/report/fixtures.py build_demo_workspace)
FIXTURE_TABLES = {"events", "customers", "orders", "spend", "deals"}


class _Page(HTMLParser):
    """The page's tables (header cells, body rows), its error block and its nav links."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.errors: list[str] = []
        self.hints: list[str] = []
        self.menu: list[str] = []
        self._cell: list[str] | None = None
        self._where: str | None = None
        self._in_error = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"columns": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td") and self.tables:
            self._cell, self._where = [], tag
        elif tag == "p" and a.get("class") in ("error", "hint"):
            self._cell, self._where = [], a["class"]
        elif tag == "a" and re.fullmatch(r"/analyses/[\w.-]+", a.get("href") or ""):
            self.menu.append(a["href"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if self._cell is None or tag not in ("th", "td", "p"):
            return
        text = "".join(self._cell).strip()
        if self._where == "th":
            self.tables[-1]["columns"].append(text)
        elif self._where == "td":
            self.tables[-1]["rows"][-1].append(text)
        elif self._where == "error":
            self.errors.append(text)
        elif self._where == "hint":
            self.hints.append(text)
        self._cell = self._where = None


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    for table in page.tables:
        table["rows"] = [r for r in table["rows"] if r]  # the header row has no <td>
    return page


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _json_tables(node) -> list[list[dict]]:
    """Every table (a list of records) anywhere in the API's JSON."""
    out = []
    if isinstance(node, dict):
        for v in node.values():
            out += _json_tables(v)
    elif isinstance(node, list) and node and all(isinstance(r, dict) for r in node):
        out.append(node)
    return out


def _same(shown: str, value) -> bool | None:
    """Whether the page's cell shows the API's value (None: not a number to compare)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and math.isnan(value)):
        return None
    got = _number(shown)
    if got is None:
        return False
    return abs(got - value) <= max(6e-4 * abs(value), 0.5 if abs(value) >= 1000 else 1e-12)


def compared_numbers(page: _Page, data: dict) -> int:
    """Check every numeric cell of every page table against the API table with the same
    columns, row by row; the count of numbers compared."""
    candidates = _json_tables(data)
    compared = 0
    for table in page.tables:
        cols = table["columns"]
        matches = [t for t in candidates if set(cols) <= set(t[0]) and len(t) >= len(table["rows"])]
        if not cols or not matches:
            continue
        best = None
        for records in matches:
            checks = [_same(cell, rec[col]) for row, rec in zip(table["rows"], records, strict=False)
                      for cell, col in zip(row, cols, strict=True)]
            numbers = [c for c in checks if c is not None]
            if numbers and all(numbers):
                best = len(numbers)
                break
        assert best is not None, f"table {cols} shows numbers no API table of the same columns has"
        compared += best
    return compared


def _query(entry) -> dict[str, str]:
    """The query string of the page's first load: the entry's report options (API ones)."""
    from funnelscope.web.pages import _shown

    offered = {p.name for p in entry.params if p.api}
    return {k: _shown(v) for k, v in (entry.report or {}).items() if k in offered}


def _needs_missing_table(entry) -> str | None:
    return next((t for t in entry.tables if t not in FIXTURE_TABLES), None)


@pytest.fixture
def plugin():
    registry.register(EVENT_MIX)
    yield EVENT_MIX
    registry.REGISTRY.pop(EVENT_MIX.name, None)


def test_hand_made_pages_are_the_report_s_hand_made_sections():
    assert set(HAND_MADE) == set(COMPOSED) | {"funnel"}
    routes = {e.api_route for e in generic_entries()}
    assert {"paths", "attribution", "traffic", "satisfaction", "leads", "benchmark"} <= routes
    assert not routes & {e.api_route for e in registry.entries() if e.name in HAND_MADE}


@pytest.mark.parametrize("name", [e.name for e in generic_entries()])
def test_every_analysis_without_a_hand_made_page_has_one(client, name):
    entry = registry.get(name)
    r = client.get(f"/analyses/{entry.api_route}?lang=en")
    assert r.status_code == 200, r.text[:500]
    page = parse_page(r.text)
    assert f"<h1>{entry.title}</h1>" in r.text
    assert sorted(set(page.menu)) == sorted(f"/analyses/{e.api_route}" for e in generic_entries())
    missing = _needs_missing_table(entry)
    if missing:
        assert page.errors == [f"Error: The workspace has no {missing} table."]
        assert page.hints and f"--table {missing}" in page.hints[0]
        return
    assert page.errors == []
    assert page.tables or "figure-data" in r.text
    # every API parameter is a form field, filled with the report's options on first load
    for p in entry.params:
        assert (f'name="{p.name}"' in r.text) == p.api
    for k, v in _query(entry).items():
        select = re.search(rf'<select name="{k}">(.*?)</select>', r.text, re.S)
        assert f'value="{v}" selected' in select.group(1) if select else \
            re.search(rf'name="{k}"[^>]*value="{re.escape(v)}"', r.text)


@pytest.mark.parametrize("name", [e.name for e in generic_entries()
                                  if not _needs_missing_table(e)])
def test_the_page_shows_the_numbers_of_the_api(client, name):
    entry = registry.get(name)
    query = urlencode(_query(entry))
    api = client.get(f"/api/{entry.api_route}?{query}")
    assert api.status_code == 200, api.text[:500]
    html = client.get(f"/analyses/{entry.api_route}?{query}&lang=en").text
    page = parse_page(html)
    assert compared_numbers(page, api.json()) >= 1
    # the first load runs exactly the report's options: the same tables
    assert parse_page(client.get(f"/analyses/{entry.api_route}").text).tables == page.tables


def test_a_changed_option_changes_the_numbers_as_in_the_api(client):
    query = {"to": "pay", "depth": "2", "top": "3"}
    api = client.get("/api/paths", params=query).json()
    page = parse_page(client.get("/analyses/paths", params=query).text)
    assert compared_numbers(page, api) >= 3
    shorter = parse_page(client.get("/analyses/paths", params={**query, "top": "2"}).text)
    assert shorter.tables != page.tables


@pytest.mark.parametrize("route,query,words", [
    ("paths", {"depth": "0"}, "out of range"),
    ("paths", {"top": "many"}, "not a whole number"),
    ("paths", {"topp": "3"}, "Did you mean 'top'"),
    ("paths", {"after": "no_such_event"}, "no_such_event"),
    ("attribution", {"value": "profit"}, "unknown value 'profit'"),
    ("attribution", {"lookback": "soon"}, "soon"),
    ("traffic", {"session_gap": "x" * 2001}, "longer than 2000"),
    ("traffic", {"by": "a\x00b"}, "NUL"),
    ("churn-risk", {"save": "true"}, "no option 'save'"),  # the dashboard never writes
])
def test_a_bad_option_is_the_error_block_with_400(client, route, query, words):
    r = client.get(f"/analyses/{route}", params={**query, "lang": "en"})
    assert r.status_code == 400, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    page = parse_page(r.text)
    assert len(page.errors) == 1 and words in page.errors[0] + " ".join(page.hints)
    assert not page.tables
    assert 'id="analysis-form"' in r.text  # the form stays, to fix the value


def test_an_unknown_analysis_is_a_404_page_and_hand_made_ones_redirect(client):
    r = client.get("/analyses/pathz")
    assert r.status_code == 404 and "Did you mean &#39;paths&#39;" in r.text
    r = client.get("/analyses/retention?period=month", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/retention?period=month"


def test_chinese_page_and_menu(client):
    r = client.get("/analyses/traffic?lang=zh")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    assert "更多分析" in r.text and "应用" in r.text
    en = client.get("/analyses/traffic?lang=en").text
    assert "More analyses" in en and "Apply" in en


def test_a_plugin_gets_a_page_with_no_web_code(make_client, plugin):
    client = make_client()  # an app built after the registration: with the plugin's API routes
    r = client.get("/analyses/event-mix?lang=en")
    assert r.status_code == 200
    page = parse_page(r.text)
    assert "/analyses/event-mix" in page.menu and "<h1>Event mix</h1>" in r.text
    assert 'name="top" value="10"' in r.text
    query = {"top": "3"}
    page = parse_page(client.get("/analyses/event-mix", params=query).text)
    api = client.get("/api/event-mix", params=query).json()
    assert compared_numbers(page, api) >= 3 and len(page.tables[0]["rows"]) == 3
    assert client.get("/analyses/event-mix?top=0").status_code == 400


# ----- in a real browser (Debian's Chromium, headless; the live server of test_browser.py) -------
def _first_table(page) -> list[list[str]]:
    return [[c.text_content().strip() for c in r.query_selector_all("td")]
            for r in page.query_selector(".panel table").query_selector_all("tbody tr")]


def test_generic_pages_draw_charts_and_follow_the_form(live_server, browser_page):  # noqa: F811
    import httpx

    from tests.web.browser import screenshot

    base, _ = live_server
    page = browser_page
    page.goto(f"{base}/analyses/attribution?lang=en")
    assert page.locator("h1").inner_text() == "Attribution"
    page.wait_for_selector(".panel .js-plotly-plot .main-svg")
    assert page.locator(".panel .js-plotly-plot").count() >= 1
    screenshot(page, "analysis-attribution")

    page.goto(f"{base}/analyses/paths?lang=en")
    page.wait_for_selector(".panel .js-plotly-plot .main-svg")
    before, url = _first_table(page), page.url
    assert page.locator("input[name=top]").input_value() == "10"
    page.fill("input[name=top]", "3")
    page.click("#analysis-form button[type=submit]")
    page.wait_for_url(re.compile(r".*[?&]top=3(&|$)"))
    page.wait_for_selector(".panel .js-plotly-plot .main-svg")
    after = _first_table(page)
    assert page.url != url and after != before
    query = page.url.split("?", 1)[1]
    assert "=&" not in query + "&"  # empty fields are not sent: the URL is the API's query
    api = httpx.get(f"{base}/api/paths?{query}", timeout=60).json()
    shown = parse_page(page.content())
    assert compared_numbers(shown, api) >= 3
    assert len(after) <= 4 < len(before)  # three paths (+ the "(other)" row)
    assert not page.errors
    screenshot(page, "analysis-paths")
