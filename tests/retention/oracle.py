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


# ----- activity ----------------------------------------------------------------------------
def active_days(events, tz, names=None) -> dict[str, set[date]]:
    out = defaultdict(set)
    for u, e, ts in events:
        if names is None or e in names:
            out[u].add(local_date(ts, tz))
    return out


def activity(events, tz, names=None):
    """daily {day: (dau, wau_7d, mau_30d)}, weekly {monday: wau}, monthly {first: mau},
    frequency {(monday, days): users}."""
    first, last = data_days(events, tz)
    days = active_days(events, tz, names)
    daily = {}
    d = first
    while d <= last:
        dau = sum(1 for s in days.values() if d in s)
        w = sum(1 for s in days.values() if any(d - timedelta(6) <= x <= d for x in s)) \
            if d - timedelta(6) >= first else None
        m = sum(1 for s in days.values() if any(d - timedelta(29) <= x <= d for x in s)) \
            if d - timedelta(29) >= first else None
        daily[d.isoformat()] = (dau, w, m)
        d += timedelta(1)
    weekly, monthly, freq = defaultdict(set), defaultdict(set), defaultdict(int)
    for u, s in days.items():
        per_week = defaultdict(int)
        for x in s:
            weekly[period_start(x, "week")].add(u)
            monthly[period_start(x, "month")].add(u)
            per_week[period_start(x, "week")] += 1
        for w, n in per_week.items():
            freq[(w.isoformat(), n)] += 1
    return (daily, {k.isoformat(): len(v) for k, v in weekly.items()},
            {k.isoformat(): len(v) for k, v in monthly.items()}, dict(freq))


def lifecycle(events, tz, period, names=None):
    """{period_start_iso: (new, returning, resurrected, dormant)} for every period of the data."""
    first, last = data_days(events, tz)
    days = active_days(events, tz, names)
    active = {u: {period_start(x, period) for x in s} for u, s in days.items()}
    out = {}
    p = period_start(first, period)
    while p <= last:
        prev = add_periods(p, -1, period)
        new = ret = res = dorm = 0
        for s in active.values():
            earlier = [q for q in s if q < p]
            if p in s:
                if not earlier:
                    new += 1
                elif prev in s:
                    ret += 1
                else:
                    res += 1
            elif prev in s:
                dorm += 1
        out[p.isoformat()] = (new, ret, res, dorm)
        p = add_periods(p, 1, period)
    return out


def longest_streaks(events, tz, names=None) -> dict[int, int]:
    """{N: users whose longest run of consecutive active weeks is N}."""
    out = defaultdict(int)
    for s in active_days(events, tz, names).values():
        weeks = sorted({period_start(x, "week") for x in s})
        best = run = 1
        for a, b in zip(weeks, weeks[1:], strict=False):
            run = run + 1 if (b - a).days == 7 else 1
            best = max(best, run)
        out[best] += 1
    return dict(out)


def repurchase(orders, within_days=None):
    """(buyers, repeat buyers, eligible, repeat within) from [(user, aware ts)]."""
    by_user = defaultdict(list)
    for u, ts in orders:
        by_user[u].append(ts)
    end = max(ts for _, ts in orders)
    buyers = len(by_user)
    repeat = sum(1 for v in by_user.values() if len(v) >= 2)
    if within_days is None:
        return buyers, repeat, None, None
    w = timedelta(days=within_days)
    eligible = within = 0
    for v in by_user.values():
        v = sorted(v)
        if v[0] + w <= end:
            eligible += 1
            if len(v) >= 2 and v[1] - v[0] <= w:
                within += 1
    return buyers, repeat, eligible, within


# ----- churn -------------------------------------------------------------------------------
def churn_spells(events, tz, *, inactivity_days=30, cancel=None, names=None):
    """[(user, start date, churn date, observed)] per spell, in order per user."""
    first, last = data_days(events, tz)
    out = []
    per_user = defaultdict(list)
    for u, e, ts in events:
        if cancel and e in cancel:
            per_user[u].append((local_date(ts, tz), 1))
        elif names is None or e in names:
            per_user[u].append((local_date(ts, tz), 0))
    for u, rows in per_user.items():
        rows = sorted(set(rows))
        if cancel:
            start = None
            for d, is_cancel in rows:
                if not is_cancel and start is None:
                    start = d
                elif is_cancel and start is not None:
                    out.append((u, start, d, True))
                    start = None
            if start is not None:
                out.append((u, start, last, False))
        else:
            days = [d for d, _ in rows]
            start = prev = days[0]
            for d in days[1:]:
                if (d - prev).days > inactivity_days:
                    out.append((u, start, prev, True))
                    start = d
                prev = d
            out.append((u, start, prev, prev + timedelta(inactivity_days) <= last))
    return out


def churn_periods(spells, tz_first, tz_last, period, follow_up):
    """{period_iso: (at_start, new, churned, churned_from_start, rate) or None values}."""
    out = {}
    p = period_start(tz_first, period)
    while p <= tz_last:
        end = period_end(p, period)
        at_start = sum(1 for _, s, c, obs in spells
                       if s < p and not (obs and c < p))
        new = sum(1 for _, s, _, _ in spells if p <= s <= end)
        ok = p >= tz_first and end <= tz_last and end + timedelta(follow_up) <= tz_last
        churned = sum(1 for _, _, c, obs in spells if obs and p <= c <= end)
        old = sum(1 for _, s, c, obs in spells if obs and p <= c <= end and s < p)
        out[p.isoformat()] = (at_start, new, churned if ok else None, old if ok else None,
                              (old / at_start if at_start else None) if ok else None)
        p = add_periods(p, 1, period)
    return out


# ----- AARRR -------------------------------------------------------------------------------
def aarrr(events, tz, *, signup=None, activation=None, activation_days=7, retention_days=(1, 7),
          referral=None, orders=(), channels=None, since=None, until=None):
    """{metric: (numerator, denominator)} for the new users acquired between since and until."""
    first, last = data_days(events, tz)
    by_user = defaultdict(list)
    for u, e, ts in events:
        by_user[u].append((ts, e))
    entry = {}
    for u, evs in by_user.items():
        starts = sorted(ts for ts, e in evs if signup is None or e in signup)
        if starts:
            d = local_date(starts[0], tz)
            if (since is None or d >= since) and (until is None or d <= until):
                entry[u] = starts[0]
    out = {"new_users": (len(entry), None)}
    if activation:
        num = den = 0
        for u, t0 in entry.items():
            if local_date(t0, tz) + timedelta(activation_days) <= last:
                den += 1
                num += any(e in activation and t0 <= ts <= t0 + timedelta(days=activation_days)
                           for ts, e in by_user[u])
        out["activation_rate"] = (num, den)
    for k in retention_days:
        num = den = 0
        for u, t0 in entry.items():
            target = local_date(t0, tz) + timedelta(k)
            if target <= last:
                den += 1
                num += any(ts >= t0 and local_date(ts, tz) == target for ts, _ in by_user[u])
        out[f"d{k}_retention"] = (num, den)
    if referral:
        invites = sum(1 for u, t0 in entry.items() for ts, e in by_user[u]
                      if e in referral and ts >= t0)
        out["invites_per_user"] = (invites, len(entry))
        if channels is not None:
            referred = sum(1 for u in entry if channels.get(u) == "referral")
            out["invite_conversion"] = (referred, invites)
    if orders:
        mine = [(u, a) for u, _, a in orders if u in entry]
        revenue = sum(a for _, a in mine)
        paying = len({u for u, _ in mine})
        out["paying_conversion"] = (paying, len(entry))
        out["arpu"] = (revenue, len(entry))
        out["arppu"] = (revenue, paying)
        out["aov"] = (revenue, len(mine))
    return out


# ----- revenue retention -------------------------------------------------------------------
def revenue_retention(orders, tz):
    """{YYYY-MM: (base customers, retained customers, base revenue, retained revenue, gross)}
    for months whose previous month and itself lie fully inside the orders' local dates."""
    first = min(local_date(ts, tz) for _, ts, _ in orders)
    last = max(local_date(ts, tz) for _, ts, _ in orders)
    rev = defaultdict(float)
    for u, ts, a in orders:
        rev[(u, period_start(local_date(ts, tz), "month"))] += a
    out = {}
    months = sorted({m for _, m in rev})
    for m in months:
        nxt = add_periods(m, 1, "month")
        if m < first or period_end(nxt, "month") > last:
            continue
        base = [(u, r) for (u, mm), r in rev.items() if mm == m]
        out[nxt.isoformat()[:7]] = (
            len(base), sum(1 for u, _ in base if rev.get((u, nxt), 0) > 0),
            sum(r for _, r in base), sum(rev.get((u, nxt), 0) for u, _ in base),
            sum(min(r, rev.get((u, nxt), 0)) for u, r in base))
    return out
