"""What a pipeline analysis is: stages, win stage, breakdown and settings, validated up front.

The definitions the numbers follow are in docs/pipeline.md. A spec holds no data; the
functions in ``funnelscope.analyses.pipeline`` evaluate it on a workspace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from funnelscope.data.schema import STAGE_PRESETS
from funnelscope.errors import SpecError

PERIODS = ("month", "quarter")
CATEGORIES = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")
PROBABILITY_TABLES = ("historical", "ramp", "salesforce")
MAX_STAGES = 100

# The stage at which a deal counts as won, per preset. Any other stage list: a stage named
# "won" / "closed won" (any case, "-" or "_" for the space) if there is one, else the last stage.
WIN_STAGE_OF_PRESET = {"telecom": "paying", "b2b": "won", "salesforce": "Closed Won"}
WIN_STAGE_NAMES = ("won", "closed won", "closed-won", "closed_won", "closedwon")

# Salesforce's out-of-the-box stage probabilities (Setup > Opportunity > Stage).
SALESFORCE_PROBABILITIES = {
    "Prospecting": 0.10, "Qualification": 0.10, "Needs Analysis": 0.20,
    "Value Proposition": 0.50, "Id. Decision Makers": 0.60, "Perception Analysis": 0.70,
    "Proposal/Price Quote": 0.75, "Negotiation/Review": 0.90, "Closed Won": 1.0,
}


class UnknownStageError(SpecError):
    """A stage name that is not in the stage list, or a stage list that does not fit the deals."""

    code = "unknown_stage"


def stage_text(name: Any, candidates: Any) -> str:
    """``'Won' (did you mean 'won'?)``: a stage name with the closest of ``candidates``."""
    from funnelscope.analyses.event_names import suggest_names

    sugg = suggest_names(str(name), [str(c) for c in candidates]) if isinstance(name, str) else []
    return f"{name!r}" + (f" (did you mean {' or '.join(map(repr, sugg))}?)" if sugg else "")


def check_stages_in_data(spec: PipelineSpec, counts: dict[str, int]) -> None:
    """Raise UnknownStageError when the stage list does not fit the deals' stages.

    ``counts``: stage name -> entries in the deals table. A stage of the list with no entry is
    a true 0 (a young pipeline, nobody renewed yet) only when every stage the deals use is in
    the list. When some of the deals' stages are left out, a list stage without entries is
    an error if no list stage occurs, more than half of them have no entry, the win stage has
    none, or it looks like one of the left-out stages (case, width, spaces, a typo): its
    counts would be zeros because a name did not match.
    """
    seen = [s for s, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))) if n]
    missing = [s for s in spec.stages if not counts.get(s)]
    outside = [s for s in seen if s not in spec.stages]
    if not missing or not outside:
        return
    from funnelscope.analyses.event_names import suggest_names

    typos = {m: suggest_names(m, outside) for m in missing}
    present = len(spec.stages) - len(missing)
    if present and len(missing) * 2 <= len(spec.stages) and spec.win_stage not in missing \
            and not any(typos.values()):
        return
    texts = [f"{m!r}" + (f" (did you mean {' or '.join(map(repr, typos[m]))}?)" if typos[m] else "")
             for m in missing]
    win = f" (the win stage {spec.win_stage!r} among them)" if spec.win_stage in missing else ""
    verb = "has" if len(missing) == 1 else "have"
    what = ("no deal has a stage entry in the stages" if not present else
            f"{len(missing)} of the {len(spec.stages)} stages {verb} no entry in the deals "
            f"table{win}")
    extra = "" if present else f" {list(spec.stages)}"
    raise UnknownStageError(
        f"{what}{extra}: {', '.join(texts)}.",
        hint=f"The deals table's stages are (most entries first): {', '.join(map(repr, seen[:20]))}"
             f"{' ...' if len(seen) > 20 else ''}. Pass stages= in their order (e.g. "
             f"--stages {','.join(outside[:3] if not present else seen[:3])},...) or the right "
             f"preset ({', '.join(STAGE_PRESETS)}), and win_stage= one of them.",
    )


def resolve_stages(stages: Any, default: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Stage list from a preset name, a comma-separated string or a sequence of names."""
    if stages is None:
        out = tuple(default)
    elif isinstance(stages, str):
        key = stages.strip().lower()
        if key in STAGE_PRESETS:
            out = STAGE_PRESETS[key]
        else:
            from funnelscope.analyses.event_names import split_names

            out = tuple(split_names(stages))
    else:
        out = tuple(stages)
    if len(out) < 2:
        raise SpecError(
            f"a pipeline needs at least two stages, got {list(out)}.",
            hint="Pass stages='b2b' (a preset) or stages=['lead', 'mql', 'won'].",
        )
    if len(out) > MAX_STAGES:
        raise SpecError(f"a pipeline has at most {MAX_STAGES} stages, got {len(out)}.")
    for s in out:
        if not isinstance(s, str) or not s.strip():
            raise SpecError(f"stage names must be non-empty strings, got {s!r}.")
    if len(set(out)) != len(out):
        raise SpecError(f"the stage list repeats a name: {list(out)}.")
    return out


def default_win_stage(stages: tuple[str, ...]) -> str:
    """The win stage of a stage list (see WIN_STAGE_OF_PRESET and WIN_STAGE_NAMES)."""
    for preset, win in WIN_STAGE_OF_PRESET.items():
        if tuple(stages) == STAGE_PRESETS[preset]:
            return win
    for s in stages:
        if s.strip().lower() in WIN_STAGE_NAMES:
            return s
    return stages[-1]


def _pairs(value: Any, what: str) -> tuple[tuple[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise SpecError(f"{what} must be a dict of stage -> value, got {type(value).__name__}.")
    return tuple(sorted(value.items()))


@dataclass(frozen=True)
class PipelineSpec:
    """A validated pipeline definition (exact semantics: docs/pipeline.md).

    stages: ordered stage names (first = entry, e.g. lead). win_stage: entering it means the
    deal is won (its win time). by: a deals column to break down by (owner, team, segment,
    product, ...). period: month | quarter creation cohorts (funnel) and close periods (win
    rates), in the workspace's reporting time zone. as_of_us: the "now" of the analysis in
    microseconds since the epoch (default: the latest stage entry in the data). controllability:
    stage -> 1..5 (default 3). probabilities: the classic forecast's stage probability table:
    "historical" (P(won | reached the stage) among closed deals), "ramp", "salesforce" or a
    dict stage -> 0..1. categories: stage -> forecast category (default from the probability).
    targets: the quota for coverage: one number, or group -> number. stale_factor: an open deal
    is presumed dead in a replay when it has sat in its stage longer than stale_factor × that
    stage's p90 time in stage. min_owner_deals: owners with fewer deals entering the previous
    stage are ignored by what-if's "best owner".
    """

    stages: tuple[str, ...]
    win_stage: str
    by: str | None = None
    period: str | None = None
    as_of_us: int | None = None
    controllability: tuple[tuple[str, int], ...] = ()
    probabilities: Any = "historical"
    categories: tuple[tuple[str, str], ...] = ()
    targets: Any = None
    stale_factor: float = 2.0
    min_owner_deals: int = 10
    shrinkage: float = 10.0

    def __post_init__(self) -> None:
        if self.win_stage not in self.stages:
            raise UnknownStageError(
                f"win stage {stage_text(self.win_stage, self.stages)} is not one of the stages "
                f"{list(self.stages)}.",
                hint="Pass win_stage= one of the stage names.",
            )
        if self.period is not None and self.period not in PERIODS:
            raise SpecError(f"unknown period {self.period!r}.", hint="Use month or quarter.")
        if self.by is not None and (not isinstance(self.by, str) or not self.by.strip()):
            raise SpecError(f"by must be a column name, got {self.by!r}.")
        for stage, score in self.controllability:
            self._check_stage(stage, "controllability")
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise SpecError(
                    f"controllability of stage {stage!r} must be a whole number 1-5, got {score!r}."
                )
        probs = self.probabilities
        if isinstance(probs, str):
            if probs not in PROBABILITY_TABLES:
                raise SpecError(
                    f"unknown probability table {probs!r}.",
                    hint="Use historical, ramp, salesforce or a dict stage -> probability.",
                )
            if probs == "salesforce":
                missing = [s for s in self.stages if s not in SALESFORCE_PROBABILITIES]
                if missing:
                    raise SpecError(
                        f"the salesforce probability table has no stage {missing[0]!r}.",
                        hint="Use it with stages='salesforce', or pass your own table.",
                    )
        elif isinstance(probs, tuple):
            given = dict(probs)
            for stage, p in probs:
                self._check_stage(stage, "probabilities")
                if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                    raise SpecError(f"probability of stage {stage!r} must be 0..1, got {p!r}.")
            missing = [s for s in self.open_stages if s not in given]
            if missing:
                raise SpecError(
                    f"the probability table has no value for stage {missing[0]!r}.",
                    hint="Give every stage before the win stage a probability 0..1.",
                )
        else:
            raise SpecError(f"probabilities must be a name or a dict, got {probs!r}.")
        for stage, cat in self.categories:
            self._check_stage(stage, "categories")
            if cat not in CATEGORIES:
                raise SpecError(
                    f"unknown forecast category {cat!r} for stage {stage!r}.",
                    hint=f"Use one of: {', '.join(CATEGORIES)}.",
                )
        t = self.targets
        if t is not None and not isinstance(t, (int, float, tuple)):
            raise SpecError(f"targets must be a number or a dict group -> number, got {t!r}.")
        for _, v in (t if isinstance(t, tuple) else ()):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise SpecError(f"every target must be a positive number, got {v!r}.")
        if isinstance(t, (int, float)) and (isinstance(t, bool) or t <= 0):
            raise SpecError(f"the target must be a positive number, got {t!r}.")
        if not self.stale_factor > 0:
            raise SpecError(f"stale_factor must be > 0, got {self.stale_factor!r}.")
        if self.min_owner_deals < 1:
            raise SpecError(f"min_owner_deals must be >= 1, got {self.min_owner_deals!r}.")
        if not self.shrinkage >= 0:
            raise SpecError(f"shrinkage must be >= 0, got {self.shrinkage!r}.")

    def _check_stage(self, stage: Any, what: str) -> None:
        if stage not in self.stages:
            raise UnknownStageError(
                f"{what}: unknown stage {stage_text(stage, self.stages)}.",
                hint=f"The stages are: {', '.join(self.stages)}.",
            )

    @property
    def k(self) -> int:
        return len(self.stages)

    @property
    def win_index(self) -> int:
        """0-based position of the win stage."""
        return self.stages.index(self.win_stage)

    @property
    def open_stages(self) -> tuple[str, ...]:
        """Stages an open deal can sit in: those before the win stage."""
        return self.stages[: self.win_index]

    def controllability_of(self, stage: str) -> int:
        return dict(self.controllability).get(stage, 3)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stages"] = list(self.stages)
        d["controllability"] = dict(self.controllability)
        d["categories"] = dict(self.categories)
        if isinstance(self.probabilities, tuple):
            d["probabilities"] = dict(self.probabilities)
        if isinstance(self.targets, tuple):
            d["targets"] = dict(self.targets)
        return d


def make_spec(
    ws_stages: list[str] | tuple[str, ...],
    ws_controllability: dict[str, int] | None = None,
    *,
    stages: Any = None,
    win_stage: str | None = None,
    by: str | None = None,
    period: str | None = None,
    as_of: Any = None,
    controllability: dict[str, int] | None = None,
    probabilities: Any = "historical",
    categories: dict[str, str] | None = None,
    targets: Any = None,
    stale_factor: float = 2.0,
    min_owner_deals: int = 10,
    shrinkage: float = 10.0,
) -> PipelineSpec:
    """Build a PipelineSpec from analyst-friendly arguments (presets, dicts, ISO times)."""
    st = resolve_stages(stages, ws_stages)
    ctrl = {k: v for k, v in (ws_controllability or {}).items() if k in st}
    ctrl.update(controllability or {})
    probs = tuple(sorted(probabilities.items())) if isinstance(probabilities, dict) else probabilities
    tg = tuple(sorted((str(k), v) for k, v in targets.items())) if isinstance(targets, dict) else targets
    return PipelineSpec(
        stages=st, win_stage=win_stage or default_win_stage(st), by=by, period=period,
        as_of_us=None if as_of is None else instant_us(as_of, "as_of"),
        controllability=_pairs(ctrl, "controllability"), probabilities=probs,
        categories=_pairs(categories, "categories"), targets=tg,
        stale_factor=float(stale_factor), min_owner_deals=int(min_owner_deals),
        shrinkage=float(shrinkage),
    )


def instant_us(value: Any, what: str) -> int:
    """An ISO time (UTC unless it has an offset), datetime or pandas Timestamp -> epoch µs."""
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise SpecError(f"cannot read {what} {value!r} as a time.",
                        hint="Write an ISO time, e.g. 2025-12-31 or 2025-12-31T18:00Z.") from None
    if ts is pd.NaT:
        raise SpecError(f"{what} is empty.")
    try:
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        inside = pd.Timestamp(FIRST_TIME, tz="UTC") <= ts <= pd.Timestamp(LAST_TIME, tz="UTC")
    except (ValueError, OverflowError, NotImplementedError):  # pandas' out-of-bounds errors
        inside = False
    if not inside:  # later steps work in pandas nanoseconds
        raise SpecError(f"{what} {value!r} is out of range.",
                        hint=f"Give a time from {FIRST_TIME} to {LAST_TIME}.")
    return int(ts.value // 1000)


#: Times ``instant_us`` accepts (inside pandas' nanosecond range, with room for periods).
FIRST_TIME, LAST_TIME = "1700-01-01", "2199-12-31"
