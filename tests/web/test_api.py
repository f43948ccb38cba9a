"""The JSON API: same JSON as the CLI, one error shape, time limit, row cap, read-only, token.

Oracles: the CLI's own output for the same arguments (run in-process), the error shape of
FunnelscopeError.to_dict(), and plain facts (a cut table has max_rows rows and reports its
real length).
"""

from __future__ import annotations

import io
import json
import time

import pandas as pd
import pytest

from funnelscope.errors import ConfigError, WorkspaceError

ERROR_KEYS = {"code", "message", "hint"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape: exactly {"error": {"code", "message", "hint"}}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def cli_json(capsys, *args) -> dict:
    from funnelscope.cli.app import main

    capsys.readouterr()
    main(list(args))
    return json.loads(capsys.readouterr().out)


def without_timing(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    for key in ("seconds", "elapsed_s"):
        data.get("meta", {}).pop(key, None)
    return data


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize("query,cli", [
    ("steps=view,add_to_cart&window=7d", ["--steps", "view,add_to_cart", "--window", "7d"]),
    ("steps=view,add_to_cart,pay&window=2d&mode=strict&by=channel&period=week",
     ["--steps", "view,add_to_cart,pay", "--window", "2d", "--mode", "strict", "--by", "channel",
      "--period", "week", "--tz", "Asia/Shanghai"]),
    ("name=checkout", ["--name", "checkout"]),
])
def test_funnel_answers_the_same_json_as_the_cli(client, web_workspace, capsys, query, cli):
    api = client.get(f"/api/funnel?{query}")
    assert api.status_code == 200, api.text
    expected = cli_json(capsys, "funnel", "--workspace", str(web_workspace), *cli,
                        "--format", "json")
    assert without_timing(api.json()) == without_timing(expected)


def test_pipeline_and_retention_answer_the_same_json_as_the_cli(client, web_workspace, capsys):
    api = client.get("/api/pipeline?by=owner&period=quarter")
    # no --tz: the CLI reads the reporting time zone from funnelscope.yml, as the server does
    expected = cli_json(capsys, "pipeline", "--workspace", str(web_workspace), "--by", "owner",
                        "--period", "quarter", "--format", "json")
    assert without_timing(api.json()) == without_timing(expected)
    api = client.get("/api/retention?period=week&periods=4")
    expected = cli_json(capsys, "retention", "--workspace", str(web_workspace), "--period",
                        "week", "--periods", "4", "--format", "json")
    assert without_timing(api.json()) == without_timing(expected)


def test_funnel_csv_is_the_cli_csv(client, web_workspace, capsys):
    from funnelscope.cli.app import main

    r = client.get("/api/funnel.csv?steps=view,pay&window=1d")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    capsys.readouterr()
    main(["funnel", "--workspace", str(web_workspace), "--steps", "view,pay", "--window", "1d",
          "--format", "csv"])
    expected = pd.read_csv(io.StringIO(capsys.readouterr().out))
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(r.text)), expected)


def test_other_analyses_answer(client):
    for path in ("/api/activity", "/api/churn", "/api/rfm", "/api/clv", "/api/acquisition",
                 "/api/clusters?k=3", "/api/aarrr", "/api/tables", "/api/events",
                 "/api/breakdowns", "/api/definitions", "/api/metrics/revenue_by_month"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert isinstance(r.json(), dict) and r.json()
    assert client.get("/api/definitions").json()["path"] == "funnelscope.yml"  # no server paths


def test_funnel_view_has_result_and_figures(client):
    r = client.get("/api/funnel/view?steps=view,add_to_cart,pay&by=channel&lang=zh")
    body = r.json()
    assert set(body["figures"]) == {"funnel", "time_to_convert", "breakdown"}
    assert body["figures"]["funnel"]["layout"]["title"]["text"] == "漏斗：各步骤人数"
    assert body["result"]["steps"] == client.get(
        "/api/funnel?steps=view,add_to_cart,pay&by=channel").json()["steps"]


# ----- errors -------------------------------------------------------------------------------------
def test_error_shape_for_every_status(client, make_client, monkeypatch):
    e = assert_error(client.get("/api/funnel?steps=view,pay&window=7q"), 400, "invalid_spec")
    assert "7q" in e["message"] and e["hint"]
    assert_error(client.get("/api/funnel"), 400, "invalid_argument")
    assert_error(client.get("/api/funnel?steps=view&by=no_such_column"), 400, "invalid_spec")
    assert_error(client.get("/api/funnel?name=nope"), 404, "unknown_name")
    assert_error(client.get("/api/metrics/nope"), 404, "unknown_name")
    assert_error(client.get("/api/nope"), 404, "not_found")
    assert_error(client.get("/api/funnel?steps=view&mode=sideways"), 422, "invalid_request")
    assert_error(client.get("/api/retention?periods=-1"), 422, "invalid_request")
    assert_error(client.post("/api/health"), 405, "method_not_allowed")
    from funnelscope.web import api

    def boom(*a, **k):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(api.catalog, "events", boom)
    quiet = make_client(raise_server_exceptions=False)  # as a real server: answer, then log
    e = assert_error(quiet.get("/api/events"), 500, "internal_error")
    assert "Traceback" not in e["message"]


def test_missing_table_is_404(make_client, tmp_path):
    import funnelscope as fs
    from funnelscope.data.demo import generate

    path = tmp_path / "events-only.duckdb"
    ws = fs.connect(str(path))
    ws.load(generate("ecommerce", users=50, seed=1)["events"], "events")
    ws.backend.disconnect()
    c = make_client(workspace=path)
    assert_error(c.get("/api/pipeline"), 404, "missing_table")
    page = c.get("/pipeline")
    assert page.status_code == 200 and "The workspace has no deals table." in page.text


def test_openapi_documents_every_analysis_and_the_error_shape(client):
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    for p in ("/api/health", "/api/funnel", "/api/funnel.csv", "/api/funnel/view", "/api/retention",
              "/api/activity", "/api/churn", "/api/aarrr", "/api/pipeline", "/api/rfm",
              "/api/clusters", "/api/clv", "/api/acquisition", "/api/churn-risk",
              "/api/metrics/{name}"):
        assert p in paths
        responses = schema["paths"][p]["get"]["responses"]
        for status in ("400", "401", "404", "422", "500", "503"):
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody")
    body = schema["components"]["schemas"]["ErrorDetail"]
    assert set(body["properties"]) == ERROR_KEYS
    assert not any(p.startswith(("/funnels", "/retention")) for p in paths)  # pages stay out


# ----- guard-rails -----------------------------------------------------------------------------------
def test_time_limit_answers_503_and_the_server_goes_on(make_client, monkeypatch):
    c = make_client(time_limit=0.5)
    state = c.app.state.funnelscope
    from funnelscope.web.state import QueryTimeout

    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match="time limit of 0.5 s"):
        state.run(lambda ws: ws.duckdb.execute(
            "SELECT count(*) FROM range(100000000000) a").fetchall())
    assert time.perf_counter() - started < 5  # interrupted, not waited for
    from funnelscope.analyses import registry

    real = registry.run
    monkeypatch.setattr(registry, "run", lambda *a, **k: (time.sleep(1.5), real(*a, **k))[1])
    e = assert_error(c.get("/api/activity"), 503, "query_timeout")
    assert "--time-limit" in e["hint"]
    monkeypatch.setattr(registry, "run", real)
    time.sleep(1.2)  # the slow call finishes in the background
    assert c.get("/api/funnel?steps=view,pay").status_code == 200


def test_row_cap_cuts_long_tables_and_says_so(make_client):
    c = make_client(max_rows=2)
    body = c.get("/api/funnel?steps=view,add_to_cart,checkout,pay").json()
    assert len(body["steps"]) == 2 and body["truncated"] == {"steps": 4}
    body = c.get("/api/funnel?steps=view,pay").json()
    assert "truncated" not in body


def test_the_workspace_is_read_only(client):
    state = client.app.state.funnelscope
    assert state.ws.read_only
    with pytest.raises(WorkspaceError):
        state.run(lambda ws: ws.load(pd.DataFrame({"user_id": ["x"], "event": ["e"],
                                                   "ts": ["2024-01-01"]}), "events"))
    with pytest.raises(Exception, match="read-only"):
        state.run(lambda ws: ws.duckdb.execute("CREATE TABLE hack AS SELECT 1"))


def test_non_loopback_needs_a_token(web_workspace, monkeypatch):
    from funnelscope.web.settings import Settings, is_loopback, token_from_env

    for host, loop in (("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True),
                       ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("192.168.1.5", False),
                       ("example.com", False)):
        assert is_loopback(host) is loop
    with pytest.raises(ConfigError, match="needs a token"):
        Settings(workspace=web_workspace, host="0.0.0.0")
    with pytest.raises(ConfigError, match="too short"):
        Settings(workspace=web_workspace, host="0.0.0.0", token="short")
    monkeypatch.setenv("FUNNELSCOPE_TOKEN", "from-the-environment")
    assert token_from_env(None) == "from-the-environment"
    assert token_from_env("given-explicitly") == "given-explicitly"


def test_requests_without_the_token_get_401(make_client):
    token = "correct-horse-battery"
    c = make_client(host="0.0.0.0", token=token)
    r = c.get("/api/health")
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    assert_error(c.get("/api/health", headers={"Authorization": "Bearer wrong-token-123"}), 401)
    assert_error(c.get("/funnels"), 401)
    assert c.get("/api/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert c.get("/api/health", headers={"X-Funnelscope-Token": token}).status_code == 200
    page = c.get(f"/funnels?token={token}")
    assert page.status_code == 200 and c.cookies.get("funnelscope_token") == token
    assert c.get("/api/health").status_code == 200  # the page's cookie lets its requests pass
    c.cookies.clear()
    assert_error(c.get("/api/health"), 401)


def test_serve_refuses_a_public_address_without_a_token(web_workspace, capsys, monkeypatch):
    from funnelscope.cli.app import main

    monkeypatch.delenv("FUNNELSCOPE_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--workspace", str(web_workspace), "--host", "0.0.0.0"])
    assert exit_.value.code == 2 and "needs a token" in capsys.readouterr().err


# ----- pages ------------------------------------------------------------------------------------------
def test_pages_render_in_both_languages(make_client):
    c = make_client()
    for path, en, zh in (("/funnels", "Funnel builder", "漏斗构建器"),
                         ("/retention", "Retention and activity", "留存与活跃"),
                         ("/segments", "Customer segments", "客户分群"),
                         ("/value", "Customer value", "客户价值"),
                         ("/pipeline", "Sales pipeline and forecast", "销售管道与预测")):
        r = c.get(f"{path}?lang=en")
        assert r.status_code == 200 and en in r.text, path
        r = c.get(f"{path}?lang=zh")
        assert r.status_code == 200 and zh in r.text and en not in r.text, path
    assert c.cookies.get("funnelscope_lang") == "zh"
    assert "客户分群" in c.get("/segments").text  # remembered
    assert c.get("/", follow_redirects=False).headers["location"] == "/funnels"
    assert c.get("/static/plotly.min.js").text.startswith("/**\n* plotly.js v")
