"""Every analysis gives the same JSON through Python, the CLI, the API and the report.

One workspace with a funnelscope.yml (reporting time zone Asia/Shanghai, a pipeline with
controllability scores, a named funnel). For each case the request is written once per
surface the way a user would write it there: Python keyword arguments, command-line flags,
a query string and the report's (or dashboard's) options, and the JSON of the four answers
must be identical (elapsed seconds aside). Settings must resolve the same way everywhere:
workspace config, then funnelscope.yml, then explicit flags.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

import funnelscope as fs
from funnelscope.analyses import registry
from tests.report.fixtures import build_demo_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return build_demo_workspace(tmp_path_factory.mktemp("surfaces"))


@pytest.fixture(scope="module")
def client(workspace):
    from fastapi.testclient import TestClient

    from funnelscope.web import Settings, create_app

    with TestClient(create_app(Settings(workspace=workspace, time_limit=120))) as c:
        yield c


@pytest.fixture(scope="module")
def ws(workspace):
    w = fs.connect(str(workspace), read_only=True)
    yield w
    w.close()


def plain(data: dict) -> dict:
    """JSON round trip without the elapsed time; floats to 12 significant digits, because
    DuckDB's parallel sums of doubles may differ from run to run in the last bits."""

    def rounded(v):
        if isinstance(v, float):
            return float(f"{v:.12g}")
        if isinstance(v, list):
            return [rounded(x) for x in v]
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        return v

    data = json.loads(json.dumps(data, default=str))
    for key in ("seconds", "elapsed_s"):
        data.get("meta", {}).pop(key, None)
    return rounded(data)


def cli_json(capsys, *args: str) -> dict:
    from funnelscope.cli.app import main

    capsys.readouterr()
    main(list(args))
    return json.loads(capsys.readouterr().out)


def flags(entry: registry.Analysis, query: dict) -> list[str]:
    """Command-line flags for the query (as a user types them)."""
    out: list[str] = []
    for name, value in query.items():
        p = entry.param(name)
        if p.kind == "bool":
            if bool(value) != p.invert:
                out.append(p.option)
        else:
            out += [p.option, str(value)]
    return out


# (analysis, query by public name, the Python call a user writes)
CASES = [
    ("funnel", {"steps": "view,add_to_cart,pay", "window": "2d", "by": "channel",
                "period": "week"},
     lambda ws: ws.funnel(["view", "add_to_cart", "pay"], "2d", by="channel", period="week")),
    ("funnel", {"steps": "view,checkout,pay", "mode": "strict", "count": "totals"},
     lambda ws: ws.funnel(["view", "checkout", "pay"], mode="strict", count="totals")),
    ("funnel", {"steps": "view,add_to_cart,pay",
                "compare": "period:2026-01-01..2026-01-31,2026-02-01..2026-02-28"},
     lambda ws: ws.funnel(["view", "add_to_cart", "pay"],
                          compare="period:2026-01-01..2026-01-31,2026-02-01..2026-02-28")),
    ("funnel", {"steps": "view,pay", "window": "2d", "compare_by": "platform"},
     lambda ws: ws.funnel(["view", "pay"], "2d", compare_by="platform")),
    ("retention", {"period": "week", "periods": 4},
     lambda ws: ws.retention(period="week", periods=4)),
    ("retention", {"start": "add_to_cart", "returning": "pay", "period": "month", "periods": 2,
                   "by": "channel"},
     lambda ws: ws.retention(start="add_to_cart", returning="pay", period="month", periods=2,
                             by="channel")),
    ("activity", {"period": "week"}, lambda ws: ws.activity(period="week")),
    ("churn", {"inactivity_days": 14, "period": "week"},
     lambda ws: ws.churn(inactivity_days=14, period="week")),
    ("aarrr", {"activation_event": "add_to_cart"},
     lambda ws: ws.aarrr(activation_event="add_to_cart")),
    ("pipeline", {"by": "owner", "period": "quarter"},
     lambda ws: ws.pipeline(stages=list(ws.definitions.pipeline("sales").stages),
                            win_stage="paying", by="owner", period="quarter",
                            controllability={"target": 2})),
    ("rfm", {"bins": 4}, lambda ws: ws.rfm(recency_bins=4, frequency_bins=4, monetary_bins=4)),
    ("acquisition", {"margin": 0.5}, lambda ws: ws.acquisition(gross_margin=0.5)),
    ("clusters", {"k": 3}, lambda ws: ws.clusters(k=3)),
    ("clv", {"time_unit": "week"}, lambda ws: ws.clv(time_unit="week")),
    ("churn_risk", {"window_days": 30}, lambda ws: ws.churn_risk(window_days=30)),
    ("b2b_chain", {"by": "team"}, lambda ws: ws.b2b_chain(by="team")),
    ("benchmark", {"industry": "ecommerce"}, lambda ws: ws.benchmark(industry="ecommerce")),
    ("experiment", {"steps": "view,pay", "variant_column": "channel"},
     lambda ws: ws.experiment(steps=["view", "pay"], variant_column="channel")),
    ("watch", {"steps": "view,pay"}, lambda ws: ws.watch(steps=["view", "pay"])),
    ("paths", {"after": "checkout", "dropped": True, "steps": "view,add_to_cart,checkout,pay",
               "depth": 3, "top": 10},
     lambda ws: ws.paths(after="checkout", dropped=True,
                         steps=["view", "add_to_cart", "checkout", "pay"], depth=3, top=10)),
    ("paths", {"to": "pay", "matrix": True, "session_gap": "1h", "top": 10},
     lambda ws: ws.paths(to="pay", matrix=True, session_gap="1h", top=10)),
    ("paths", {"after": "checkout", "converted": True, "top": 10},  # funnelscope.yml's funnel
     lambda ws: ws.paths(after="checkout", converted=True, top=10)),
    ("watch", {"metric": "orders_by_channel", "every": "hour", "since": "2d"},
     lambda ws: ws.watch(metrics=["orders_by_channel"], every="hour", since="2d")),
    ("attribution", {"conversion_event": "pay", "value": "revenue"},
     lambda ws: ws.attribution(conversion_event="pay", value="revenue")),
    ("attribution", {"conversion_event": "pay", "touch_event": "view", "lookback": "7d",
                     "half_life": "2d", "first_conversion": True, "value": "conversions"},
     lambda ws: ws.attribution(conversion_event=["pay"], touch_event="view", lookback="7d",
                               half_life="2d", first_conversion=True)),
    ("traffic", {"by": "channel", "period": "week", "session_gap": "20m"},
     lambda ws: ws.traffic(by="channel", period="week", session_gap="20m")),
    ("traffic", {"by": "campaign", "start": "2026-01-15", "end": "2026-02-15",
                 "conversion_event": "add_to_cart,pay"},
     lambda ws: ws.traffic(by="campaign", start="2026-01-15", end="2026-02-15",
                           conversion_event=["add_to_cart", "pay"])),
    ("leads", {"target_event": "repurchase", "snapshots": 5, "top": 10, "top_events": 6,
               "top_values": 3},
     lambda ws: ws.leads(target_event="repurchase", snapshots=5, top=10, top_events=6,
                         top_values=3)),
    ("leads", {"target_event": "pay", "horizon": "7d", "top": 5, "snapshots": 3,
               "top_events": 6, "top_values": 3},  # too few later payers: rules and tags only
     lambda ws: ws.leads(target_event="pay", horizon="7d", top=5, snapshots=3, top_events=6,
                         top_values=3)),
]


def python_json(entry: registry.Analysis, result) -> dict:
    """What a Python user gets from ``result.to_dict()`` (the pipeline: with its forecast and
    backtest, as the CLI prints by default)."""
    if entry.name == "pipeline":
        return result.to_dict(include_backtest=True)
    return result.to_dict()


@pytest.mark.parametrize("name,query,python", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_python_cli_api_and_report_agree(name, query, python, ws, workspace, client, capsys):
    entry = registry.get(name)
    expected = plain(python_json(entry, python(ws)))
    cli = cli_json(capsys, entry.cli_name, "--workspace", str(workspace), *flags(entry, query),
                   "--format", "json")
    assert plain(cli) == expected, "CLI differs from Python"
    api = client.get(f"/api/{entry.api_route}?{urlencode(query)}")
    assert api.status_code == 200, api.text
    assert plain(api.json()) == expected, "API differs from Python"
    view = client.get(f"/api/{entry.api_route}/view?{urlencode(query)}")
    assert view.status_code == 200, view.text
    assert plain(view.json()["result"]) == expected, "dashboard view differs from Python"
    if entry.name == "funnel":
        return  # the report shows named funnels: test_named_funnel_agrees_everywhere
    if entry.report is None:
        return  # not in the report
    from funnelscope.report.collect import collect

    data = collect(ws, ws.definitions, only=(name,), options={name: query})
    part = data.parts[name]
    assert part.ok, part.error
    assert plain(part.json) == expected, "report differs from Python"


def test_named_funnel_agrees_everywhere(ws, workspace, client, capsys):
    """The report's checkout funnel (its weekly trend) = Python = CLI --name = API name=."""
    from funnelscope.report.collect import collect
    from funnelscope.report.html import render, results_json

    expected = plain(ws.definitions.funnel("checkout").run(ws).to_dict())
    cli = cli_json(capsys, "funnel", "--workspace", str(workspace), "--name", "checkout",
                   "--format", "json")
    assert plain(cli) == expected
    assert plain(client.get("/api/funnel?name=checkout").json()) == expected
    data = collect(ws, ws.definitions, only=("funnel",))
    embedded = results_json(data)["funnels"]["checkout"]["main"]
    assert plain(embedded) == expected
    assert 'id="funnelscope-results"' in render(data, "en")
    by_channel = plain(ws.definitions.funnel("checkout").run(ws, by="channel").to_dict())
    assert plain(results_json(data)["funnels"]["checkout"]["by channel"]) == by_channel


def test_settings_resolve_the_same_way(ws, workspace, capsys):
    """Time zone: funnelscope.yml over the workspace's saved UTC, --tz over both;
    controllability from the yml pipeline."""
    assert ws.config.timezone == "Asia/Shanghai"
    shanghai = cli_json(capsys, "retention", "--workspace", str(workspace), "--period", "day",
                        "--periods", "2", "--format", "json")
    utc = cli_json(capsys, "retention", "--workspace", str(workspace), "--period", "day",
                   "--periods", "2", "--tz", "UTC", "--format", "json")
    assert shanghai["cohorts"] != utc["cohorts"]  # day boundaries really moved
    assert plain(utc) == plain(fs.connect(str(workspace), read_only=True, tz="UTC")
                               .retention(period="day", periods=2).to_dict())
    pipeline = cli_json(capsys, "pipeline", "--workspace", str(workspace), "--no-backtest",
                        "--format", "json")
    ranks = {(r["from_stage"], r["controllability"]) for r in pipeline["bottlenecks"]}
    assert ("target", 2) in ranks and ("potential", 3) in ranks
    quarter = pipeline["forecast"]
    assert quarter["timezone"] == "Asia/Shanghai" and quarter["start"].endswith("+08:00")


def test_every_analysis_has_a_case():
    assert {c[0] for c in CASES} | {c[0] for c in RESPONSES_CASES} == set(registry.REGISTRY)


@pytest.mark.parametrize("steps", ["view,pya", "View,pay", "view，pay，nope"])
def test_an_unknown_step_is_the_same_error_everywhere(steps, ws, workspace, client):
    """A typo never yields a silent 0: Python raises, the CLI exits 2 with one line, the API
    answers 400 with the same code and message."""
    import subprocess
    import sys

    from funnelscope.analyses.registry import split_names
    from funnelscope.errors import SpecError

    with pytest.raises(SpecError) as raised:
        ws.funnel(split_names(steps))
    error = raised.value
    assert error.code == "unknown_event"
    if "nope" not in steps:  # a near miss gets a suggestion
        assert "did you mean" in str(error).lower()
    api = client.get(f"/api/funnel?{urlencode({'steps': steps})}")
    assert api.status_code == 400 and api.json()["error"]["code"] == error.code
    assert api.json()["error"]["message"] == error.message
    assert str(workspace.parent) not in api.text  # the server's directories stay private
    run = subprocess.run([sys.executable, "-m", "funnelscope", "funnel", "--workspace",
                          str(workspace), "--steps", steps], capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [f"error: {error}"]


#: the experiment on an exposures table (the shared workspace has none): its own workspace
EXPOSURES_CASE = (
    "experiment", {"experiment": "checkout", "steps": "view,pay", "window": "2d",
                   "metric": "conversion,count:cart,revenue", "cuped": True, "correction": "bh"},
    lambda ws: ws.experiment(experiment="checkout", steps=["view", "pay"], window="2d",
                             metrics=["conversion", "count:cart", "revenue"], cuped=True,
                             correction="bh"))


@pytest.fixture(scope="module")
def exposures_workspace(tmp_path_factory):
    """Events, orders and exposures of 400 users, some active before their exposure."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    t0 = pd.Timestamp("2026-02-01T00:00:00Z")
    exposures, events, orders = [], [], []
    for i in range(400):
        user = f"u{i}"
        anchor = t0 + pd.Timedelta(minutes=int(rng.integers(0, 14 * 1440)))
        exposures.append((user, "checkout", ("control", "new")[i % 2], anchor))
        if i % 7 == 0:
            exposures.append((user, "pricing", "b", anchor))
        for _ in range(int(rng.integers(0, 6))):
            ts = anchor + pd.Timedelta(minutes=int(rng.integers(-2 * 1440, 2 * 1440)))
            name = str(rng.choice(["view", "cart", "pay"]))
            events.append((user, name, ts))
            if name == "pay":
                orders.append((user, ts, float(rng.integers(5, 80))))
    path = tmp_path_factory.mktemp("surfaces-exposures") / "ab.duckdb"
    w = fs.connect(str(path))
    w.load(pd.DataFrame(exposures, columns=["user_id", "experiment", "variant", "ts"]), "exposures")
    w.load(pd.DataFrame(events, columns=["user_id", "event", "ts"]), "events")
    w.load(pd.DataFrame(orders, columns=["user_id", "ts", "amount"]), "orders")
    w.close()
    return path


def test_experiment_on_exposures_agrees_everywhere(exposures_workspace, capsys):
    """Python = CLI = API = dashboard view for an exposures experiment with three metrics and
    CUPED; the CSV tables of the CLI and the API are the same."""
    from fastapi.testclient import TestClient

    from funnelscope.web import Settings, create_app

    name, query, python = EXPOSURES_CASE
    entry = registry.get(name)
    w = fs.connect(str(exposures_workspace), read_only=True)
    expected = plain(python(w).to_dict())
    w.close()
    assert len(expected["comparisons"]) == 3 and expected["meta"]["variant_source"] == "exposures"
    cli = cli_json(capsys, entry.cli_name, "--workspace", str(exposures_workspace),
                   *flags(entry, query), "--format", "json")
    assert plain(cli) == expected, "CLI differs from Python"
    with TestClient(create_app(Settings(workspace=exposures_workspace, time_limit=120))) as c:
        api = c.get(f"/api/{entry.api_route}?{urlencode(query)}")
        assert api.status_code == 200, api.text
        assert plain(api.json()) == expected, "API differs from Python"
        view = c.get(f"/api/{entry.api_route}/view?{urlencode(query)}")
        assert view.status_code == 200, view.text
        assert plain(view.json()["result"]) == expected, "dashboard view differs from Python"
        from funnelscope.cli.app import main

        for table in entry.csv:
            capsys.readouterr()
            main([entry.cli_name, "--workspace", str(exposures_workspace), *flags(entry, query),
                  "--format", "csv", "--table", table])
            text = capsys.readouterr().out
            served = c.get(f"/api/{entry.api_route}.csv?{urlencode({**query, 'table': table})}")
            assert served.status_code == 200, served.text
            assert served.text.replace("\r\n", "\n").strip() == text.replace("\r\n", "\n").strip()


#: satisfaction needs a responses table (the shared workspace has none): its own workspace
RESPONSES_CASES = [
    ("satisfaction", {"by": "channel", "period": "week"},
     lambda ws: ws.satisfaction(by="channel", period="week")),
    ("satisfaction", {"by": "segment", "survey": "post_purchase", "csat_satisfied": 5,
                      "horizon": "14d", "period": "month"},
     lambda ws: ws.satisfaction(by="segment", survey=["post_purchase"], csat_satisfied=5,
                                horizon="14d", period="month")),
]


@pytest.fixture(scope="module")
def responses_workspace(tmp_path_factory):
    """The ecommerce demo's events, customers, orders and survey responses (1,500 users)."""
    from funnelscope.data.demo import generate

    path = tmp_path_factory.mktemp("surfaces-responses") / "survey.duckdb"
    shop = generate("ecommerce", users=1500, seed=7)
    w = fs.connect(str(path))
    for table in ("events", "customers", "orders", "responses"):
        w.load(shop[table], table)
    w.close()
    return path


@pytest.mark.parametrize("name,query,python", RESPONSES_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RESPONSES_CASES)])
def test_responses_analyses_agree_everywhere(name, query, python, responses_workspace, capsys):
    """Python = CLI = API = dashboard view = report, and the CLI's and API's CSV tables."""
    from fastapi.testclient import TestClient

    from funnelscope.cli.app import main
    from funnelscope.report.collect import collect
    from funnelscope.web import Settings, create_app

    entry = registry.get(name)
    w = fs.connect(str(responses_workspace), read_only=True)
    expected = plain(python(w).to_dict())
    part = collect(w, w.definitions, only=(name,), options={name: query}).parts[name]
    assert part.ok, part.error
    assert plain(part.json) == expected, "report differs from Python"
    w.close()
    cli = cli_json(capsys, entry.cli_name, "--workspace", str(responses_workspace),
                   *flags(entry, query), "--format", "json")
    assert plain(cli) == expected, "CLI differs from Python"
    with TestClient(create_app(Settings(workspace=responses_workspace, time_limit=120))) as c:
        api = c.get(f"/api/{entry.api_route}?{urlencode(query)}")
        assert api.status_code == 200, api.text
        assert plain(api.json()) == expected, "API differs from Python"
        view = c.get(f"/api/{entry.api_route}/view?{urlencode(query)}")
        assert view.status_code == 200, view.text
        assert plain(view.json()["result"]) == expected, "dashboard view differs from Python"
        for table in entry.csv:
            capsys.readouterr()
            main([entry.cli_name, "--workspace", str(responses_workspace), *flags(entry, query),
                  "--format", "csv", "--table", table])
            text = capsys.readouterr().out
            served = c.get(f"/api/{entry.api_route}.csv?{urlencode({**query, 'table': table})}")
            assert served.status_code == 200, served.text
            assert served.text.replace("\r\n", "\n").strip() == text.replace("\r\n", "\n").strip()


def test_full_width_commas_separate_steps(ws, workspace, capsys):
    expected = plain(ws.funnel(["view", "add_to_cart", "pay"]).to_dict())
    assert plain(cli_json(capsys, "funnel", "--workspace", str(workspace), "--steps",
                          "view，add_to_cart、pay", "--format", "json")) == expected
