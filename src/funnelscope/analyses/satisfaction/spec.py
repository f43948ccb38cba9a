"""What a satisfaction request asks for: :class:`SatisfactionSpec`, validated on construction."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from funnelscope.analyses.event_names import name_tuple
from funnelscope.durations import describe, to_microseconds
from funnelscope.errors import SpecError

PERIODS = ("week", "month")
#: NPS categories, in the order every table lists them.
CATEGORIES = ("promoter", "passive", "detractor")
#: Bain's NPS thresholds on the 0-10 (or 1-10) scale: promoters 9-10, detractors up to 6.
PROMOTER_MIN = 9
DETRACTOR_MAX = 6
#: Confidence level of every interval.
CONFIDENCE = 0.95
#: The largest |score| a scale may have, and the longest churn horizon (10 years, in days).
MAX_SCORE = 1000
MAX_HORIZON_DAYS = 3650
_SCALE = re.compile(r"^\s*(-?\d+)\s*(?:-|\.\.|–|:)\s*(-?\d+)\s*$")


def parse_scale(text: object, option: str) -> tuple[int, int]:
    """``"1-5"`` (also ``1..5``, ``1:5``) -> (1, 5); a SpecError naming ``option`` otherwise."""
    if isinstance(text, (tuple, list)) and len(text) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in text):
        low, high = int(text[0]), int(text[1])
    else:
        m = _SCALE.match(str(text)) if isinstance(text, str) else None
        if m is None:
            raise SpecError(f"{option}: cannot read the scale {text!r}.",
                            hint="Write the lowest and highest score, e.g. 1-5 or 0-10.")
        low, high = int(m.group(1)), int(m.group(2))
    if low >= high:
        raise SpecError(f"{option}: the lowest score must be below the highest, got {text!r}.",
                        hint="e.g. 1-5")
    if max(abs(low), abs(high)) > MAX_SCORE:
        raise SpecError(f"{option}: scores beyond ±{MAX_SCORE} are not a rating scale, got {text!r}.",
                        hint="e.g. 1-5 or 0-10")
    return low, high


def _question(value: object, option: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{option}: give the question's name, got {value!r}.",
                        hint="e.g. --nps-question nps")
    return value.strip()


@dataclass(frozen=True)
class SatisfactionSpec:
    """A validated satisfaction request.

    by: a column of the customers table, of saved segments, or an extra column of the
    responses table (``customers.x`` / ``segments.x`` / ``responses.x`` say which); None: no
    breakdown. period: ``week`` or ``month`` trend by the answer's local date (reporting time
    zone); None: no trend. surveys: only answers of these surveys (empty: all).
    nps_question / csat_question: the ``question`` values holding the NPS and CSAT answers
    (None: ``nps`` / ``csat`` when the data has them). nps_scale: ``0-10`` or ``1-10``
    (promoters 9-10, passives 7-8, detractors the rest). csat_scale: the CSAT scale; a score
    of at least ``csat_satisfied`` counts as satisfied (None: the top two boxes, 4-5 on 1-5).
    horizon: the time after each NPS answer in which an order counts as ordering again.
    """

    by: str | None = None
    period: str | None = None
    surveys: tuple[str, ...] = ()
    nps_question: str | None = None
    csat_question: str | None = None
    nps_scale: str = "0-10"
    csat_scale: str = "1-5"
    csat_satisfied: int | None = None
    horizon: str = "30d"

    def __post_init__(self) -> None:
        if self.by is not None and (not isinstance(self.by, str) or not self.by.strip()):
            raise SpecError(f"by: give a column name, got {self.by!r}.", hint="e.g. --by channel")
        if isinstance(self.by, str):
            object.__setattr__(self, "by", self.by.strip())
        if self.period is not None and self.period not in PERIODS:
            raise SpecError(f"period must be one of {', '.join(PERIODS)}, got {self.period!r}.")
        object.__setattr__(self, "surveys", name_tuple(self.surveys, "survey", "survey names"))
        object.__setattr__(self, "nps_question", _question(self.nps_question, "nps_question"))
        object.__setattr__(self, "csat_question", _question(self.csat_question, "csat_question"))
        if self.nps_question is not None and self.nps_question == self.csat_question:
            raise SpecError(f"nps_question and csat_question are both {self.nps_question!r}.",
                            hint="Name two different questions.")
        low, high = parse_scale(self.nps_scale, "nps_scale")
        if high != 10 or low not in (0, 1):
            raise SpecError(f"nps_scale: NPS is defined on 0-10 (or 1-10), got {self.nps_scale!r}.",
                            hint="Promoters answer 9-10 and detractors 0-6 of 10; rescale other "
                                 "questions before loading, or analyse them with --csat-question.")
        object.__setattr__(self, "nps_scale", f"{low}-{high}")
        low, high = parse_scale(self.csat_scale, "csat_scale")
        object.__setattr__(self, "csat_scale", f"{low}-{high}")
        sat = self.csat_satisfied
        if sat is not None and (isinstance(sat, bool) or not isinstance(sat, int)
                                or not low < sat <= high):
            raise SpecError(f"csat_satisfied must be a whole score above {low} and at most "
                            f"{high} (the csat_scale), got {sat!r}.",
                            hint="e.g. --csat-satisfied 4 on a 1-5 scale (4 and 5 count).")
        us = to_microseconds(self.horizon, "horizon")
        if us <= 0 or us > MAX_HORIZON_DAYS * 86_400_000_000:
            raise SpecError(f"horizon must be longer than 0 and at most {MAX_HORIZON_DAYS} days, "
                            f"got {self.horizon!r}.", hint="e.g. 30d")
        if not isinstance(self.horizon, str):
            object.__setattr__(self, "horizon", describe(us))

    @property
    def nps_range(self) -> tuple[int, int]:
        return parse_scale(self.nps_scale, "nps_scale")

    @property
    def csat_range(self) -> tuple[int, int]:
        return parse_scale(self.csat_scale, "csat_scale")

    @property
    def satisfied_min(self) -> int:
        """The lowest CSAT score that counts as satisfied (default: the top two boxes)."""
        return self.csat_satisfied if self.csat_satisfied is not None else self.csat_range[1] - 1

    @property
    def horizon_us(self) -> int:
        return to_microseconds(self.horizon, "horizon")

    def to_sql(self, dialect: str = "duckdb") -> str:
        """The SQL of the overall answer counts (DuckDB), with no data needed."""
        from funnelscope.analyses.satisfaction import sql

        if dialect != "duckdb":
            raise SpecError(f"satisfaction is written for DuckDB, not {dialect!r}.")
        return sql.counts_sql(sql.answers_sql(self, self.nps_question or "nps",
                                              self.csat_question or "csat"), "'all'",
                              self.satisfied_min)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["surveys"] = list(self.surveys)
        return out
