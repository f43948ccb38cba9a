"""What an attribution request asks for: :class:`AttributionSpec`, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from funnelscope.durations import describe, to_microseconds
from funnelscope.errors import SpecError

#: The attribution models, in the order every table lists them.
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position", "markov")
VALUES = ("conversions", "revenue")


def _names(value: object, option: str, *, required: bool) -> tuple[str, ...]:
    from funnelscope.analyses.event_names import split_names

    if value is None or value == "" or value == () or value == []:
        if required:
            raise SpecError(f"{option}: give the event that counts as a conversion.",
                            hint="e.g. --conversion-event pay")
        return ()
    if isinstance(value, str):
        names = split_names(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = [n.strip() for n in value if n.strip()]
    else:
        raise SpecError(f"{option}: give event names, got {value!r}.")
    if not names and required:
        raise SpecError(f"{option}: give the event that counts as a conversion.",
                        hint="e.g. --conversion-event pay")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class AttributionSpec:
    """A validated attribution request.

    conversion_events: the events that are conversions (every occurrence counts, or only the
    user's first with ``first_conversion``). touch_events: the events that are touches; empty
    = every event with a non-null ``channel_column`` that is not a conversion event.
    channel_column: the events column naming the touch's channel. lookback: how far before a
    conversion a touch still counts (text as written, e.g. ``30d``). half_life: time-decay
    half-life. value: ``conversions`` or ``revenue`` (also share the conversions' amounts).
    order: Markov chain order; only 1 is supported.
    """

    conversion_events: tuple[str, ...]
    touch_events: tuple[str, ...] = ()
    channel_column: str = "channel"
    lookback: str = "30d"
    half_life: str = "7d"
    value: str = "conversions"
    first_conversion: bool = False
    order: int = 1

    def __post_init__(self) -> None:
        conv = _names(self.conversion_events, "conversion_event", required=True)
        touch = _names(self.touch_events, "touch_event", required=False)
        object.__setattr__(self, "conversion_events", conv)
        object.__setattr__(self, "touch_events", touch)
        both = [t for t in touch if t in conv]
        if both:
            raise SpecError(f"touch_event: {both[0]!r} is also the conversion event; a "
                            "conversion cannot be its own touch.",
                            hint="Name the events that bring users in (e.g. visit, view), or "
                                 "leave --touch-event out to use every event with a channel.")
        if not isinstance(self.channel_column, str) or not self.channel_column.strip():
            raise SpecError(f"channel_column: give an events column, got {self.channel_column!r}.",
                            hint="e.g. --channel-column channel")
        object.__setattr__(self, "channel_column", self.channel_column.strip())
        for name in ("lookback", "half_life"):
            us = to_microseconds(getattr(self, name), name)
            if us <= 0:
                raise SpecError(f"{name} must be longer than 0, got {getattr(self, name)!r}.",
                                hint="e.g. 30d for --lookback, 7d for --half-life.")
            if not isinstance(getattr(self, name), str):
                object.__setattr__(self, name, describe(us))
        if self.value not in VALUES:
            raise SpecError(f"value must be one of {', '.join(VALUES)}, got {self.value!r}.")
        if not isinstance(self.first_conversion, bool):
            raise SpecError(f"first_conversion must be true or false, got {self.first_conversion!r}.")
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1:
            raise SpecError(f"order must be a whole number >= 1, got {self.order!r}.")
        if self.order != 1:
            raise SpecError(
                f"order {self.order}: only the first-order Markov chain is supported.",
                hint="Use --order 1 (higher orders are not implemented: docs/attribution.md).")

    @property
    def lookback_us(self) -> int:
        """The lookback window in microseconds."""
        return to_microseconds(self.lookback, "lookback")

    @property
    def half_life_us(self) -> int:
        """The time-decay half-life in microseconds."""
        return to_microseconds(self.half_life, "half_life")

    def to_sql(self, dialect: str = "duckdb") -> str:
        """The SQL of the per-touch credit query (DuckDB), with no data needed."""
        from funnelscope.analyses.attribution.journeys import credit_sql

        if dialect != "duckdb":
            raise SpecError(f"attribution is written for DuckDB, not {dialect!r}.")
        return credit_sql(self, value_sql="NULL", orders=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["conversion_events"] = list(self.conversion_events)
        out["touch_events"] = list(self.touch_events)
        return out
