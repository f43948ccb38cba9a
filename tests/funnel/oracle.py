"""Reference funnel analysis: brute force from the definitions in docs/funnels.md.

This is the oracle every funnel engine (portable Ibis expression, fast kernel) is tested
against. It is deliberately slow and plain: per entity it enumerates every valid chain of
events and reads the answers off that set. It never uses the greedy "latest start" scan, so
it is an independent derivation of the same numbers.

Units: timestamps, ``window_us`` and ``within_us`` are integer microseconds (any integer unit
works as long as all three share it). Windows are inclusive.

Input size caps (the enumeration is exponential in the worst case): at most 40 events per
entity and at most 6 steps. Test data stays far below that; beyond it, results are still
correct but may take very long.

Decisions where the semantics note was silent (each is documented in docs/funnels.md):

* Strict mode: "other events" are all events given to the oracle for the entity (step events
  that fail a step's ``where`` filter included). Any analysis-wide filtering happens before.
* Exclusion events are matched by name and filter only; an event that also matches a step
  (possible when names coincide and a filter tells them apart) still counts as an exclusion
  event, even when it is a chain event itself.
* Reported chain with several candidates: the one that completes its deepest level first,
  then the latest first event, then the latest second event, and so on (what the greedy scan
  holds); with ``within`` or exclusions the same lexicographic rule is applied to valid chains.
* ``mode="any"`` rejects ``within``, exclusions, ``first_time``, ``count="totals"`` and
  ``funnel_entries`` (no chain, entry or reported chain is defined in that mode).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

MODES = ("ordered", "strict", "any")
COUNTS = ("uniques", "totals")


@dataclass(frozen=True)
class OStep:
    """One funnel step: an event name, an optional property predicate, an optional max gap.

    ``within_us`` bounds ts(this step's event) - ts(previous step's event), inclusive; only
    allowed from step 2 on.
    """

    event: str
    where: Callable[[dict], bool] | None = None
    within_us: int | None = None

    def matches(self, ev: OEvent) -> bool:
        """True when ``ev`` has this step's name and passes its filter."""
        return ev.event == self.event and (self.where is None or bool(self.where(ev.props)))


@dataclass(frozen=True)
class OExclusion:
    """An event that must not occur between the events of steps ``from_step`` and ``to_step``.

    Steps are 1-based, ``1 <= from_step < to_step <= k``; the span is inclusive in time.
    """

    event: str
    from_step: int
    to_step: int
    where: Callable[[dict], bool] | None = None

    def matches(self, ev: OEvent) -> bool:
        """True when ``ev`` has this exclusion's name and passes its filter."""
        return ev.event == self.event and (self.where is None or bool(self.where(ev.props)))


@dataclass
class OEvent:
    """One event of one entity; ``ts`` in integer microseconds, ``event_id`` unique."""

    entity: str
    event: str
    ts: int
    props: dict = field(default_factory=dict)
    event_id: str = ""


@dataclass(frozen=True)
class OEntry:
    """One counted unit: an entity (uniques) or one step-1 event of an entity (totals).

    ``step_ts[j-1]`` is ts of the reported chain's step-j event, ``None`` beyond ``level``.
    ``entry_event_id`` is the event_id of the reported chain's step-1 event and
    ``chain_event_ids`` the event_ids of the whole reported chain.
    """

    entity: str
    level: int
    step_ts: list[int | None]
    entry_event_id: str
    chain_event_ids: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- validation


def _validate(steps, window_us, mode, exclude, first_time, count="uniques") -> None:
    k = len(steps)
    if not 1 <= k <= 32:
        raise ValueError(f"a funnel needs 1..32 steps, got {k}")
    if window_us < 0:
        raise ValueError(f"window_us must be >= 0, got {window_us}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if count not in COUNTS:
        raise ValueError(f"count must be one of {COUNTS}, got {count!r}")
    if steps[0].within_us is not None:
        raise ValueError("step 1 cannot have within_us (it has no previous step)")
    for j, s in enumerate(steps, start=1):
        if s.within_us is not None and s.within_us < 0:
            raise ValueError(f"step {j}: within_us must be >= 0, got {s.within_us}")
    for x in exclude:
        if not 1 <= x.from_step < x.to_step <= k:
            raise ValueError(f"exclusion {x.event!r}: need 1 <= from_step < to_step <= {k}")
        for j, s in enumerate(steps, start=1):
            if x.event == s.event and x.where is None and s.where is None:
                raise ValueError(f"exclusion {x.event!r} is also step {j} (neither has a filter)")
    if mode == "any":
        if any(s.within_us is not None for s in steps):
            raise ValueError("within_us is not defined in mode='any'")
        if exclude:
            raise ValueError("exclusions are not defined in mode='any'")
        if first_time:
            raise ValueError("first_time is not defined in mode='any'")
        if count == "totals":
            raise ValueError("count='totals' is not defined in mode='any'")


def _by_entity(events: Iterable[OEvent]) -> dict[str, list[OEvent]]:
    out: dict[str, list[OEvent]] = {}
    for ev in events:
        out.setdefault(ev.entity, []).append(ev)
    for entity, evs in out.items():
        ids = Counter(ev.event_id for ev in evs)
        dup = [i for i, n in ids.items() if n > 1]
        if dup:
            raise ValueError(f"entity {entity!r}: duplicate event_id {dup[0]!r}")
    return out


# ----------------------------------------------------------------------------- total order


def _sorted_events(evs: list[OEvent], steps: Sequence[OStep]) -> list[OEvent]:
    """The entity's events in the total order (ts, rank, mask, event_id).

    mask = bitset of matched steps (bit j-1 for step j); rank = lowest matched step (1-based),
    k+1 when none.
    """
    k = len(steps)

    def key(ev: OEvent):
        mask = sum(1 << (j - 1) for j, s in enumerate(steps, start=1) if s.matches(ev))
        rank = next((j for j, s in enumerate(steps, start=1) if s.matches(ev)), k + 1)
        return (ev.ts, rank, mask, ev.event_id)

    return sorted(evs, key=key)


# ----------------------------------------------------------------------------- chains


class _Entity:
    """One entity's events in total order, and the rules a chain must satisfy."""

    def __init__(self, evs, steps, window_us, mode, exclude, first_time):
        self.evs = _sorted_events(evs, steps)
        self.steps = list(steps)
        self.window = window_us
        self.strict = mode == "strict"
        self.exclude = list(exclude)
        s1 = [i for i, ev in enumerate(self.evs) if steps[0].matches(ev)]
        self.step1_positions = s1[:1] if first_time else s1
        self.has_step1 = bool(s1)

    def chain_ok(self, chain: tuple[int, ...]) -> bool:
        """Whether positions ``chain`` (into self.evs) form a valid chain, straight from the rules."""
        evs, steps = self.evs, self.steps
        if not chain or len(chain) > len(steps):
            return False
        if chain[0] not in self.step1_positions:  # first_time: only the first S1 event starts
            return False
        if any(b <= a for a, b in zip(chain, chain[1:], strict=False)):  # strictly increasing
            return False
        ts = [evs[p].ts for p in chain]
        if not all(steps[i].matches(evs[p]) for i, p in enumerate(chain)):
            return False
        if ts[-1] - ts[0] > self.window:
            return False
        for i in range(1, len(chain)):
            w = steps[i].within_us
            if w is not None and ts[i] - ts[i - 1] > w:
                return False
        for x in self.exclude:
            if x.to_step <= len(chain):
                lo, hi = ts[x.from_step - 1], ts[x.to_step - 1]
                if any(x.matches(ev) and lo <= ev.ts <= hi for ev in evs):
                    return False
        if self.strict:
            for i in range(1, len(chain)):
                lo, hi = ts[i - 1], ts[i]
                if any(lo < ev.ts < hi for ev in evs):
                    return False
        return True

    def all_chains(self) -> list[tuple[int, ...]]:
        """Every valid chain (as position tuples), by depth-first extension.

        Extending only valid prefixes finds every valid chain because every rule checked by
        ``chain_ok`` on a chain is also checked on its extensions (a prefix of a valid chain
        is valid).
        """
        found: list[tuple[int, ...]] = []
        stack = [(p,) for p in self.step1_positions if self.chain_ok((p,))]
        while stack:
            chain = stack.pop()
            found.append(chain)
            if len(chain) == len(self.steps):
                continue
            for p in range(chain[-1] + 1, len(self.evs)):
                longer = chain + (p,)
                if self.chain_ok(longer):
                    stack.append(longer)
        return found

    def entry(self, entity: str, chains: list[tuple[int, ...]]) -> OEntry:
        """The reported chain among ``chains``: deepest, completed first, then latest events."""
        level = max(len(c) for c in chains)
        deepest = [c for c in chains if len(c) == level]
        # first to reach the deepest level (smallest last position), then latest e1, e2, ...
        best = max(deepest, key=lambda c: (-c[-1],) + c[:-1])
        step_ts: list[int | None] = [self.evs[p].ts for p in best]
        step_ts += [None] * (len(self.steps) - level)
        return OEntry(
            entity=entity,
            level=level,
            step_ts=step_ts,
            entry_event_id=self.evs[best[0]].event_id,
            chain_event_ids=tuple(self.evs[p].event_id for p in best),
        )


# ----------------------------------------------------------------------------- any mode


def _any_level(evs: list[OEvent], steps: Sequence[OStep], window_us: int) -> int:
    """Max over window starts t of the number of steps given distinct events in [t, t+W]."""
    step_events = [ev for ev in evs if any(s.matches(ev) for s in steps)]
    best = 0
    for t in sorted({ev.ts for ev in step_events}):
        inside = [ev for ev in step_events if t <= ev.ts <= t + window_us]
        # events matching the same set of steps are interchangeable: count them per mask
        masks = Counter(frozenset(j for j, s in enumerate(steps) if s.matches(ev)) for ev in inside)
        best = max(best, _max_assignment(0, len(steps), masks))
    return best


def _max_assignment(j: int, k: int, left: Counter) -> int:
    """Most of steps j..k-1 that can each take one unused event (events grouped by mask)."""
    if j == k:
        return 0
    best = _max_assignment(j + 1, k, left)  # step j gets no event
    for mask, n in left.items():
        if n > 0 and j in mask:
            left[mask] -= 1
            best = max(best, 1 + _max_assignment(j + 1, k, left))
            left[mask] += 1
    return best


# ----------------------------------------------------------------------------- public


def funnel_levels(
    events: list[OEvent],
    steps: list[OStep],
    window_us: int,
    mode: str = "ordered",
    exclude: Sequence[OExclusion] = (),
    first_time: bool = False,
) -> dict[str, int]:
    """Each entity's funnel level (0..k): the deepest step it reached.

    Ordered/strict: the largest j such that a valid chain of j events exists (docs/funnels.md);
    entities are those with at least one step-1 event (their level is >= 1).
    Any: the most steps given distinct events inside one window [t, t+W] where t is the ts of
    one of the entity's step events; entities are those with at least one step event.
    """
    _validate(steps, window_us, mode, exclude, first_time)
    out: dict[str, int] = {}
    for entity, evs in _by_entity(events).items():
        if mode == "any":
            level = _any_level(evs, steps, window_us)
            if level:
                out[entity] = level
            continue
        ent = _Entity(evs, steps, window_us, mode, exclude, first_time)
        if ent.has_step1:
            out[entity] = max(len(c) for c in ent.all_chains())
    return out


def funnel_entries(
    events: list[OEvent],
    steps: list[OStep],
    window_us: int,
    mode: str = "ordered",
    count: str = "uniques",
    exclude: Sequence[OExclusion] = (),
    first_time: bool = False,
) -> list[OEntry]:
    """The counted entries with their level and reported chain, sorted by (entity, entry ts).

    uniques: one entry per entity with a step-1 event; the reported chain is the deepest chain
    that completes first (smallest last event in the total order), ties broken by the latest
    first event, then the latest second event, and so on.
    totals: one entry per step-1 event (only the first one with ``first_time``); its level is
    the deepest chain starting at that event, reported by the same rule.
    Ordered and strict modes only.
    """
    _validate(steps, window_us, mode, exclude, first_time, count)
    if mode == "any":
        raise ValueError("funnel_entries: no chain is defined in mode='any'; use funnel_levels")
    out: list[OEntry] = []
    for entity, evs in sorted(_by_entity(events).items()):
        ent = _Entity(evs, steps, window_us, mode, exclude, first_time)
        if not ent.has_step1:
            continue
        chains = ent.all_chains()
        if count == "uniques":
            out.append(ent.entry(entity, chains))
        else:
            for start in ent.step1_positions:
                out.append(ent.entry(entity, [c for c in chains if c[0] == start]))
    return out


def step_counts(
    events: list[OEvent],
    steps: list[OStep],
    window_us: int,
    mode: str = "ordered",
    count: str = "uniques",
    exclude: Sequence[OExclusion] = (),
    first_time: bool = False,
) -> list[int]:
    """Counts reaching at least step j, for j = 1..k: entities (uniques) or entries (totals)."""
    if count == "uniques":
        levels = list(funnel_levels(events, steps, window_us, mode, exclude, first_time).values())
    else:
        entries = funnel_entries(events, steps, window_us, mode, count, exclude, first_time)
        levels = [e.level for e in entries]
    return [sum(1 for lv in levels if lv >= j) for j in range(1, len(steps) + 1)]


def still_converting(entry: OEntry, k: int, window_us: int, end: int) -> bool:
    """Whether an entry is censored: level < k and its reported window is open at ``end``.

    Open means ts(e1) + W > end (strictly). ``end`` defaults, in the product, to the latest
    event ts in the analysed range; pass it explicitly here.
    """
    start = entry.step_ts[0]
    return entry.level < k and start is not None and start + window_us > end
