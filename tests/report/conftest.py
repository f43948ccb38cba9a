from __future__ import annotations

import pytest

from tests.report.fixtures import build_demo_workspace


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory):
    """Path of a small workspace file with events, customers, orders, spend and deals."""
    return build_demo_workspace(tmp_path_factory.mktemp("report-demo"))


@pytest.fixture(scope="session")
def demo_ws(demo_workspace):
    """That workspace opened read-only, with its funnelscope.yml applied."""
    import funnelscope as fs
    from funnelscope.definitions import load_for

    ws = fs.connect(str(demo_workspace), read_only=True)
    load_for(demo_workspace).apply(ws)
    yield ws
    ws.backend.disconnect()


@pytest.fixture(scope="session")
def demo_data(demo_ws, demo_workspace):
    """Every report analysis run once on the demo workspace (ReportData; ~15 s)."""
    from funnelscope.definitions import load_for
    from funnelscope.report.collect import collect

    return collect(demo_ws, load_for(demo_workspace))
