"""Traffic and channel quality: how much traffic each channel (campaign, any column) brings,
how good it is, and what it costs.

Per group: page views (PV), unique visitors (UV), sessions (30-minute inactivity), new
visitors, bounce rate, pages per session, average session length, conversions and conversion
rate; with a spend table, cost, impressions, clicks, CTR, CPC, CPM, cost per conversion and
conversions per click. A session belongs to the group of its first event. Definitions:
docs/metrics.md ("Traffic and channel quality") and docs/journeys.md.
"""

from funnelscope.analyses.traffic.run import traffic

__all__ = ["traffic"]
