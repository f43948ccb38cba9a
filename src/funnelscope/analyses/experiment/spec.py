"""What a workspace experiment request asks for (``funnelscope experiment``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from funnelscope.errors import ConfigError

#: metric kinds: conversion (a proportion through the funnel of --steps), count:EVENT and
#: revenue (means per user)
METRIC_KINDS = ("conversion", "count", "revenue")
CORRECTIONS = ("holm", "bh", "none")


@dataclass(frozen=True)
class Metric:
    """One metric per user, measured in the user's window [anchor, anchor + window]:

    * ``conversion``: 1 when the user did the funnel ``steps`` (0 otherwise): a proportion;
    * ``count`` (``count:EVENT``): the number of EVENT events (a mean metric, events/user);
    * ``revenue``: the sum of ``orders.amount`` (a mean metric, currency/user; 0 without
      orders).
    """

    kind: str
    event: str | None = None

    @property
    def name(self) -> str:
        return f"count:{self.event}" if self.kind == "count" else self.kind

    @property
    def is_proportion(self) -> bool:
        return self.kind == "conversion"

    @classmethod
    def parse(cls, text: str) -> Metric:
        """``conversion`` | ``count:EVENT`` | ``revenue`` -> Metric; ConfigError otherwise."""
        from funnelscope.analyses.registry import suggest

        raw = str(text).strip()
        kind, sep, event = raw.partition(":")
        kind = kind.strip().lower()
        hint = "Use --metric conversion, --metric count:EVENT (e.g. count:add_to_cart) or --metric revenue."
        if kind not in METRIC_KINDS:
            raise ConfigError(f"--metric: unknown metric {raw!r}.{suggest(kind, METRIC_KINDS)}",
                              hint=hint)
        if kind == "count":
            if not event.strip():
                raise ConfigError(f"--metric: {raw!r} needs an event name after 'count:'.",
                                  hint=hint)
            return cls("count", event.strip())
        if sep:
            raise ConfigError(f"--metric: {raw!r}: only count takes an event (count:EVENT).",
                              hint=hint)
        return cls(kind)


@dataclass(frozen=True)
class ExperimentSpec:
    """steps: event names of the funnel whose conversion is the ``conversion`` metric (and,
    with ``variant_column``, whose first step defines the users and their entry time).
    variant_column: an events column (a user's variant = its one non-null value; users with
    several are excluded) or a customers / segments column. experiment: instead, the name of
    an experiment in the ``exposures`` table (a user's variant = the variant of their
    exposures; the window starts at the first exposure). metrics: ``conversion``,
    ``count:EVENT``, ``revenue``. control: the control variant (None: the alphabetically
    first). alpha: two-sided level. correction: holm | bh | none across every comparison.
    cuped: adjust each metric by its pre-period value. mode, start, end: the funnel's (with
    ``experiment``, start/end bound the exposure time).
    """

    steps: tuple[str, ...]
    variant_column: str | None = None
    experiment: str | None = None
    metrics: tuple[str, ...] = ("conversion",)
    window: str = "7d"
    control: str | None = None
    alpha: float = 0.05
    correction: str = "holm"
    cuped: bool = False
    mode: str = "ordered"
    start: Any = None
    end: Any = None

    @property
    def parsed_metrics(self) -> list[Metric]:
        return [Metric.parse(m) for m in self.metrics]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["steps"] = list(self.steps)
        out["metrics"] = list(self.metrics)
        return out
