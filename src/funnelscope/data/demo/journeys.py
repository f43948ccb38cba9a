"""Event rows of the demo logs: sessions, repeated and background events, log assembly.

Rows are gathered block by block (all views, then all carts, ...) as numpy arrays of user
index, event code, UTC µs and optional per-event values; ``EventLog.finish`` keeps the rows
inside the window and puts them in random order (real logs are unsorted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funnelscope.data.demo.sampling import Delay, grouped_cumsum, repeat_index
from funnelscope.data.demo.window import Window

IN_SESSION = Delay(median_seconds=90.0, sigma=1.2, min_seconds=1.0, max_seconds=2400.0)


@dataclass(frozen=True)
class Sessions:
    """Visits of each user: ``owner``/``start`` per session, ``first``/``count`` per user."""

    owner: np.ndarray
    start: np.ndarray
    first: np.ndarray
    count: np.ndarray


def draw_sessions(
    rng: np.random.Generator, first_start: np.ndarray, extra_mean, gap: Delay
) -> Sessions:
    """Session 0 starts at ``first_start``; 0.. Poisson(``extra_mean``) more follow after ``gap`` each."""
    count = 1 + rng.poisson(extra_mean, len(first_start))
    owner, rank = repeat_index(count)
    gaps = gap.draw(rng, len(owner))
    gaps[rank == 0] = 0
    start = first_start[owner] + grouped_cumsum(gaps, count)
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    return Sessions(owner=owner, start=start, first=first, count=count)


def place_in_sessions(
    rng: np.random.Generator,
    sessions: Sessions,
    user: np.ndarray,
    not_before: np.ndarray | None = None,
) -> np.ndarray:
    """A time for each row's ``user``: a random session of theirs plus a within-session offset.

    With ``not_before`` (µs per row) the row lands strictly after it (used for repeats of a step,
    which must follow the user's first occurrence of that step).
    """
    pick = sessions.first[user] + (rng.random(len(user)) * sessions.count[user]).astype(np.int64)
    base = sessions.start[pick]
    if not_before is not None:
        base = np.maximum(base, not_before)
    return base + IN_SESSION.draw(rng, len(user))


def repeats_after(
    rng: np.random.Generator, who: np.ndarray, first_ts: np.ndarray, mean_extra: float, gap: Delay
) -> tuple[np.ndarray, np.ndarray]:
    """Further occurrences for users ``who`` after ``first_ts``: Geometric count, ``gap`` apart.

    The number of extra occurrences is Geometric with mean ``mean_extra`` (P(k) = (1-q) q^k,
    q = mean / (1 + mean)). Returns (user, ts) of the extra rows.
    """
    q = mean_extra / (1.0 + mean_extra)
    extra = rng.geometric(1.0 - q, len(who)) - 1
    owner, _ = repeat_index(extra)
    gaps = gap.draw(rng, len(owner))
    return who[owner], first_ts[owner] + grouped_cumsum(gaps, extra)


@dataclass
class EventRows:
    """Columns of an event log: ``user`` index, ``event`` code, ``ts`` µs, ``extra`` values."""

    user: np.ndarray
    event: np.ndarray
    ts: np.ndarray
    extra: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, index: np.ndarray) -> EventRows:
        return EventRows(
            self.user[index], self.event[index], self.ts[index],
            {k: v[index] for k, v in self.extra.items()},
        )


@dataclass
class FinishedLog:
    """The log as emitted: rows in random order, their id numbers, and the order rows.

    ``number[i]`` is row i's position in generation order (its event id number). ``orders``
    holds the rows whose event is an order event, in generation order, with
    ``extra["order"]`` = 0, 1, 2, ...; ``rows.extra["order"]`` carries the same number on the
    shuffled rows (-1 on other events).
    """

    rows: EventRows
    number: np.ndarray
    orders: EventRows


class EventLog:
    """Collects event blocks; extra columns are float (NaN = none) or integer (-1 = none)."""

    def __init__(self, names: tuple[str, ...], floats: tuple[str, ...] = (), ints: tuple[str, ...] = ()):
        self.names = names
        self.floats = floats
        self.ints = ints
        self._blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, dict]] = []

    def add(self, event, user: np.ndarray, ts: np.ndarray, **extra: np.ndarray) -> None:
        """Add rows; ``event`` is one name (all rows) or an array of codes into ``names``."""
        if isinstance(event, str):
            code = np.full(len(user), self.names.index(event), dtype=np.int16)
        else:
            code = np.asarray(event, dtype=np.int16)
        unknown = set(extra) - set(self.floats) - set(self.ints)
        if unknown:  # pragma: no cover - programming error in a generator
            raise KeyError(f"undeclared extra columns {sorted(unknown)}")
        self._blocks.append((np.asarray(user, dtype=np.int32), code, np.asarray(ts, np.int64), extra))

    def _column(self, name: str) -> np.ndarray:
        is_float = name in self.floats
        fill, dtype = (np.nan, np.float64) if is_float else (-1, np.int32)
        return np.concatenate([
            b[3][name].astype(dtype) if name in b[3] else np.full(len(b[0]), fill, dtype)
            for b in self._blocks
        ])

    def finish(self, window: Window, rng: np.random.Generator, order_events: tuple[str, ...] = ()):
        """Keep rows with ``start <= ts < end``, number the order events, shuffle: a FinishedLog."""
        ts = np.concatenate([b[2] for b in self._blocks])
        keep = np.flatnonzero((ts >= window.start_us) & (ts < window.end_us))
        user = np.concatenate([b[0] for b in self._blocks])
        event = np.concatenate([b[1] for b in self._blocks])
        extra = {name: self._column(name) for name in self.floats + self.ints}
        self._blocks = []
        kept_event = event[keep]
        is_order = np.isin(kept_event, [self.names.index(e) for e in order_events])
        order_number = number_rows(is_order)
        at = keep[is_order]
        orders = EventRows(user[at], event[at], ts[at], {k: v[at] for k, v in extra.items()})
        orders.extra["order"] = order_number[is_order]
        perm = rng.permutation(len(keep))
        final = keep[perm]
        rows = EventRows(user[final], kept_event[perm], ts[final], {k: v[final] for k, v in extra.items()})
        rows.extra["order"] = order_number[perm]
        return FinishedLog(rows=rows, number=perm, orders=orders)


def first_seen(n_users: int, rows: EventRows) -> np.ndarray:
    """Each user's earliest event time (int64 µs; int64 max for a user without events)."""
    out = np.full(n_users, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, rows.user, rows.ts)
    return out


def number_rows(mask: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... at the rows where ``mask`` holds, -1 elsewhere (int32)."""
    out = np.full(len(mask), -1, dtype=np.int32)
    out[mask] = np.arange(int(mask.sum()), dtype=np.int32)
    return out
