"""What a workspace experiment request asks for (``funnelscope experiment``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ExperimentSpec:
    """steps: event names of the funnel whose conversion is the metric (users = entities
    entering step 1, conversions = entities reaching the last step within ``window``).
    variant_column: an events column (a user's variant = its one non-null value; users with
    several are excluded) or a customers / segments column. control: the control variant
    (None: the alphabetically first). alpha: two-sided level. mode, start, end: the funnel's.
    """

    steps: tuple[str, ...]
    variant_column: str
    window: str = "7d"
    control: str | None = None
    alpha: float = 0.05
    mode: str = "ordered"
    start: Any = None
    end: Any = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["steps"] = list(self.steps)
        return out
