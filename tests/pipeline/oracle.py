"""A deliberately plain reference for the pipeline analysis: loops over each deal's entries.

Input: ``rows``, a list of dicts with deal_id, stage, ts (µs since the epoch, UTC), amount,
owner, closed (None = not given) — the deals table as loaded. Every function follows the
definitions in docs/pipeline.md word for word and shares no code with the package.
"""

from __future__ import annotations

import math
from collections import defaultdict

DAY = 86_400_000_000


def quantile(values, q):
    """Linear interpolation between closest ranks (numpy's default), None if empty."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else None


class Deal:
    """One deal's history in entry order (time, then stage position)."""

    def __init__(self, deal_id, entries, stages, win_stage):
        self.id = deal_id
        pos = {s: i for i, s in enumerate(stages)}
        self.k = len(stages)
        self.win = pos[win_stage]
        es = sorted((r for r in entries if r["stage"] in pos),
                    key=lambda r: (r["ts"], pos[r["stage"]]))
        self.entries = [(pos[r["stage"]], r["ts"], r) for r in es]

    def visible(self, t):
        """The same deal with only the entries at or before t."""
        d = Deal.__new__(Deal)
        d.id, d.k, d.win = self.id, self.k, self.win
        d.entries = [e for e in self.entries if e[1] <= t]
        return d

    def latest_given(self, field):
        for _, _, r in reversed(self.entries):
            if r.get(field) is not None:
                return r[field]
        return None

    @property
    def created(self):
        return self.entries[0][1]

    @property
    def last(self):
        return max(ts for _, ts, _ in self.entries)

    @property
    def current(self):
        return self.entries[-1][0]

    @property
    def furthest(self):
        return max(s for s, _, _ in self.entries)

    @property
    def closed(self):
        return self.latest_given("closed") or "open"

    @property
    def amount(self):
        return self.latest_given("amount")

    @property
    def owner(self):
        return self.latest_given("owner")

    @property
    def win_time(self):
        times = [ts for s, ts, _ in self.entries if s >= self.win]
        if times:
            return min(times)
        return self.last if self.closed == "won" else None

    def regressions_into(self, stage):
        n = 0
        for (a, _, _), (b, _, _) in zip(self.entries, self.entries[1:], strict=False):
            if b < a and b == stage:
                n += 1
        return n

    def time_in(self, stage):
        """Total length of ended stays in ``stage``; None if none ended."""
        total, any_ = 0, False
        for (a, ta, _), (_, tb, _) in zip(self.entries, self.entries[1:], strict=False):
            if a == stage:
                total += tb - ta
                any_ = True
        return total if any_ else None

    def first_stay(self, stage):
        """(end, length) of the first stay in ``stage`` if it ended, else None."""
        for j, (a, ta, _) in enumerate(self.entries):
            if a == stage:
                if j + 1 < len(self.entries):
                    tb = self.entries[j + 1][1]
                    return tb, tb - ta
                return None
        return None


def build(rows, stages, win_stage):
    """Deals from rows as stored: an empty ``closed`` is stored as "open"."""
    by_deal = defaultdict(list)
    for r in rows:
        r = dict(r, closed=r.get("closed") or "open")
        by_deal[r["deal_id"]].append(r)
    deals = [Deal(k, v, stages, win_stage) for k, v in sorted(by_deal.items())]
    return [d for d in deals if d.entries]


def amt(d):
    return d.amount or 0.0


# ----- stage funnel -------------------------------------------------------------------------
def funnel(deals, stages):
    out = []
    total = len(deals)
    prev = total
    for i, s in enumerate(stages):
        reached = [d for d in deals if d.furthest >= i]
        lost = [d for d in deals if d.closed == "lost" and d.furthest == i]
        won_after = [d for d in reached if d.closed == "won"]
        closed_after = [d for d in reached if d.closed in ("won", "lost")]
        out.append({
            "stage": s, "deals": len(reached), "amount": sum(amt(d) for d in reached),
            "conversion_from_previous": len(reached) / prev if prev else None,
            "conversion_from_start": len(reached) / total if total else None,
            "lost": len(lost), "loss_rate": len(lost) / len(reached) if reached else None,
            "still_open": sum(1 for d in deals if d.closed == "open" and d.furthest == i),
            "won_after": len(won_after),
            "win_rate_after": len(won_after) / len(closed_after) if closed_after else None,
            "regressions": sum(d.regressions_into(i) for d in deals),
        })
        prev = len(reached)
    return out


# ----- velocity -----------------------------------------------------------------------------
def velocity(deals, stages, as_of):
    out = []
    p90s = []
    for i, s in enumerate(stages):
        times = [d.time_in(i) / DAY for d in deals if d.time_in(i) is not None]
        p90s.append(quantile(times, 0.9))
        out.append({"stage": s, "deals_timed": len(times),
                    "median_days_in_stage": quantile(times, 0.5),
                    "p90_days_in_stage": p90s[-1], "mean_days_in_stage": mean(times)})
    stalled = []
    for d in deals:
        if d.closed != "open":
            continue
        age = (as_of - d.last) / DAY
        limit = p90s[d.current]
        if limit is not None and age > limit:
            stalled.append((d.id, stages[d.current], age))
    for i, row in enumerate(out):
        row["open_deals"] = sum(1 for d in deals if d.closed == "open" and d.current == i)
        row["stalled_deals"] = sum(1 for x in stalled if x[1] == stages[i])
    return out, stalled


def cycles(deals):
    won = [(d.win_time - d.created) / DAY for d in deals if d.closed == "won"]
    lost = [(d.last - d.created) / DAY for d in deals if d.closed == "lost"]
    return {"won": won, "lost": lost}


def pipeline_velocity(deals):
    won = [d for d in deals if d.closed == "won"]
    lost = [d for d in deals if d.closed == "lost"]
    n_open = sum(1 for d in deals if d.closed == "open")
    if not won and not lost:
        return None
    win_rate = len(won) / (len(won) + len(lost))
    sizes = [d.amount for d in won if d.amount is not None]
    cyc = mean(cycles(deals)["won"])
    if not sizes or not cyc:
        return None
    return n_open * win_rate * mean(sizes) / cyc


def win_rates_by_owner(deals):
    out = {}
    owners = {d.owner if d.owner is not None else "(none)" for d in deals}
    if all(d.owner is None for d in deals):
        owners = set()  # no owners at all: only the "(all)" row
    for o in [None, *sorted(owners)]:
        sub = [d for d in deals if o is None or (d.owner if d.owner is not None else "(none)") == o]
        won = [d for d in sub if d.closed == "won"]
        lost = [d for d in sub if d.closed == "lost"]
        sizes = [d.amount for d in won if d.amount is not None]
        out["(all)" if o is None else o] = {
            "won": len(won), "lost": len(lost),
            "win_rate": len(won) / (len(won) + len(lost)) if won or lost else None,
            "won_amount": sum(amt(d) for d in won), "average_deal_size": mean(sizes)}
    return out


# ----- bottlenecks and what-if --------------------------------------------------------------
def expected_value(deals):
    closed = [d for d in deals if d.closed in ("won", "lost")]
    if not closed:
        return None, None
    won = [d for d in closed if d.closed == "won"]
    return len(won) / len(closed), sum(amt(d) for d in won) / len(closed)


def bottlenecks(deals, stages, controllability):
    out = []
    for i in range(len(stages) - 1):
        lost = sum(1 for d in deals if d.closed == "lost" and d.furthest == i)
        _, value = expected_value([d for d in deals if d.furthest >= i + 1])
        score = controllability.get(stages[i], 3)
        lost_value = None if value is None else lost * value
        out.append({"from_stage": stages[i], "lost": lost, "value_if_passed": value,
                    "lost_value": lost_value, "controllability": score,
                    "priority": None if lost_value is None else lost_value * score})
    out.sort(key=lambda r: (-(r["priority"] if r["priority"] is not None else -math.inf),
                            stages.index(r["from_stage"])))
    return out


def what_if(deals, stages, stage, points):
    i = stages.index(stage)
    prev = [d for d in deals if d.furthest >= i - 1]
    now = [d for d in deals if d.furthest >= i]
    c = len(now) / len(prev)
    new = min(1.0, max(c, c + points / 100))
    extra = min(len(prev) * (new - c), len(prev) - len(now))
    p1, v1 = expected_value(now)
    p0, v0 = expected_value([d for d in deals if d.furthest == i - 1])
    won = [d for d in deals if d.closed == "won"]
    return {"change_won_deals": extra * ((p1 or 0) - (p0 or 0)),
            "change_won_amount": extra * ((v1 or 0) - (v0 or 0)),
            "won_deals": len(won), "won_amount": sum(amt(d) for d in won)}


# ----- replay as of t -----------------------------------------------------------------------
def dead_after(deals, k, t, factor):
    lengths = []
    for i in range(k):
        xs = []
        for d in deals:
            fs = d.first_stay(i)
            if fs is not None and fs[0] <= t:
                xs.append(fs[1])
        lengths.append(xs)
    pooled = [x for xs in lengths for x in xs]
    out = []
    for xs in lengths:
        base = xs if len(xs) >= 5 else pooled
        out.append(factor * quantile(base, 0.9) if base else math.inf)
    return out


def open_at(deals, k, t, factor=2.0):
    """{deal_id: (stage, age, amount as of t)} for deals open at t."""
    limits = dead_after(deals, k, t, factor)
    out = {}
    for d in deals:
        v = d.visible(t)
        if not v.entries:
            continue
        wt = d.win_time
        if wt is not None and wt <= t:
            continue
        if v.furthest >= d.win:
            continue
        age = t - v.entries[-1][1]
        if age > limits[v.current]:
            continue
        out[d.id] = (v.current, age, v.amount)
    return out


def historical_probabilities_at(deals, k, win, t, open_ids):
    """P(won by t | reached s by t) among deals closed by t (won, or existing and not open)."""
    won_by, done, reach = [], [], []
    for d in deals:
        v = d.visible(t)
        if not v.entries:
            continue
        wt = d.win_time
        w = wt is not None and wt <= t
        first_entry = {}
        for s, ts, _ in d.entries:
            first_entry.setdefault(s, ts)
        furthest = max([s for s, ts in first_entry.items() if ts <= t], default=-1)
        if w or d.id not in open_ids:
            done.append(d)
            won_by.append(w)
            reach.append(furthest)
    overall = sum(won_by) / len(won_by) if won_by else 0.0
    probs = []
    for s in range(win):
        xs = [w for w, f in zip(won_by, reach, strict=True) if f >= s]
        probs.append(sum(xs) / len(xs) if xs else overall)
    return probs + [1.0] * (k - win)


# ----- forecasts ----------------------------------------------------------------------------
def grid(first, as_of):
    """Training snapshot times: every 7 days (or span/200 if longer) back from as_of."""
    step = max(7 * DAY, -(-(as_of - first) // 200))
    out, t = [], as_of - step
    while t > first:
        out.append(t)
        t -= step
    return sorted(out)


def learned_rates(deals, k, win, times, gap, length, factor=2.0, m=10.0):
    """Fit the stage x age-quartile cell rates; returns predict(stage, age) -> probability."""
    rows = []
    for t in times:
        for deal_id, (stage, age, _) in open_at(deals, k, t, factor).items():
            wt = next(d for d in deals if d.id == deal_id).win_time
            y = 1 if wt is not None and t + gap <= wt < t + gap + length and wt > t else 0
            rows.append((stage, age, y))
    p_all = sum(y for _, _, y in rows) / len(rows) if rows else math.nan
    cells = {}
    for s in range(k):
        ys = [(a, y) for st, a, y in rows if st == s]
        p_s = (sum(y for _, y in ys) + m * p_all) / (len(ys) + m)
        edges = sorted({quantile([a for a, _ in ys], q) for q in (0.25, 0.5, 0.75)}) if ys else []
        def bin_of(a, edges=edges):
            return sum(1 for e in edges if e < a)
        rates = []
        for b in range(len(edges) + 1):
            yb = [y for a, y in ys if bin_of(a) == b]
            rates.append((sum(yb) + m * p_s) / (len(yb) + m))
        cells[s] = (bin_of, rates)

    def predict(stage, age):
        bin_of, rates = cells[stage]
        return rates[bin_of(age)]

    predict.rows = len(rows)
    return predict


def backtest_row(deals, k, win, as_of, start, end, factor=2.0):
    """Weighted, learned and actual won amount for the period [start, end) replayed at start."""
    first = min(d.created for d in deals)
    open_ = open_at(deals, k, start, factor)
    probs = historical_probabilities_at(deals, k, win, start, set(open_))
    times = [t for t in grid(first, as_of) if t + (end - start) <= start]
    predict = learned_rates(deals, k, win, times, 0, end - start, factor)
    weighted = sum((a or 0.0) * probs[s] for s, _, a in open_.values())
    learned = sum((a or 0.0) * predict(s, age) for s, age, a in open_.values())
    by_id = {d.id: d for d in deals}
    actual = sum(amt(by_id[i]) for i in open_
                 if by_id[i].win_time is not None and start <= by_id[i].win_time < end)
    return {"open_deals": len(open_), "weighted_forecast": weighted, "learned_forecast": learned,
            "actual": actual, "training_rows": predict.rows}
