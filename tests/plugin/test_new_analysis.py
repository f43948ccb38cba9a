"""Adding an analysis is one package plus one registry entry: every surface offers it.

The example package ``tests/plugin/event_mix`` (spec.py, run.py, result.py) and its entry
(entry.py) are registered; then the Python method, the CLI command, the API routes (JSON,
CSV, OpenAPI) and the report all serve it, and all agree with a plain-Python count.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses import registry

from .entry import EVENT_MIX

ROWS = [("u1", "view"), ("u1", "pay"), ("u2", "view"), ("u3", "view"), ("u3", "cart"),
        ("u4", "cart")]


@pytest.fixture
def registered():
    registry.register(EVENT_MIX)
    yield EVENT_MIX
    registry.REGISTRY.pop(EVENT_MIX.name, None)


@pytest.fixture
def workspace(tmp_path):
    path = tmp_path / "w.duckdb"
    ws = fs.connect(str(path))
    ws.load(pd.DataFrame([{"user_id": u, "event": e, "ts": f"2026-01-0{i + 1}"}
                          for i, (u, e) in enumerate(ROWS)]), "events")
    ws.close()
    return path


def oracle() -> list[dict]:
    users = defaultdict(set)
    for u, e in ROWS:
        users[e].add(u)
    everyone = {u for u, _ in ROWS}
    rows = [{"event": e, "users": len(s), "share": len(s) / len(everyone)} for e, s in users.items()]
    return sorted(rows, key=lambda r: (-r["users"], r["event"]))


def test_one_package_and_one_entry_reach_every_surface(registered, workspace, capsys):
    from fastapi.testclient import TestClient

    from funnelscope.cli.app import build_app, main
    from funnelscope.report.collect import collect
    from funnelscope.report.html import render
    from funnelscope.web import Settings, create_app

    ws = fs.connect(str(workspace), read_only=True)
    python = ws.event_mix(top=5).to_dict()
    assert python["events"] == oracle()
    with pytest.raises(fs.FunnelscopeError, match="Did you mean 'top'"):
        ws.event_mix(topp=5)

    capsys.readouterr()
    main(["event-mix", "--workspace", str(workspace), "--top", "5", "--format", "json"],
         cli=build_app())
    assert json.loads(capsys.readouterr().out) == python

    with TestClient(create_app(Settings(workspace=workspace))) as client:
        assert client.get("/api/event-mix?top=5").json() == python
        assert "/api/event-mix" in client.get("/openapi.json").json()["paths"]
        csv = client.get("/api/event-mix.csv?top=5").text.splitlines()
        assert csv[0] == "event,users,share" and len(csv) == 1 + len(oracle())
        assert client.get("/api/event-mix?top=0").status_code == 422

    data = collect(ws, ws.definitions, options={"event_mix": {"top": 5}})
    assert data.parts["event_mix"].json == python
    assert "Event mix" in render(data, "en")
