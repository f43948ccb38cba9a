"""What a lead-scoring request asks for: :class:`LeadsSpec`, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass

from funnelscope.analyses.leads.rules import Rule, parse_rules
from funnelscope.durations import describe, to_microseconds
from funnelscope.errors import SpecError

ENTITIES = ("user", "account")
CALIBRATIONS = ("sigmoid", "isotonic")
DAY_US = 86_400_000_000
#: Windows of the event-count features, in days.
COUNT_WINDOWS = (7, 30)
#: Inactivity that ends a session (docs/journeys.md, "Sessions"), in µs.
SESSION_GAP_US = 30 * 60 * 1_000_000
#: Behaviour tags: cart_abandoner (an add_to_cart in the last CART_DAYS), returning (at least
#: RETURNING_DAYS active days), dormant (no event for DORMANT_DAYS).
CART_EVENT = "add_to_cart"
CART_DAYS = 7
RETURNING_DAYS = 2
DORMANT_DAYS = 14
MAX_HORIZON_DAYS = 365


def _names(value: object, option: str) -> tuple[str, ...]:
    from funnelscope.analyses.event_names import split_names

    if value is None or value in ("", (), []):
        return ()
    if isinstance(value, str):
        return tuple(split_names(value))
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(n for v in value for n in split_names(v))
    raise SpecError(f"{option}: give event names, got {value!r}.")


def _whole(value: object, option: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{option} must be a whole number from {low} to {high}, got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class LeadsSpec:
    """A validated lead-scoring request.

    target_event: the conversion (``pay``); a lead is an entity that has events but never did
    it. horizon: a lead "converts" when it does the target within this long after the
    cut-off; the score is the calibrated probability of that. entity: user | account
    (events.account_id). top: leads listed (best first). steps: the funnel whose depth
    reached is a feature (ordered, no window; the target step is dropped); empty: none.
    top_events: the event names counted as features (the most frequent ones). top_values:
    one-hot columns per customers column (its most frequent values). snapshots: training
    cut-offs, one horizon apart, before the holdout cut-off. calibration: sigmoid (Platt) or
    isotonic. rules: the funnelscope.yml rules (:mod:`funnelscope.analyses.leads.rules`).
    """

    target_event: str
    horizon: str = "14d"
    entity: str = "user"
    top: int = 50
    steps: tuple[str, ...] = ()
    top_events: int = 10
    top_values: int = 5
    snapshots: int = 4
    calibration: str = "sigmoid"
    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        target = self.target_event
        if isinstance(target, (list, tuple)) and len(target) == 1:
            target = target[0]
        if not isinstance(target, str) or not target.strip():
            raise SpecError(f"target_event: give the one event that makes a lead a customer, got "
                            f"{self.target_event!r}.", hint="e.g. --target-event pay")
        object.__setattr__(self, "target_event", target.strip())
        us = to_microseconds(self.horizon, "horizon")
        if us <= 0 or us > MAX_HORIZON_DAYS * DAY_US:
            raise SpecError(f"horizon must be longer than 0 and at most {MAX_HORIZON_DAYS} days, "
                            f"got {self.horizon!r}.", hint="e.g. --horizon 14d")
        object.__setattr__(self, "horizon", describe(us))
        if self.entity not in ENTITIES:
            raise SpecError(f"entity must be one of {', '.join(ENTITIES)}, got {self.entity!r}.")
        if self.calibration not in CALIBRATIONS:
            raise SpecError(f"calibration must be one of {', '.join(CALIBRATIONS)}, got "
                            f"{self.calibration!r}.")
        object.__setattr__(self, "top", _whole(self.top, "top", 1, 100_000))
        object.__setattr__(self, "top_events", _whole(self.top_events, "top_events", 0, 100))
        object.__setattr__(self, "top_values", _whole(self.top_values, "top_values", 0, 50))
        object.__setattr__(self, "snapshots", _whole(self.snapshots, "snapshots", 1, 52))
        steps = tuple(s for s in _names(self.steps, "steps") if s != self.target_event)
        if len(set(steps)) != len(steps):
            raise SpecError(f"steps: each step must be a different event, got {list(steps)}.")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "rules", parse_rules(self.rules))

    @property
    def horizon_us(self) -> int:
        return to_microseconds(self.horizon, "horizon")

    @property
    def entity_column(self) -> str:
        return "user_id" if self.entity == "user" else "account_id"

    def event_names(self) -> dict[str, list[str]]:
        """The event names this request names, by option (checked against the data)."""
        out = {"target_event": [self.target_event]}
        if self.steps:
            out["steps"] = list(self.steps)
        for r in self.rules:
            if r.kind == "event":
                out.setdefault(f"leads rule {r.name!r}", []).append(r.event)
        return out

    def to_sql(self, dialect: str = "duckdb") -> str:
        """The SQL of the per-entity feature table at one cut-off (placeholder event names for
        the counted events), with no data needed."""
        from funnelscope.analyses.leads.features import FeaturePlan, features_sql

        if dialect != "duckdb":
            raise SpecError(f"leads is written for DuckDB, not {dialect!r}.")
        plan = FeaturePlan(events=(self.target_event,), steps=self.steps, attributes=())
        return features_sql(self, plan, 'SELECT * FROM "events"', None, "UTC", [(0, 0)])

    def to_dict(self) -> dict:
        return {"target_event": self.target_event, "horizon": self.horizon,
                "entity": self.entity, "top": self.top, "steps": list(self.steps),
                "top_events": self.top_events, "top_values": self.top_values,
                "snapshots": self.snapshots, "calibration": self.calibration,
                "rules": [r.to_dict() for r in self.rules]}
