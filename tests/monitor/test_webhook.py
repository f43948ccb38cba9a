"""``--webhook URL``: the alerts POSTed as JSON when at least one fires.

A local ``http.server`` in a thread records every request; an unreachable port (a socket
bound and closed) stands for a webhook that is down. The injected workspace of
test_watch.py (one bad Wednesday) fires exactly one alert.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import funnelscope as fs
from funnelscope.errors import ConfigError
from tests.monitor.test_watch import DROP, build

ARGS = ["--steps", "view,pay", "--window", "1h", "--since", "28d"]


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hook") / "w.duckdb", DROP)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hook-clean") / "w.duckdb", None)


@pytest.fixture
def receiver():
    """(url, received): a local server answering 204 to POST; ``received`` holds (path,
    headers, body) per request."""
    received: list[tuple[str, dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            size = int(self.headers.get("Content-Length", 0))
            received.append((self.path, dict(self.headers), self.rfile.read(size)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", received
    server.shutdown()
    server.server_close()


def unreachable_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/alerts"


def watch(path, **kw):
    ws = fs.connect(str(path), read_only=True)
    try:
        return ws.watch(["view", "pay"], window="1h", since="28d", **kw)
    finally:
        ws.close()


def test_alerts_are_posted_as_the_watch_json(injected, receiver):
    url, received = receiver
    result = watch(injected, webhook=url)
    data = result.to_dict()
    assert len(data["alerts"]) == 1
    assert len(received) == 1
    path, headers, body = received[0]
    assert path == "/hooks/alerts"
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    assert payload == {"alerts": data["alerts"], "spec": data["spec"], "workspace": "w.duckdb"}
    assert data["meta"]["webhook"] == {"url": url, "status": 204, "error": None, "sent": True}
    assert "webhook" not in data["spec"]  # a delivery option, not part of the analysis


def test_no_alert_no_post(clean, receiver):
    url, received = receiver
    data = watch(clean, webhook=url).to_dict()
    assert data["alerts"] == [] and received == []
    assert data["meta"]["webhook"]["sent"] is False


def test_an_unreachable_webhook_does_not_hide_the_alerts(injected, capsys):
    from funnelscope.cli.app import main

    url = unreachable_url()
    data = watch(injected, webhook=url).to_dict()
    assert len(data["alerts"]) == 1
    hook = data["meta"]["webhook"]
    assert hook["url"] == url and hook["status"] is None and "cannot reach" in hook["error"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["watch", "--workspace", str(injected), *ARGS, "--webhook", url, "--format", "json"])
    assert exited.value.code == 1  # the alert still sets the exit status
    out, err = capsys.readouterr()
    assert json.loads(out)["alerts"] == data["alerts"]
    assert "warning: webhook" in err and url in err


def test_an_http_error_is_reported_with_its_status(injected):
    class Refusing(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        hook = watch(injected, webhook=url).to_dict()["meta"]["webhook"]
    finally:
        server.shutdown()
        server.server_close()
    assert hook["status"] == 500 and hook["error"].startswith("HTTP 500")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "example.com/x",
                                 "http://", "gopher://127.0.0.1:70/"])
def test_only_http_and_https_urls(injected, url):
    with pytest.raises(ConfigError, match="--webhook"):
        watch(injected, webhook=url)


def test_credentials_in_the_url_are_not_echoed(injected, receiver):
    url, received = receiver
    secret = url.replace("http://", "http://bot:s3cret@")
    hook = watch(injected, webhook=secret).to_dict()["meta"]["webhook"]
    assert len(received) == 1 and "s3cret" not in hook["url"] and hook["url"] == url
    assert received[0][1]["Authorization"] == "Basic Ym90OnMzY3JldA=="  # bot:s3cret


def test_the_api_never_makes_outbound_requests(injected, receiver):
    """A server must not POST to a URL given in a query string: ``webhook`` is not an API
    parameter (absent from the OpenAPI schema; given anyway, it is ignored)."""
    from fastapi.testclient import TestClient

    from funnelscope.web import Settings, create_app

    url, received = receiver
    with TestClient(create_app(Settings(workspace=injected, time_limit=60))) as client:
        schema = client.get("/openapi.json").json()
        names = {p["name"] for p in schema["paths"]["/api/watch"]["get"]["parameters"]}
        assert "metric" in names and "every" in names and "webhook" not in names
        answer = client.get("/api/watch", params={"steps": "view,pay", "window": "1h",
                                                  "since": "28d", "webhook": url})
        assert answer.status_code == 200 and len(answer.json()["alerts"]) == 1
        assert "webhook" not in answer.json()["meta"]
    assert received == []
