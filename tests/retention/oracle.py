"""Plain-Python references for retention, activity, lifecycle, churn and the growth metrics.

Deliberately simple and independent of the engine code: every event's local date comes from
``zoneinfo``; periods are represented by their first local date (a Monday for weeks, the 1st
for months) and stepped with ``datetime.date`` arithmetic; everything is counted in loops over
Python sets. The definitions are the ones written in docs/metrics.md.

Events are tuples ``(user, event, ts)`` with ``ts`` an aware UTC ``datetime``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


# ----- calendar --------------------------------------------------------------------------
def local_date(ts: datetime, tz: str) -> date:
    return ts.astimezone(ZoneInfo(tz)).date()


def period_start(d: date, period: str) -> date:
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())  # Monday
    return date(d.year, d.month, 1)


def add_periods(p: date, k: int, period: str) -> date:
    if period == "day":
        return p + timedelta(days=k)
    if period == "week":
        return p + timedelta(weeks=k)
    m = p.month - 1 + k
    return date(p.year + m // 12, m % 12 + 1, 1)


def period_end(p: date, period: str) -> date:
    return add_periods(p, 1, period) - timedelta(days=1)


def periods_between(a: date, b: date, period: str) -> int:
    """Number of periods from period start ``a`` to period start ``b``."""
    if period == "day":
        return (b - a).days
    if period == "week":
        return (b - a).days // 7
    return (b.year - a.year) * 12 + (b.month - a.month)


def data_days(events, tz: str) -> tuple[date, date]:
    days = [local_date(ts, tz) for _, _, ts in events]
    return min(days), max(days)


def complete(p: date, period: str, first: date, last: date) -> bool:
    return p >= first and period_end(p, period) <= last


# ----- retention -------------------------------------------------------------------------
def retention(events, tz, *, start=None, returning=None, period="day", periods=7, kind="on",
              first_time=True, start_times=None, brackets=()):
    """{cohort_iso: {"size": n, "retained": [n_k or None], "brackets": [n or None]}}.

    ``start``/``returning``: None (any event) or a set of event names. ``start_times``: user ->
    sign-up instant (replaces start events, like customers.first_seen).
    """
    first, last = data_days(events, tz)
    by_user = defaultdict(list)
    for u, e, ts in events:
        by_user[u].append((ts, e))
    entries = []  # (user, entry_ts, cohort period start)
    if start_times is not None:
        for u, ts in start_times.items():
            entries.append((u, ts, period_start(local_date(ts, tz), period)))
    else:
        for u, evs in by_user.items():
            starts = sorted(ts for ts, e in evs if start is None or e in start)
            if not starts:
                continue
            if first_time:
                entries.append((u, starts[0], period_start(local_date(starts[0], tz), period)))
            else:
                seen = {}
                for ts in starts:
                    p = period_start(local_date(ts, tz), period)
                    seen.setdefault(p, ts)
                entries.extend((u, ts, p) for p, ts in seen.items())
    out = {}
    for u, entry_ts, c in entries:
        rec = out.setdefault(c, {"size": 0, "active": [0] * (periods + 1), "users": []})
        rec["size"] += 1
        ks = set()
        for ts, e in by_user.get(u, []):
            if returning is not None and e not in returning:
                continue
            if ts < entry_ts:
                continue
            k = periods_between(c, period_start(local_date(ts, tz), period), period)
            if k >= 0:
                ks.add(k)
        rec["users"].append(ks)
    result = {}
    for c, rec in out.items():
        retained = []
        for k in range(periods + 1):
            if not complete(add_periods(c, k, period), period, first, last):
                retained.append(None)
            elif kind == "on":
                retained.append(sum(1 for ks in rec["users"] if k in ks))
            else:
                retained.append(sum(1 for ks in rec["users"] if any(j >= k for j in ks)))
        br = []
        for lo, hi in brackets:
            if not all(complete(add_periods(c, k, period), period, first, last)
                       for k in range(lo, hi + 1)):
                br.append(None)
            elif kind == "on":
                br.append(sum(1 for ks in rec["users"] if any(lo <= j <= hi for j in ks)))
            else:
                br.append(sum(1 for ks in rec["users"] if any(j >= lo for j in ks)))
        result[c.isoformat()] = {"size": rec["size"], "retained": retained, "brackets": br}
    return result


def average_curve(ref: dict, periods: int) -> list[float | None]:
    """Size-weighted average over complete cells, per period."""
    out = []
    for k in range(periods + 1):
        num = sum(r["retained"][k] for r in ref.values() if r["retained"][k] is not None)
        den = sum(r["size"] for r in ref.values() if r["retained"][k] is not None)
        out.append(num / den if den else None)
    return out
