"""``/api/abtest`` and ``/api/sample-size``: the counts-only experiment tools on the API.

Oracle: the CLI. ``funnelscope abtest ... --format json`` and ``funnelscope sample-size ...
--format json`` are run in-process for the same inputs and their printed JSON must equal the
API's answer exactly. Bad input is a 4xx in the one error shape (never a 500), and the
parameters are typed and bounded in /openapi.json.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def cli_json(capsys, argv: list[str]) -> dict:
    from funnelscope.cli.app import main

    capsys.readouterr()
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def abtest_argv(control: str, treatments: list[str], **options: str) -> list[str]:
    argv = ["abtest", "--control", control, "--format", "json"]
    for t in treatments:
        argv += ["--treatment", t]
    for k, v in options.items():
        argv += [f"--{k}", v]
    return argv


ABTESTS = [
    ("200/1000", ["250/1000"], {}),
    ("200/1000", ["B=260/1000", "C=215/1000"], {"alpha": "0.1"}),
    ("3/40", ["9/41"], {"split": "50,50"}),
    ("0/25", ["0/30"], {}),  # no conversions: undefined tests are null on both surfaces
    ("1200/10000", ["new=1300/10000", "old=1180/9800", "x=1250/10100"],
     {"split": "25,25,25,25", "tuning": "2000"}),
]


@pytest.mark.parametrize("control,treatments,options", ABTESTS)
def test_abtest_answers_the_cli_json(client, capsys, control, treatments, options):
    r = client.get("/api/abtest", params={"control": control, "treatment": treatments, **options})
    assert r.status_code == 200, r.text
    assert r.json() == cli_json(capsys, abtest_argv(control, treatments, **options))


SAMPLE_SIZES = [
    {"baseline": "0.2", "mde": "0.05"},
    {"baseline": "0.2", "mde": "0.1", "relative": "true", "daily-users": "2000"},
    {"baseline": "0.03", "mde": "0.005", "power": "0.9", "alpha": "0.01", "variants": "3"},
    {"baseline": "0.5", "mde": "0.0001", "power": "0.9999", "alpha": "0.0001"},  # the extreme
]


@pytest.mark.parametrize("options", SAMPLE_SIZES)
def test_sample_size_answers_the_cli_json(client, capsys, options):
    argv = ["sample-size", "--format", "json"]
    for k, v in options.items():
        argv += [f"--{k}"] if v == "true" else [f"--{k}", v]
    params = {k.replace("-", "_"): v for k, v in options.items()}
    r = client.get("/api/sample-size", params=params)
    assert r.status_code == 200, r.text
    assert r.json() == cli_json(capsys, argv)


def test_sample_size_matches_r_power_prop_test(client):
    # R: power.prop.test(p1 = 0.2, p2 = 0.25, power = 0.8)$n = 1093.739
    body = client.get("/api/sample-size", params={"baseline": 0.2, "mde": 0.05}).json()
    assert body["per_variant_exact"] == pytest.approx(1093.739, abs=1e-3)
    assert body["per_variant"] == 1094 and body["total"] == 2188


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_counts_answer_the_cli_json(client, capsys, data):
    groups = []
    for _ in range(data.draw(st.integers(2, 4), label="variants")):
        users = data.draw(st.integers(1, 50_000), label="users")
        groups.append(f"{data.draw(st.integers(0, users), label='conversions')}/{users}")
    alpha = data.draw(st.sampled_from(["0.01", "0.05", "0.2"]), label="alpha")
    r = client.get("/api/abtest", params={"control": groups[0], "treatment": groups[1:],
                                          "alpha": alpha})
    assert r.status_code == 200, r.text
    assert r.json() == cli_json(capsys, abtest_argv(groups[0], groups[1:], alpha=alpha))


def _error(r, status: int, *words: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}
    for w in words:
        assert w in body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize("params,status,words", [
    ({"control": "200/1000"}, 422, ("treatment",)),                       # missing
    ({"treatment": "250/1000"}, 422, ("control",)),
    ({"control": "200/1000", "treatment": "2000/1000"}, 400, ("treatment", "more conversions")),
    ({"control": "two/1000", "treatment": "250/1000"}, 400, ("control", "whole number")),
    ({"control": "200/0", "treatment": "250/1000"}, 400, ("control", "zero users")),
    ({"control": "200/1000", "treatment": "B=250/1000", "split": "50,50,50"}, 400, ("split",)),
    ({"control": "200/1000", "treatment": "250/1000", "alpha": "0.9"}, 422, ("alpha",)),
    ({"control": "200/1000", "treatment": "250/1000", "alpha": "nan"}, 422, ("alpha",)),
    ({"control": "1/999999999999", "treatment": "1/2"}, 400, ("control", "more than the API")),
    ({"control": "1/" + "9" * 40, "treatment": "1/2"}, 400, ("control",)),
    ({"control": "200/1000", "treatment": ["250/1000"] * 33}, 422, ("treatment",)),
])
def test_abtest_refuses_bad_requests_with_a_4xx(client, params, status, words):
    _error(client.get("/api/abtest", params=params), status, *words)


@pytest.mark.parametrize("params,status,words", [
    ({"baseline": "0.2"}, 400, ("--mde", "--users")),
    ({"baseline": "1.2", "mde": "0.05"}, 422, ("baseline",)),
    ({"baseline": "0", "mde": "0.05"}, 422, ("baseline",)),
    ({"baseline": "0.2", "mde": "0"}, 422, ("mde",)),
    ({"baseline": "0.2", "mde": "1e-9"}, 422, ("mde",)),                  # n would overflow
    ({"baseline": "0.2", "mde": "-0.05"}, 422, ("mde",)),
    ({"baseline": "0.2", "mde": "inf"}, 422, ("mde",)),
    ({"baseline": "0.99", "mde": "0.05"}, 400, ("target rate",)),
    ({"baseline": "1e-300", "mde": "0.0001", "relative": "true"}, 400, ("sample-size",)),
    ({"baseline": "0.5", "mde": "0.0001", "power": "0.9999", "alpha": "0.0001",
      "daily_users": "1e-300"}, 400, ("sample-size",)),
    ({"baseline": "0.2", "mde": "0.05", "power": "1"}, 422, ("power",)),
    ({"baseline": "0.2", "mde": "0.05", "variants": "1"}, 422, ("variants",)),
    ({"baseline": "0.2", "mde": "0.05", "daily_users": "0"}, 422, ("daily_users",)),
])
def test_sample_size_refuses_bad_requests_with_a_4xx(client, params, status, words):
    _error(client.get("/api/sample-size", params=params), status, *words)


def test_the_schema_types_and_bounds_every_parameter(client):
    paths = client.get("/openapi.json").json()["paths"]
    ab = {p["name"]: p for p in paths["/api/abtest"]["get"]["parameters"]}
    ss = {p["name"]: p for p in paths["/api/sample-size"]["get"]["parameters"]}
    assert set(ab) == {"control", "treatment", "alpha", "split", "tuning"}
    assert set(ss) == {"baseline", "mde", "users", "relative", "power", "alpha", "variants",
                       "daily_users", "entry_event"}
    assert ab["control"]["required"] and ab["treatment"]["required"]
    assert ab["treatment"]["schema"]["type"] == "array" and ab["treatment"]["schema"]["maxItems"] == 32
    assert ab["control"]["schema"]["maxLength"] == 120
    assert ab["alpha"]["schema"]["minimum"] == 0.0001 and ab["alpha"]["schema"]["maximum"] == 0.5
    assert ss["baseline"]["schema"]["exclusiveMinimum"] == 0
    assert ss["baseline"]["schema"]["exclusiveMaximum"] == 1
    mde = next(a for a in ss["mde"]["schema"]["anyOf"] if a.get("type") == "number")
    assert mde["minimum"] == 0.0001
    users = next(a for a in ss["users"]["schema"]["anyOf"] if a.get("type") == "integer")
    assert users["minimum"] == 2 and users["maximum"] == 10**12
    assert ss["relative"]["schema"]["type"] == "boolean"
    assert ss["variants"]["schema"]["type"] == "integer"
    for name in ("power", "alpha", "variants"):
        assert {"minimum", "maximum"} <= set(ss[name]["schema"]), name


def test_they_run_on_the_time_limited_worker(make_client):
    """A request is answered through State.run (the worker with the time limit): with the
    worker busy beyond the limit, an abtest gets 503 query_timeout, not an answer."""
    import threading

    c = make_client(raise_server_exceptions=False, time_limit=0.5)
    s = c.app.state.funnelscope
    release = threading.Event()
    blocker = threading.Thread(target=lambda: _swallow(lambda: s.run(
        lambda _ws: release.wait(5), time_limit=10)))
    blocker.start()
    try:
        r = c.get("/api/abtest", params={"control": "17/100", "treatment": "23/100"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "query_timeout", r.text
        r = c.get("/api/sample-size", params={"baseline": "0.17", "mde": "0.023"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "query_timeout", r.text
    finally:
        release.set()
        blocker.join()
    assert c.get("/api/abtest", params={"control": "17/100", "treatment": "23/100"}).status_code == 200


def _swallow(f) -> None:
    import contextlib

    with contextlib.suppress(Exception):  # only the blocking job's outcome, not under test
        f()
