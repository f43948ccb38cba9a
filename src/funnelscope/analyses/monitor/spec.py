"""What a watch request asks for."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class WatchSpec:
    """steps, window, mode, count, entity, exclude, where, first_time: the funnel watched
    (as :func:`funnelscope.analyses.funnel.funnel`). since: days judged, back from the last
    day of the data. by: column whose groups explain an alert. weeks: same-weekday history
    in the baseline. threshold: k of the band median ± k·max(φ, 1)·sampling error.
    min_entrants: a day's conversion is judged only with at least this many entrants. every: bucket size, day or
    hour (reporting time zone). metrics: names of funnelscope.yml metrics watched too (empty:
    none); ``steps`` is empty when only metrics are watched."""

    steps: tuple[str, ...]
    window: str = "7d"
    since: str = "14d"
    by: str | None = None
    weeks: int = 4
    threshold: float = 3.0
    min_entrants: int = 30
    mode: str = "ordered"
    count: str = "uniques"
    entity: str = "user"
    exclude: Any = None
    where: Any = None
    first_time: bool = False
    every: str = "day"
    metrics: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["steps"] = list(self.steps)
        out["metrics"] = list(self.metrics)
        return out
