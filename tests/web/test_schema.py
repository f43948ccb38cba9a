"""Property-based API test: schemathesis generates requests from /openapi.json for every
operation; no request may produce a server error (5xx other than the documented 503 time
limit), and every response must match its documented schema (errors: the one error shape).

Bounded: 15 examples per operation and mode, no deadline; the slowest value models (CLV, clusters,
churn risk) are excluded here and covered with fixed arguments in test_api.py.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from funnelscope.analyses.registry import ENTRIES  # noqa: E402

#: every analysis of the registry has a JSON, a CSV and a chart route
SLOW_ANALYSES = {"clv", "clusters", "churn_risk"}
SLOW = {f"GET /api/{e.api_route}{suffix}" for e in ENTRIES if e.name in SLOW_ANALYSES
        for suffix in ("", ".csv", "/view")}
OPERATIONS = [
    "GET /api/health", "GET /api/tables", "GET /api/events", "GET /api/breakdowns",
    "GET /api/definitions", "GET /api/metrics/{name}", "GET /api/abtest", "GET /api/sample-size",
] + [f"GET /api/{e.api_route}{suffix}" for e in ENTRIES if e.name not in SLOW_ANALYSES
     for suffix in ("", ".csv", "/view")]


@pytest.fixture(scope="module")
def operations(make_client):
    client = make_client(time_limit=10, max_rows=50)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    return {op.label: op for op in (r.ok() for r in schema.get_all_operations())}


def test_every_operation_is_tested(operations):
    assert set(operations) == set(OPERATIONS) | SLOW


NO_PARAMETERS = {"GET /api/health", "GET /api/tables", "GET /api/events", "GET /api/breakdowns",
                 "GET /api/definitions"}  # nothing to make invalid
CASES = [(label, "positive") for label in OPERATIONS] + \
    [(label, "negative") for label in OPERATIONS if label not in NO_PARAMETERS]


@pytest.mark.parametrize("label,mode", CASES)
def test_no_request_makes_a_server_error(operations, label, mode):
    """``positive``: requests the schema allows; ``negative``: requests it forbids (these must
    be refused with a 4xx in the error shape, never crash)."""
    seen: list[int] = []
    strategy = operations[label].as_strategy(schemathesis.GenerationMode(mode))

    @given(case=strategy)
    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call()
        seen.append(response.status_code)
        if response.status_code == 503:  # the documented time limit
            assert response.json()["error"]["code"] == "query_timeout"
            return
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    check()
    assert seen and all(s < 500 or s == 503 for s in seen)
