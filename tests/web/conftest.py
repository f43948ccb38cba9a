from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.fixtures import build_demo_workspace


def pytest_collection_modifyitems(items):
    # starlette's TestClient asks for httpx2; the httpx it supports works the same here
    for item in items:
        if "tests/web/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:Using `httpx` with `starlette.testclient`"))


@pytest.fixture(scope="session")
def web_workspace(tmp_path_factory) -> Path:
    """A small demo workspace file (events, customers, orders, spend, deals) + funnelscope.yml."""
    return build_demo_workspace(tmp_path_factory.mktemp("web-demo"))


@pytest.fixture(scope="session")
def make_client(web_workspace):
    """``make_client(**settings)`` -> a TestClient of an app over the demo workspace."""
    from fastapi.testclient import TestClient

    from funnelscope.web import Settings, create_app

    clients = []

    def factory(raise_server_exceptions: bool = True, **settings):
        settings.setdefault("workspace", web_workspace)
        client = TestClient(create_app(Settings(**settings)),
                            raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture(scope="session")
def client(make_client):
    return make_client()
