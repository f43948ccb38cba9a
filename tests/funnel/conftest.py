"""Shared fixtures of the funnel tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def names_unchecked():
    """Run funnels without the unknown-event-name check: the generated logs of the oracle
    tests often lack a step's event, where the definition (and ClickHouse) count nothing.
    The check itself is tested in test_event_names.py."""
    from funnelscope.analyses.event_names import unchecked_event_names

    with unchecked_event_names():
        yield
