"""What a paths request asks for: :class:`PathsSpec`, validated on construction.

The exact semantics are in docs/journeys.md; in short:

* the **anchor** of a user is their first (``occurrence="last"``: last) ``after`` or
  ``before`` event; ``to`` is "the first ``to`` event", read backwards; with none of the
  three the anchor is the start of the user's journey (their first ``depth`` events);
* the **path** is the ``depth`` events after the anchor (``before``/``to``: before it), in the
  total order ``(ts, event_id NULLS LAST, event)``; runs of the same event are one event unless
  ``keep_repeats``; ``within`` bounds the time from the anchor (inclusive);
* ``dropped`` / ``converted`` keep the users whose funnel over ``steps`` (``window``, ``mode``)
  stopped at the anchor step / went past it;
* sessions end after more than ``session_gap`` of inactivity (a gap exactly equal to it
  stays in the session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from funnelscope.errors import SpecError

#: The marker ending a path that has fewer than ``depth`` events after the anchor.
END = "(end)"
#: The marker starting a path that has fewer than ``depth`` events before the anchor (and the
#: virtual anchor of the journey-start mode).
START = "(start)"
#: The path of the row that sums every path beyond the top N.
OTHER = "(other)"
MARKERS = (END, START, OTHER)
OCCURRENCES = ("first", "last")
MODES = ("ordered", "strict", "any")
MAX_DEPTH = 20
DEFAULT_GAP = "30m"


def _event(value: Any, option: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{option}: give one event name, got {value!r}.",
                        hint=f"e.g. --{option.replace('_', '-')} checkout")
    return value.strip()


def _whole(value: Any, option: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low \
            or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"{low}..{high}"
        raise SpecError(f"{option} must be a whole number {bounds}, got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class PathsSpec:
    """A validated paths request (see the module docstring and docs/journeys.md).

    after / before / to: the anchor event (at most one of them). occurrence: first | last
    (``to`` is always the first). depth: events per path (1..20). within: duration text
    bounding |ts - anchor ts| (inclusive), None: no bound. keep_repeats: keep consecutive
    duplicate events. dropped / converted: only users whose funnel over ``steps`` stopped at /
    went past the anchor step, within ``window`` (duration text) in funnel ``mode``. top: paths
    listed before the rest fold into one "(other)" row. matrix: transitions = the whole-log
    first-order transition matrix instead of the paths' depth-wise pairs. session_gap:
    inactivity (duration text) that ends a session. funnel: the funnelscope.yml funnel the
    steps came from (None: given as steps).
    """

    after: str | None = None
    before: str | None = None
    to: str | None = None
    occurrence: str = "first"
    depth: int = 3
    within: str | None = None
    keep_repeats: bool = False
    dropped: bool = False
    converted: bool = False
    steps: tuple[str, ...] = ()
    window: str = "7d"
    mode: str = "ordered"
    top: int = 20
    matrix: bool = False
    session_gap: str = DEFAULT_GAP
    funnel: str | None = None

    def __post_init__(self) -> None:
        from funnelscope.durations import to_microseconds

        for option in ("after", "before", "to"):
            object.__setattr__(self, option, _event(getattr(self, option), option))
        anchors = [o for o in ("after", "before", "to") if getattr(self, o) is not None]
        if len(anchors) > 1:
            raise SpecError(f"give one of after, before and to, not {' and '.join(anchors)}.",
                            hint="after: what users did next; before: what led to it; to: "
                                 "paths to a conversion event.")
        if self.occurrence not in OCCURRENCES:
            raise SpecError(f"occurrence must be first or last, got {self.occurrence!r}.")
        if self.to is not None and self.occurrence != "first":
            raise SpecError("to= always anchors on each user's first conversion event; "
                            "occurrence='last' does not apply.",
                            hint="Use before=EVENT with occurrence='last' for the paths before "
                                 "the last one.")
        object.__setattr__(self, "depth", _whole(self.depth, "depth", 1, MAX_DEPTH))
        object.__setattr__(self, "top", _whole(self.top, "top", 1))
        if self.within is not None:
            to_microseconds(self.within, "within")
        to_microseconds(self.window, "window")
        if to_microseconds(self.session_gap, "session_gap") <= 0:
            raise SpecError("session_gap must be longer than 0, e.g. 30m.")
        if self.mode not in MODES:
            raise SpecError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}.")
        steps = (self.steps,) if isinstance(self.steps, str) else tuple(self.steps or ())
        object.__setattr__(self, "steps", tuple(_event(s, "steps") for s in steps))
        for flag in ("keep_repeats", "dropped", "converted", "matrix"):
            object.__setattr__(self, flag, bool(getattr(self, flag)))
        self._check_funnel_filter()

    def _check_funnel_filter(self) -> None:
        if self.dropped and self.converted:
            raise SpecError("give dropped or converted, not both (together they are every "
                            "user who reached the step: leave both out).")
        if not (self.dropped or self.converted):
            if self.steps or self.funnel:
                raise SpecError(f"{'a named funnel is' if self.funnel else 'steps are'} only "
                                "used with dropped or converted.",
                                hint="e.g. --steps view,add_to_cart,checkout,pay --after "
                                     "checkout --dropped")
            return
        which = "dropped" if self.dropped else "converted"
        anchor = self.after or self.before
        if anchor is None:
            raise SpecError(f"{which} needs the funnel step to split on: after=EVENT (or "
                            "before=EVENT) naming one of the steps.",
                            hint="e.g. --steps view,add_to_cart,checkout,pay --after checkout "
                                 f"--{which}")
        if len(self.steps) < 2:
            raise SpecError(f"{which} needs the funnel: steps with at least two events, one "
                            f"of them {anchor!r}.",
                            hint=f"e.g. --steps view,add_to_cart,checkout,pay --after checkout "
                                 f"--{which}")
        if self.steps.count(anchor) != 1:
            what = "is not one of the steps" if anchor not in self.steps else \
                "appears more than once in the steps"
            raise SpecError(f"{which}: the anchor event {anchor!r} {what} "
                            f"({', '.join(self.steps)}).",
                            hint="Name the step users left after (or went past) exactly once.")
        if self.steps.index(anchor) == len(self.steps) - 1:
            raise SpecError(f"{which}: {anchor!r} is the last step; nobody can leave after it "
                            "or go past it within this funnel.",
                            hint="Add the step that follows it, or anchor on an earlier step.")

    # ----- derived facts ----------------------------------------------------------------
    @property
    def anchor(self) -> str | None:
        """The anchor event's name (None: the journey start)."""
        return self.after or self.before or self.to

    @property
    def direction(self) -> str:
        """``after`` (paths read forwards from the anchor, also for the journey start) or
        ``before`` (paths read backwards from it: ``before`` and ``to``)."""
        return "before" if (self.before or self.to) else "after"

    @property
    def mode_name(self) -> str:
        """after | before | to | start: which kind of anchor."""
        return "after" if self.after else "before" if self.before else "to" if self.to \
            else "start"

    @property
    def step_index(self) -> int | None:
        """1-based funnel step of the anchor, when dropped/converted split on it."""
        return self.steps.index(self.anchor) + 1 if (self.dropped or self.converted) else None

    @property
    def within_us(self) -> int | None:
        from funnelscope.durations import to_microseconds

        return None if self.within is None else to_microseconds(self.within, "within")

    @property
    def session_gap_us(self) -> int:
        from funnelscope.durations import to_microseconds

        return to_microseconds(self.session_gap, "session_gap")

    def event_names(self) -> dict[str, list[str]]:
        """Every event name the request uses, by the option that names it (for the check)."""
        out: dict[str, list[str]] = {}
        for option in ("after", "before", "to"):
            if getattr(self, option):
                out[option] = [getattr(self, option)]
        if self.steps:
            out["steps"] = list(self.steps)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"after": self.after, "before": self.before, "to": self.to,
                "occurrence": self.occurrence, "depth": self.depth, "within": self.within,
                "keep_repeats": self.keep_repeats, "dropped": self.dropped,
                "converted": self.converted, "steps": list(self.steps) or None,
                "window": self.window, "mode": self.mode, "top": self.top,
                "matrix": self.matrix, "session_gap": self.session_gap, "funnel": self.funnel}

    def to_sql(self, dialect: str = "duckdb") -> str:
        """The DuckDB SQL of the per-user paths over a table ``events`` (no data needed;
        dropped/converted add a join to the funnel's user list, shown as ``population``)."""
        if dialect != "duckdb":
            raise SpecError(f"paths are written for DuckDB only, not {dialect!r}.")
        from funnelscope.analyses.paths.sql import user_paths_sql

        population = "SELECT code FROM population" if (self.dropped or self.converted) else None
        return user_paths_sql(self, "SELECT * FROM events", "hash(user_id) >> 1", population)
