"""Reference paths, transitions and sessions: a deliberately plain per-user walk in Python.

Written from docs/journeys.md, not from the SQL: each user's events are sorted by the
documented total order (ts, then event_id with missing ids last, then event name) and walked
with ordinary loops. Times are integer microseconds.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from itertools import groupby

END, START, OTHER = "(end)", "(start)", "(other)"


@dataclass(frozen=True)
class Ev:
    user: str
    event: str
    ts: int  # µs
    event_id: str | None = None


def ordered(events: list[Ev]) -> dict[str, list[Ev]]:
    """Each user's events in the total order (ts, event_id NULLS LAST, event)."""
    by_user: dict[str, list[Ev]] = {}
    for e in events:
        by_user.setdefault(e.user, []).append(e)
    return {u: sorted(evs, key=lambda e: (e.ts, e.event_id is None, e.event_id or "", e.event))
            for u, evs in by_user.items()}


def collapse(names: list[str], keep_repeats: bool) -> list[str]:
    return list(names) if keep_repeats else [name for name, _ in groupby(names)]


def user_paths(events: list[Ev], *, after=None, before=None, to=None, occurrence="first",
               depth=3, within_us=None, keep_repeats=False,
               users: set[str] | None = None) -> dict[str, tuple[tuple, tuple]]:
    """user -> (path, chain) for every anchored user (``users``: only these)."""
    out = {}
    anchor = after or before or to
    for user, evs in ordered(events).items():
        if users is not None and user not in users:
            continue
        if anchor is None:  # the journey start
            seq = [e for e in evs if within_us is None or e.ts - evs[0].ts <= within_us]
            names = collapse([e.event for e in seq], keep_repeats)
            path = names[:depth]
            if len(path) < depth:
                path.append(END)
            out[user] = (tuple(path), (START, *path))
            continue
        hits = [i for i, e in enumerate(evs) if e.event == anchor]
        if not hits:
            continue
        a = hits[-1] if occurrence == "last" else hits[0]
        at = evs[a].ts
        if after is not None:
            seq = [e for e in evs[a:] if within_us is None or e.ts - at <= within_us]
            names = collapse([e.event for e in seq], keep_repeats)  # names[0] is the anchor
            path = names[1:1 + depth]
            if len(path) < depth:
                path.append(END)
            out[user] = (tuple(path), (anchor, *path))
        else:
            seq = [e for e in evs[:a + 1] if within_us is None or at - e.ts <= within_us]
            names = collapse([e.event for e in seq], keep_repeats)  # names[-1] is the anchor
            earlier = names[:-1]
            path = earlier[len(earlier) - depth:] if len(earlier) > depth else earlier
            if len(path) < depth:
                path = [START, *path]
            if to is not None:
                path = [*path, to]
                out[user] = (tuple(path), tuple(path))
            else:
                out[user] = (tuple(path), (*path, anchor))
    return out


def top_paths(per_user: dict, top: int) -> list[dict]:
    """The paths table: the ``top`` most common paths (ties by the path's list order), then
    one "(other)" row for the rest."""
    counts = Counter(path for path, _ in per_user.values())
    n = len(per_user)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], list(kv[0])))
    rows = [{"path": list(p), "users": c, "share": c / n} for p, c in ranked[:top]]
    rest = ranked[top:]
    if rest:
        s = sum(c for _, c in rest)
        rows.append({"path": [OTHER], "users": s, "share": s / n})
    return rows


def path_transitions(per_user: dict, backwards: bool) -> dict[tuple, int]:
    """(depth, from, to) -> users: depth 1 is the pair next to the anchor."""
    out: Counter = Counter()
    for _, chain in per_user.values():
        length = len(chain)
        for d in range(1, length):
            pair = (chain[length - 1 - d], chain[length - d]) if backwards else (chain[d - 1], chain[d])
            out[(d, *pair)] += 1
    return dict(out)


def matrix(events: list[Ev], users: set[str], keep_repeats: bool) -> dict[tuple, tuple[int, int]]:
    """(from, to) -> (transitions, distinct users) over the users' whole logs."""
    pairs: Counter = Counter()
    who: dict[tuple, set] = {}
    for user, evs in ordered(events).items():
        if user not in users:
            continue
        names = collapse([e.event for e in evs], keep_repeats)
        for a, b in zip(names, names[1:], strict=False):
            pairs[a, b] += 1
            who.setdefault((a, b), set()).add(user)
    return {k: (n, len(who[k])) for k, n in pairs.items()}


def sessions(events: list[Ev], users: set[str], gap_us: int) -> list[list[Ev]]:
    """Every session of the users: a new one when the gap to the previous event is > gap_us."""
    out = []
    for user, evs in ordered(events).items():
        if user not in users:
            continue
        current: list[Ev] = []
        for e in evs:
            if current and e.ts - current[-1].ts > gap_us:
                out.append(current)
                current = []
            current.append(e)
        if current:
            out.append(current)
    return out


def session_summary(all_sessions: list[list[Ev]]) -> dict:
    if not all_sessions:
        return {"sessions": 0, "users": 0, "bounces": 0, "bounce_rate": None,
                "median_session_seconds": None}
    lengths = [(s[-1].ts - s[0].ts) / 1e6 for s in all_sessions]
    sizes = [len(s) for s in all_sessions]
    pages = [len({e.event for e in s}) for s in all_sessions]
    users = {s[0].user for s in all_sessions}
    bounces = sum(1 for n in sizes if n == 1)
    return {"sessions": len(all_sessions), "users": len(users),
            "sessions_per_user": len(all_sessions) / len(users),
            "median_session_seconds": statistics.median(lengths),
            "mean_session_seconds": statistics.fmean(lengths),
            "median_events_per_session": statistics.median(sizes),
            "mean_events_per_session": statistics.fmean(sizes),
            "mean_pages_per_session": statistics.fmean(pages),
            "bounces": bounces, "bounce_rate": bounces / len(all_sessions)}


def time_on_step(all_sessions: list[list[Ev]]) -> dict[str, dict]:
    """event -> events, timed, exits, median / mean seconds to the next event in the session."""
    seconds: dict[str, list[float]] = {}
    counts: Counter = Counter()
    for s in all_sessions:
        for i, e in enumerate(s):
            counts[e.event] += 1
            if i + 1 < len(s):
                seconds.setdefault(e.event, []).append((s[i + 1].ts - e.ts) / 1e6)
    out = {}
    for name, n in counts.items():
        xs = seconds.get(name, [])
        out[name] = {"events": n, "timed": len(xs), "exits": n - len(xs),
                     "median_seconds": statistics.median(xs) if xs else None,
                     "mean_seconds": statistics.fmean(xs) if xs else None}
    return out
