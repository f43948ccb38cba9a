"""Fixtures for the workspace value analyses: the ecommerce demo data, in memory and in a file."""

from __future__ import annotations

import gc

import pytest

DEMO_USERS = 3000


@pytest.fixture(scope="session")
def ecommerce_tables():
    """``generate("ecommerce", users=3000)``: orders, customers, spend, events (Arrow tables)."""
    from funnelscope.data.demo import generate

    return generate("ecommerce", users=DEMO_USERS)


@pytest.fixture(scope="session")
def ecommerce_file(tmp_path_factory, ecommerce_tables):
    """A DuckDB workspace file holding the ecommerce demo tables (closed after loading)."""
    import funnelscope as fs

    path = tmp_path_factory.mktemp("value_demo") / "shop.duckdb"
    ws = fs.connect(str(path))
    for name, table in ecommerce_tables.items():
        ws.load(table, name)
    ws.backend.disconnect()
    del ws
    gc.collect()
    return path


@pytest.fixture(scope="session")
def ecommerce_ws(ecommerce_tables):
    """An in-memory DuckDB workspace with the ecommerce demo tables (shared: never save into
    it; tests that save build their own)."""
    import funnelscope as fs

    ws = fs.connect()
    for name, table in ecommerce_tables.items():
        ws.load(table, name)
    return ws
