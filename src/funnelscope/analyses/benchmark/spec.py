"""What a benchmark request asks for."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class BenchmarkSpec:
    """industry: the benchmark row compared with. click_event, signup_event, activation_event,
    pay_event: the event names behind those metrics (None: the default name, or not
    measured; see docs/metrics.md). activation_days: AARRR's activation window.
    inactivity_days: the churn analysis' inactivity definition."""

    industry: str = "ecommerce"
    click_event: str | None = None
    signup_event: str | None = None
    activation_event: str | None = None
    pay_event: str | None = None
    activation_days: int = 7
    inactivity_days: int = 30

    def to_dict(self) -> dict:
        return asdict(self)
