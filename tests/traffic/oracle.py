"""A deliberately simple per-user reference for the traffic analysis (docs/metrics.md,
"Traffic and channel quality"), written from the definitions, not from the SQL:

* keep the events with a user, a name and a time inside [start, end);
* sort each user's events by (ts, event_id with missing ids last, event, group value with
  missing values last) and start a new session whenever the time since the previous event is
  more than the gap;
* a session's group is its first event's value (or the user's customers value), ``(none)``
  when missing; its period is its first event's UTC day;
* pv = page events, bounce = a session with one event, duration = last − first time, new
  visitor = the session starts with the user's first event of the WHOLE log;
* per group: uv and converting users are distinct users.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

NONE = "(none)"


@dataclass(frozen=True)
class Ev:
    user: str
    event: str
    ts: int  # µs since the epoch
    channel: str | None = None
    event_id: str | None = None


def sessions(events: list[Ev], gap_us: int, start: int | None = None, end: int | None = None,
             user_group: dict[str, str | None] | None = None) -> list[dict]:
    """Every session: user, group, day (UTC, YYYY-MM-DD), events (list of Ev), is_new."""
    first_ever: dict[str, int] = {}
    for e in events:
        first_ever[e.user] = min(first_ever.get(e.user, e.ts), e.ts)
    by_user: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        if (start is None or e.ts >= start) and (end is None or e.ts < end):
            by_user[e.user].append(e)
    out = []
    for user, evs in by_user.items():
        evs.sort(key=lambda e: (e.ts, e.event_id is None, e.event_id or "", e.event,
                                e.channel is None, e.channel or ""))
        current: list[Ev] = []
        for e in evs:
            if current and e.ts - current[-1].ts > gap_us:
                out.append(_session(user, current, first_ever, user_group))
                current = []
            current.append(e)
        out.append(_session(user, current, first_ever, user_group))
    return out


def _session(user: str, evs: list[Ev], first_ever: dict, user_group: dict | None) -> dict:
    group = user_group.get(user) if user_group is not None else evs[0].channel
    day = datetime.fromtimestamp(evs[0].ts / 1e6, UTC).strftime("%Y-%m-%d")
    return {"user": user, "group": NONE if group is None else group, "day": day,
            "events": list(evs), "is_new": evs[0].ts == first_ever[user]}


def counts(sess: list[dict], pages: set[str], conversions: set[str]) -> dict:
    """The counts of a set of sessions."""
    users, converting = set(), set()
    out = {"pv": 0, "sessions": 0, "new_visitors": 0, "bounces": 0, "events": 0,
           "duration_us": 0, "conversions": 0}
    for s in sess:
        evs = s["events"]
        users.add(s["user"])
        out["sessions"] += 1
        out["events"] += len(evs)
        out["pv"] += sum(e.event in pages for e in evs)
        conv = sum(e.event in conversions for e in evs)
        out["conversions"] += conv
        if conv:
            converting.add(s["user"])
        out["bounces"] += len(evs) == 1
        out["new_visitors"] += s["is_new"]
        out["duration_us"] += evs[-1].ts - evs[0].ts
    out["uv"] = len(users)
    out["converting_users"] = len(converting)
    return out


def grouped(sess: list[dict], key, pages: set[str], conversions: set[str]) -> dict:
    """{key(session): counts} for every key value."""
    parts: dict = defaultdict(list)
    for s in sess:
        parts[key(s)].append(s)
    return {k: counts(v, pages, conversions) for k, v in parts.items()}
