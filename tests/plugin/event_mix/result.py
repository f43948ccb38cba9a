"""The event-mix Result: one table, ``events`` (event, users, share)."""

from __future__ import annotations

from funnelscope.analyses.result import Result


class EventMixResult(Result):
    """``events``: event, users (distinct), share (of all users with any event)."""
