"""Funnels side by side: the same funnel for entry periods, before/after a date, or per group.

``ws.funnel(steps, window, compare="period:2026-01-01..2026-01-31,2026-02-01..2026-02-28")``,
``compare="before:2026-03-01"`` or ``compare_by="variant"`` returns a
:class:`FunnelComparison`: each compared funnel's entities and conversion per step, and for
every funnel after the first (the *reference*) the difference in conversion from the first
step with a 95% confidence interval and a p-value. Semantics (docs/funnels.md, "Comparing
funnels"):

* **periods** are *entry* ranges: an entry belongs to a period when its first-step event is
  inside it (whole days in the reporting time zone, both end dates inclusive); its later
  steps may fall after the period's end, up to the window. Each period runs the unchanged
  funnel engine with the first step restricted to that range (``where ts >= from and ts <
  to``), so an entity that enters in two periods counts in both. In any-order mode, which has
  no first step, a period keeps the events inside it instead.
* ``before:D`` is two periods: entries before day D, and entries on or after it.
* ``compare_by=COLUMN`` runs the funnel once with ``by=COLUMN`` (a property of the first
  step's event, a customers column or a saved segment) and compares its groups: disjoint
  sets of entities, ordered by value text, entries without a value ("(none)") and the groups
  folded beyond ``top_groups`` ("other") last.

Statistics per step j, funnel i against the reference r, with x = entities reaching step j
and n = entities entering (step 1): rates x/n; ``difference`` = rate_i − rate_r in rate units
(0.05 = 5 percentage points), its unpooled Wald interval ±1.96·sqrt(p_i(1−p_i)/n_i +
p_r(1−p_r)/n_r) (statsmodels ``confint_proportions_2indep(method="wald")``), ``p_value`` of
the two-proportion z test with the pooled rate (statsmodels ``proportions_ztest``), and
``relative`` = rate_i / rate_r − 1 (None when the reference converts nobody). A row is
``significant`` when p < 0.05. No correction for the many steps and funnels is made.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.funnel.result import NO_VALUE, OTHER, RecordTables
from funnelscope.analyses.funnel.spec import FunnelSpec, instant_us
from funnelscope.analyses.result import Result, jsonable
from funnelscope.errors import ConfigError

if TYPE_CHECKING:
    from funnelscope.analyses.funnel.result import FunnelResult
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: two-sided significance level; the intervals are 95%
ALPHA = 0.05
KINDS = ("period", "before")
GRAMMAR = ("period:FIRST..LAST,FIRST..LAST[,...] (days YYYY-MM-DD, both inclusive) or "
           "before:DAY (entries before DAY vs on or after it)")
METHODS = {"difference": "conversion from start, funnel minus reference (rate units)",
           "ci": "unpooled Wald, 95%", "p_value": "two-proportion z test, pooled, two-sided",
           "relative": "rate / reference rate - 1", "significant": "p_value < 0.05"}


# ----- the request --------------------------------------------------------------------------
@dataclass(frozen=True)
class EntryRange:
    """Entries whose first-step event falls on ``first_day``..``last_day`` (whole days in the
    reporting time zone, both inclusive; None = unbounded on that side)."""

    label: str
    first_day: date | None
    last_day: date | None

    def bounds_us(self, tz: str) -> tuple[int | None, int | None]:
        """[from, to) in µs since the epoch: midnight of ``first_day``, midnight after
        ``last_day``, in ``tz``."""
        lo = None if self.first_day is None else instant_us(self.first_day.isoformat(), tz)
        hi = None if self.last_day is None else \
            instant_us((self.last_day + timedelta(days=1)).isoformat(), tz)
        return lo, hi

    def to_dict(self) -> dict[str, Any]:
        return {"entry_from": None if self.first_day is None else self.first_day.isoformat(),
                "entry_to": None if self.last_day is None else self.last_day.isoformat()}


def _day(text: str, compare: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"compare {compare!r}: cannot read the day {text.strip()!r}.",
                          hint=f"Write days as YYYY-MM-DD: {GRAMMAR}.") from None


def parse_compare(text: str) -> tuple[str, tuple[EntryRange, ...]]:
    """``"period:A..B,C..D"`` or ``"before:D"`` -> (kind, entry ranges in the order given).

    ConfigError for an unknown kind, unreadable days, fewer than two periods, a period whose
    last day is before its first, and periods that overlap.
    """
    from funnelscope.analyses.event_names import split_names
    from funnelscope.analyses.registry import suggest

    raw = str(text).strip()
    kind, sep, rest = raw.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in KINDS:
        raise ConfigError(f"cannot read compare {raw!r}.{suggest(kind, KINDS) if sep else ''}",
                          hint=f"Use {GRAMMAR}; to compare groups use compare_by "
                               "(--compare-by COLUMN).")
    if kind == "before":
        day = _day(rest, raw)
        return kind, (EntryRange(f"before {day.isoformat()}", None, day - timedelta(days=1)),
                      EntryRange(f"from {day.isoformat()}", day, None))
    ranges = []
    for item in split_names(rest):
        first, dots, last = item.partition("..")
        a = _day(first, raw)
        b = _day(last, raw) if dots else a
        if b < a:
            raise ConfigError(f"compare {raw!r}: the period {item} ends before it starts.",
                              hint="Write FIRST..LAST with FIRST on or before LAST.")
        ranges.append(EntryRange(f"{a.isoformat()}..{b.isoformat()}", a, b))
    if len(ranges) < 2:
        raise ConfigError(f"compare {raw!r}: give at least two periods to compare.",
                          hint=f"Use {GRAMMAR}.")
    ordered = sorted(ranges, key=lambda r: r.first_day)
    for prev, cur in zip(ordered, ordered[1:], strict=False):
        if cur.first_day <= prev.last_day:
            raise ConfigError(f"compare {raw!r}: the periods {prev.label} and {cur.label} "
                              "overlap.",
                              hint="Compared periods must not share a day (an entry would "
                                   "count in both).")
    return kind, tuple(ranges)


def check_request(spec: FunnelSpec, compare: str | None, compare_by: str | None) -> None:
    """Options that cannot go with a comparison: ConfigError naming them and what to do."""
    if compare and compare_by:
        raise ConfigError("give compare (--compare) or compare_by (--compare-by), not both.",
                          hint="Compare periods with --compare period:A..B,C..D, groups with "
                               "--compare-by COLUMN.")
    option = "--compare" if compare else "--compare-by"
    if spec.by:
        raise ConfigError(f"{option} cannot be combined with --by (by=): a comparison is not a "
                          "breakdown.",
                          hint="Compare the groups of a column with --compare-by COLUMN alone, "
                               "or drop the comparison to see the breakdown.")
    if spec.period:
        raise ConfigError(f"{option} cannot be combined with --period (period=).",
                          hint="A trend over every period is --period alone; compare chosen "
                               "periods with --compare period:A..B,C..D.")
    if compare and (spec.start or spec.end):
        raise ConfigError("--compare cannot be combined with --start/--end (start=, end=): the "
                          "compared periods say which entries count.",
                          hint="Drop --start/--end and put the days in the periods: "
                               "--compare period:2026-01-01..2026-01-31,2026-02-01..2026-02-28.")


@dataclass(frozen=True)
class CompareSpec:
    """A comparison: the base funnel and how it is split (periods or the groups of a column)."""

    funnel: FunnelSpec
    kind: str  # "period" | "before" | "by"
    text: str | None = None
    ranges: tuple[EntryRange, ...] = ()
    column: str | None = None

    @property
    def step_names(self) -> list[str]:
        return self.funnel.step_names

    def to_dict(self) -> dict[str, Any]:
        out = self.funnel.to_dict()
        out["compare"] = {"kind": self.kind, "text": self.text, "column": self.column,
                          "periods": [dict(label=r.label, **r.to_dict()) for r in self.ranges]}
        return out


# ----- running ------------------------------------------------------------------------------
def _utc(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def period_spec(base: FunnelSpec, rng: EntryRange, tz: str) -> FunnelSpec:
    """``base`` restricted to the entries of ``rng``: the first step's event must lie in
    [from, to); the analysed events run from ``from`` to ``to + window`` (every event of a
    chain that starts in the range). Any-order funnels keep the events in [from, to)."""
    lo, hi = rng.bounds_us(tz)
    if base.mode == "any":
        return replace(base, start=None if lo is None else _utc(lo).isoformat(),
                       end=None if hi is None else _utc(hi).isoformat())
    conds = []
    if lo is not None:
        conds.append(("ts", ">=", _utc(lo)))
    if hi is not None:
        conds.append(("ts", "<", _utc(hi)))
    first = base.steps[0]
    steps = (replace(first, where=first.where + tuple(conds)), *base.steps[1:])
    return replace(base, steps=steps,
                   start=None if lo is None else _utc(lo).isoformat(),
                   end=None if hi is None else _utc(hi + base.window_us).isoformat())


def _funnel_record(label: str, restriction: dict, names: list[str], reached: list[int]) -> dict:
    from funnelscope.analyses.stats import wilson_interval

    first = reached[0]
    steps = []
    for j, (name, n) in enumerate(zip(names, reached, strict=True)):
        prev = reached[j - 1] if j else first
        lo, hi = wilson_interval(n, first)
        steps.append({"step": name, "step_index": j + 1, "entities": int(n),
                      "from_start": n / first if first else None,
                      "from_start_ci_low": lo, "from_start_ci_high": hi,
                      "from_previous": n / prev if prev else None})
    return {"label": label, "spec": restriction, "steps": steps}


def _comparison(funnel: dict, ref: dict) -> dict:
    """Step by step: conversion from start of ``funnel`` against the reference ``ref``."""
    from funnelscope.analyses.experiment.stats import absolute_lift, z_test_pooled

    n_r, n_t = ref["steps"][0]["entities"], funnel["steps"][0]["entities"]
    rows = []
    for r, s in zip(ref["steps"], funnel["steps"], strict=True):
        x_r, x_t = r["entities"], s["entities"]
        diff = absolute_lift(x_r, n_r, x_t, n_t, alpha=ALPHA)
        _z, p = z_test_pooled(x_r, n_r, x_t, n_t)
        rate_r, rate_t = x_r / n_r, x_t / n_t
        rows.append({"step": s["step"], "step_index": s["step_index"],
                     "difference": diff.estimate, "ci_low": diff.ci_low, "ci_high": diff.ci_high,
                     "p_value": p, "relative": rate_t / rate_r - 1 if rate_r else None,
                     "significant": p is not None and p < ALPHA})
    return {"label": funnel["label"], "reference": ref["label"], "steps": rows}


def _group_order(label: str) -> tuple[int, str]:
    return ({NO_VALUE: 1, OTHER: 2}.get(label, 0), label)


def compare_funnels(ws: Workspace, base: FunnelSpec, compare: str | None = None,
                    compare_by: str | None = None) -> FunnelComparison:
    """Run ``base`` once per period of ``compare`` (or once, broken down by ``compare_by``) and
    compare each funnel with the first. See the module docstring for the exact semantics."""
    from funnelscope.analyses.funnel.run import run

    started = time.perf_counter()
    check_request(base, compare, compare_by)
    names = base.step_names
    k = len(names)
    funnels: list[dict] = []
    results: list[FunnelResult] = []
    if compare:
        kind, ranges = parse_compare(compare)
        spec = CompareSpec(base, kind, str(compare).strip(), ranges)
        tz = ws.config.timezone
        for rng in ranges:
            result = run(ws, period_spec(base, rng, tz))
            reached = [r["entities"] for r in result.records("steps")]
            if not reached or reached[0] == 0:
                first = names[0]
                raise ConfigError(
                    f"compare: the period {rng.label} has no entrants: no {first!r} event "
                    f"{'starts the funnel' if base.mode != 'any' else 'of the funnel is'} in it "
                    f"(reporting time zone {tz}).",
                    hint="Choose periods inside the data (funnelscope events shows each event's "
                         "first_seen and last_seen).")
            results.append(result)
            funnels.append(_funnel_record(rng.label, rng.to_dict(), names, reached))
    else:
        column = str(compare_by).strip()
        spec = CompareSpec(base, "by", None, (), column)
        result = run(ws, replace(base, by=column))
        results.append(result)
        groups = sorted(result.records("groups"), key=lambda g: _group_order(str(g["group"])))
        if not groups:
            raise ConfigError(f"compare_by {column!r}: the funnel has no entrants, so there is "
                              "nothing to compare.",
                              hint="Check the first step's event name and the data's time range.")
        if len(groups) < 2:
            raise ConfigError(
                f"compare_by {column!r}: every entrant has the same value "
                f"({groups[0]['group']!r}); a comparison needs at least two.",
                hint="Choose a column whose values differ between entrants (e.g. channel, "
                     "platform, a variant column).")
        for g in groups:
            reached = [int(g[f"step_{j}"]) for j in range(1, k + 1)]
            funnels.append(_funnel_record(str(g["group"]), {"column": column, "value": g["group"]},
                                          names, reached))
    comparisons = [_comparison(f, funnels[0]) for f in funnels[1:]]
    meta = {
        "engine": ws.engine, "reference": funnels[0]["label"], "alpha": ALPHA,
        "methods": METHODS,
        "still_converting": sum(int(r.meta.get("still_converting", 0)) for r in results),
        "seconds": round(time.perf_counter() - started, 4),
    }
    return FunnelComparison(spec=spec, tables=RecordTables(_tables(funnels, comparisons)),
                            meta=meta, funnels=funnels, comparisons=comparisons,
                            results=tuple(results), source=weakref.ref(ws))


def _tables(funnels: list[dict], comparisons: list[dict]) -> dict[str, list[dict]]:
    """The flat tables: ``compare`` (long: one row per funnel and step, the comparison's
    numbers on the rows of funnels after the reference), ``funnels``, ``comparisons``."""
    by_label = {c["label"]: {s["step_index"]: s for s in c["steps"]} for c in comparisons}
    long, flat_f, flat_c = [], [], []
    for f in funnels:
        versus = by_label.get(f["label"], {})
        for s in f["steps"]:
            c = versus.get(s["step_index"], {})
            flat_f.append({"label": f["label"], **s})
            long.append({"label": f["label"], "reference": funnels[0]["label"] if c else None,
                         "step": s["step"], "step_index": s["step_index"],
                         "entities": s["entities"], "from_start": s["from_start"],
                         "from_previous": s["from_previous"],
                         **{key: c.get(key) for key in ("difference", "ci_low", "ci_high",
                                                        "p_value", "relative", "significant")}})
    for c in comparisons:
        for s in c["steps"]:
            flat_c.append({"label": c["label"], "reference": c["reference"], **s})
    return {"compare": long, "funnels": flat_f, "comparisons": flat_c}


# ----- the result ---------------------------------------------------------------------------
@dataclass(repr=False)
class FunnelComparison(Result):
    """Result of ``ws.funnel(..., compare=...)`` or ``ws.funnel(..., compare_by=...)``.

    ``funnels``: one record per compared funnel (``label``, ``spec``: its entry range or
    group, ``steps``: step, step_index, entities, from_start with its 95% Wilson interval
    ``from_start_ci_low``/``from_start_ci_high``, from_previous). ``comparisons``: one record
    per funnel after the first (``label``, ``reference``, ``steps``: difference, ci_low,
    ci_high, p_value, relative, significant). Tables (pandas on first access, ``records(name)``
    without pandas): ``compare`` (long), ``funnels``, ``comparisons``. ``results``: the
    underlying :class:`FunnelResult` runs (one per period; one broken-down run for compare_by).
    Rates are fractions; differences are in rate units (0.05 = 5 percentage points).
    """

    funnels: list[dict] = field(default_factory=list)
    comparisons: list[dict] = field(default_factory=list)
    results: tuple = ()
    source: Any = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["source"] = None
        return state

    @property
    def labels(self) -> list[str]:
        return [f["label"] for f in self.funnels]

    def records(self, name: str = "compare") -> list[dict]:
        """Table ``name`` (``compare``, ``funnels``, ``comparisons``) as plain records."""
        return self.tables.records(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``funnelscope funnel --compare ... --format json`` (docs/funnels.md)."""
        strip = ("step_index",)
        return {
            "funnels": jsonable([{**f, "steps": [{k: v for k, v in s.items() if k not in strip}
                                                 for s in f["steps"]]} for f in self.funnels]),
            "comparisons": jsonable([{**c, "steps": [{k: v for k, v in s.items()
                                                      if k not in strip} for s in c["steps"]]}
                                     for c in self.comparisons]),
            "spec": jsonable(self.spec.to_dict()),
            "meta": jsonable(self.meta),
        }
