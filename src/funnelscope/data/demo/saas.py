"""The SaaS demo: visit -> signup -> activate (each user) -> paid -> renew (each account).

Users belong to company accounts of 1-20 people (size by segment). Each user visits, may sign
up and activate; an account with at least one activated user may pay after the trial (the
``paid`` event is sent by its first activated user), then renews monthly. Tables: events
(with ``account_id``), customers (one row per user), spend.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo.journeys import EventLog, draw_sessions, first_seen, place_in_sessions
from funnelscope.data.demo.model import ConversionModel, draw_journeys
from funnelscope.data.demo.people import (
    CHANNELS,
    CITIES,
    CITY_SHARE,
    PLATFORMS,
    USER_TYPES,
    same_for_every,
)
from funnelscope.data.demo.sampling import (
    DAY,
    HOUR,
    MINUTE,
    US,
    Delay,
    categorical,
    group_starts,
    grouped_cumsum,
    repeat_index,
)
from funnelscope.data.demo.spend import Campaign, CampaignPlan, spend_table
from funnelscope.data.demo.window import (
    OFFICE_HOURS,
    Window,
    arrival_times,
    day_weights,
    joint_channel_day,
)

PREFIX = "sa-"
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = {"smb": 0.62, "mid_market": 0.28, "enterprise": 0.10}
ACCOUNT_SIZE = {"smb": (1, 3), "mid_market": (3, 10), "enterprise": (8, 20)}  # uniform, inclusive
PLANS = ("basic", "pro", "enterprise")
PLAN_OF_SEGMENT = {"smb": "basic", "mid_market": "pro", "enterprise": "enterprise"}
PRICE_PER_SEAT = {"basic": 99.0, "pro": 199.0, "enterprise": 399.0}  # CNY per month
CHANNEL_SHARE = {"search": 0.30, "wechat_qr": 0.08, "share": 0.17, "ads": 0.25, "organic": 0.20}
PLATFORM_SHARE = {"ios": 0.09, "android": 0.09, "web": 0.78, "miniprogram": 0.04}
RETURNING_SHARE = {"search": 0.20, "wechat_qr": 0.10, "share": 0.15, "ads": 0.10, "organic": 0.35}

USER_MODEL = ConversionModel(
    entry="visit",
    steps=("signup", "activate"),
    base=(0.25, 0.55),
    factors=("channel", "segment"),
    multipliers={
        "channel": {
            "search": (1.10, 1.00),
            "wechat_qr": (0.90, 0.95),
            "share": (1.30, 1.15),
            "ads": (0.75, 0.85),
            "organic": (1.05, 1.05),
        },
        "segment": {
            "smb": (1.00, 0.95),
            "mid_market": (1.05, 1.05),
            "enterprise": (1.10, 1.15),
        },
    },
    delays=(Delay(15 * MINUTE, 1.8, 10.0, 7 * DAY), Delay(4 * HOUR, 1.6, 60.0, 7 * DAY)),
)
ACCOUNT_MODEL = ConversionModel(
    entry="activate",  # the account's first activation
    steps=("paid", "renew"),
    base=(0.30, 0.80),
    factors=("channel", "segment"),
    multipliers={
        "channel": {
            "search": (1.00, 1.00),
            "wechat_qr": (0.90, 0.95),
            "share": (1.20, 1.05),
            "ads": (0.80, 0.90),
            "organic": (1.10, 1.05),
        },
        "segment": {
            "smb": (0.90, 0.92),
            "mid_market": (1.10, 1.05),
            "enterprise": (1.30, 1.15),
        },
    },
    delays=(Delay(12 * DAY, 0.3, 1 * DAY, 21 * DAY), Delay(30 * DAY, 0.03, 28 * DAY, 32 * DAY)),
)
EVENTS = (
    "visit", "signup", "activate", "paid", "renew",
    "login", "view_dashboard", "create_report", "invite_member", "view_pricing",
)
BACKGROUND = {
    "login": 0.35, "view_dashboard": 0.30, "create_report": 0.15,
    "invite_member": 0.05, "view_pricing": 0.15,
}
BACKGROUND_PER_VISITOR = 1.5
BACKGROUND_PER_ACTIVE_USER = 12.0
EXTRA_SESSIONS_PER_VISITOR = 0.5
EXTRA_SESSIONS_PER_ACTIVE_USER = 6.0
SESSION_GAP = Delay(1.5 * DAY, 0.8, 1 * HOUR, 20 * DAY)
MEMBER_JOIN = Delay(2 * DAY, 1.0, 60.0, 30 * DAY)
ENTRY_LEAD_SECONDS = 60
ROLES = ("owner", "member")

PLAN = CampaignPlan(
    channels=CHANNELS,
    campaigns=(
        Campaign("百度搜索竞价", "search", 0.7, 40.0),
        Campaign("知乎问答推广", "search", 0.3, 30.0),
        Campaign("展会扫码", "wechat_qr", 1.0, 20.0),
        Campaign("推荐返佣", "share", 1.0, 15.0),
        Campaign("信息流广告", "ads", 0.6, 60.0),
        Campaign("线上研讨会", "ads", 0.4, 50.0),
        Campaign("技术博客", "organic", 1.0, 5.0),
    ),
)
WEEKEND_FACTOR = 0.4
GROWTH = 0.3


def _user_segment_mix() -> dict[str, float]:
    """Share of users (not accounts) per segment: account share x mean account size."""
    weight = {s: SEGMENT_SHARE[s] * sum(ACCOUNT_SIZE[s]) / 2 for s in SEGMENTS}
    total = sum(weight.values())
    return {s: w / total for s, w in weight.items()}


def _expected_account_steps() -> dict[str, dict[str, float]]:
    """E[p_paid | account has an activated user, channel], E[p_renew | paid, channel] (exact).

    P(account activated | channel, segment, size s) = 1 - (1 - p_signup * p_activate)^s with
    s uniform on the segment's size range.
    """
    out = {}
    for c in CHANNELS:
        act_w = paid_w = renew_w = 0.0
        for s in SEGMENTS:
            q = float(np.prod(USER_MODEL.cell_probabilities({"channel": c, "segment": s})))
            lo, hi = ACCOUNT_SIZE[s]
            sizes = np.arange(lo, hi + 1)
            p_any = float(np.mean(1.0 - (1.0 - q) ** sizes))
            p_paid, p_renew = ACCOUNT_MODEL.cell_probabilities({"channel": c, "segment": s})
            w = SEGMENT_SHARE[s] * p_any
            act_w += w
            paid_w += w * p_paid
            renew_w += w * p_paid * p_renew
        out[c] = {"paid": paid_w / act_w, "renew": renew_w / paid_w}
    return out


def ground_truth() -> dict:
    """The generating parameters of the SaaS demo (see docs/demo-data.md)."""
    user_mix = {"segment": same_for_every(CHANNELS, _user_segment_mix())}
    account_mix = _expected_account_steps()
    by_channel = {
        c: {**user, **account_mix[c]}
        for c, user in USER_MODEL.expected_by("channel", CHANNELS, user_mix).items()
    }
    return {
        "dataset": "saas",
        "entity": "user for visit, signup, activate; account for paid, renew",
        "steps": [USER_MODEL.entry, *USER_MODEL.steps, *ACCOUNT_MODEL.steps],
        "step_entity": {"visit": "user", "signup": "user", "activate": "user",
                        "paid": "account", "renew": "account"},
        "user_funnel": USER_MODEL.to_dict(),
        "account_funnel": {
            **ACCOUNT_MODEL.to_dict(),
            "entry_meaning": "the account's first activate event (by any of its users); paid and "
            "renew are sent by that user",
        },
        "expected_conversion_from_previous": {"by_channel": by_channel},
        "accounts": {
            "segment_share": SEGMENT_SHARE,
            "size_range_by_segment": {s: list(r) for s, r in ACCOUNT_SIZE.items()},
            "size_distribution": "uniform on the inclusive range (the last account is cut to fit users)",
            "user_share_by_segment": _user_segment_mix(),
            "member_join_delay": MEMBER_JOIN.to_dict(),
            "shared_by_all_users": ["channel", "segment", "city", "campaign"],
        },
        "renewals": "monthly; each further month renews with the account's p_renew again "
        "(extra renewals ~ Geometric), each renew_delay after the previous",
        "mrr": {
            "plan_by_segment": PLAN_OF_SEGMENT,
            "price_per_seat": PRICE_PER_SEAT,
            "amount": "seats (account size) x price_per_seat, on paid and renew events",
            "currency": "CNY",
        },
        "mix": {
            "channel_share": CHANNEL_SHARE,
            "platform": PLATFORM_SHARE,
            "returning_share_given_channel": RETURNING_SHARE,
            "city": dict(zip(CITIES, CITY_SHARE, strict=True)),
            "weekend_factor": WEEKEND_FACTOR,
            "growth_over_window": GROWTH,
        },
        "repeats": {
            "background_events_per_visitor": BACKGROUND_PER_VISITOR,
            "extra_background_events_per_activated_user": BACKGROUND_PER_ACTIVE_USER,
            "background_event_share": BACKGROUND,
            "extra_sessions_per_visitor": EXTRA_SESSIONS_PER_VISITOR,
            "extra_sessions_per_activated_user": EXTRA_SESSIONS_PER_ACTIVE_USER,
            "session_gap": SESSION_GAP.to_dict(),
        },
        "spend": PLAN.to_dict(),
    }


def _accounts(rng: np.random.Generator, users: int) -> tuple[np.ndarray, np.ndarray]:
    """Segment code and size of each account; sizes sum to exactly ``users``."""
    segment = categorical(rng, [SEGMENT_SHARE[s] for s in SEGMENTS], users)
    lo = np.array([ACCOUNT_SIZE[s][0] for s in SEGMENTS])[segment]
    hi = np.array([ACCOUNT_SIZE[s][1] for s in SEGMENTS])[segment]
    size = lo + (rng.random(users) * (hi - lo + 1)).astype(np.int64)
    total = np.cumsum(size)
    n_accounts = int(np.searchsorted(total, users)) + 1
    size = size[:n_accounts].copy()
    size[-1] -= int(total[n_accounts - 1]) - users
    return segment[:n_accounts], size


def generate(rng: np.random.Generator, window: Window, users: int) -> dict[str, pa.Table]:
    """Draw the SaaS tables for ``users`` people (grouped into accounts) inside ``window``."""
    n = users
    idx = np.arange(n, dtype=np.int64)
    segment, size = _accounts(rng, n)
    n_acc = len(size)
    volume = PLAN.volume(CHANNEL_SHARE, day_weights(window, WEEKEND_FACTOR, GROWTH), window)
    acc_channel, acc_day = joint_channel_day(rng, volume, n_acc)
    acc_arrive = arrival_times(rng, window, acc_day, OFFICE_HOURS)
    acc_city = categorical(rng, CITY_SHARE, n_acc)
    acc_campaign = PLAN.assign(rng, acc_channel, acc_day, window)

    acc, rank = repeat_index(size)
    room = (window.end_us - 1 - acc_arrive[acc]) / US
    join = np.where(rank == 0, 0, MEMBER_JOIN.draw(rng, n, max_seconds=room))
    arrive = np.minimum(acc_arrive[acc] + join, window.end_us - 1)
    platform = categorical(rng, [PLATFORM_SHARE[p] for p in PLATFORMS], n)
    returning = np.array([RETURNING_SHARE[c] for c in CHANNELS])[acc_channel[acc]]
    user_type = (rng.random(n) < returning).astype(np.int16)
    lead = rng.integers(0, ENTRY_LEAD_SECONDS * US, n, dtype=np.int64)
    entry = np.minimum(arrive + lead, window.end_us - 1)

    vocab = {"channel": CHANNELS, "segment": SEGMENTS}
    user_codes = {"channel": acc_channel[acc], "segment": segment[acc]}
    reached, times = draw_journeys(rng, USER_MODEL, USER_MODEL.probabilities(user_codes, vocab), entry)

    never = np.iinfo(np.int64).max
    activated_at = np.where(reached[:, 2], times[:, 2], never)
    order = np.lexsort((activated_at, acc))
    activator = order[group_starts(size)]
    acc_activated_at = activated_at[activator]
    activated = acc_activated_at < never
    acc_entry = np.where(activated, acc_activated_at, window.start_us)
    acc_codes = {"channel": acc_channel, "segment": segment}
    p_acc = ACCOUNT_MODEL.probabilities(acc_codes, vocab)
    acc_reached, acc_times = draw_journeys(rng, ACCOUNT_MODEL, p_acc, acc_entry)
    acc_reached &= activated[:, None]

    plan = np.array([PLANS.index(PLAN_OF_SEGMENT[s]) for s in SEGMENTS])[segment]
    mrr = size * np.array([PRICE_PER_SEAT[p] for p in PLANS])[plan]
    log = EventLog(EVENTS, floats=("amount",), ints=("plan",))
    log.add("visit", idx, times[:, 0])
    for j, step in enumerate(USER_MODEL.steps, start=1):
        who = np.flatnonzero(reached[:, j])
        log.add(step, who, times[who, j])
    for j, step in enumerate(ACCOUNT_MODEL.steps, start=1):
        a = np.flatnonzero(acc_reached[:, j])
        log.add(step, activator[a], acc_times[a, j], amount=mrr[a], plan=plan[a])
    renewing = np.flatnonzero(acc_reached[:, 2])
    extra = rng.geometric(1.0 - p_acc[renewing, 1]) - 1
    owner, _ = repeat_index(extra)
    a = renewing[owner]
    ts = acc_times[a, 2] + grouped_cumsum(ACCOUNT_MODEL.delays[1].draw(rng, len(a)), extra)
    log.add("renew", activator[a], ts, amount=mrr[a], plan=plan[a])

    active = reached[:, 2]
    sessions = draw_sessions(
        rng, arrive, EXTRA_SESSIONS_PER_VISITOR + EXTRA_SESSIONS_PER_ACTIVE_USER * active, SESSION_GAP
    )
    who = np.repeat(idx, rng.poisson(BACKGROUND_PER_VISITOR + BACKGROUND_PER_ACTIVE_USER * active, n))
    kind = categorical(rng, list(BACKGROUND.values()), len(who)) + EVENTS.index("login")
    log.add(kind, who, place_in_sessions(rng, sessions, who, not_before=entry[who]))

    done = log.finish(window, rng)
    shuffled, number = done.rows, done.number
    seen = first_seen(n, shuffled)
    user_width = col.id_width(n, 6)
    acc_width = col.id_width(n_acc, 5)
    u = shuffled.user
    plan_code = shuffled.extra["plan"]
    events = pa.table(
        {
            "event_id": col.id_strings(PREFIX, number, col.id_width(len(number), 9)),
            "user_id": col.id_strings("u", u, user_width),
            "event": col.labels(EVENTS, shuffled.event),
            "ts": col.timestamps(shuffled.ts),
            "account_id": col.id_strings("a", acc[u], acc_width),
            "channel": col.labels(CHANNELS, acc_channel[acc[u]]),
            "platform": col.labels(PLATFORMS, platform[u]),
            "user_type": col.labels(USER_TYPES, user_type[u]),
            "plan": col.labels(PLANS, np.maximum(plan_code, 0), valid=plan_code >= 0),
            "amount": col.numbers(shuffled.extra["amount"]),
        }
    )
    customers = pa.table(
        {
            "user_id": col.id_strings("u", idx, user_width),
            "first_seen": col.timestamps(seen),
            "channel": col.labels(CHANNELS, acc_channel[acc]),
            "segment": col.labels(SEGMENTS, segment[acc]),
            "city": col.labels(CITIES, acc_city[acc]),
            "account_id": col.id_strings("a", acc, acc_width),
            "platform": col.labels(PLATFORMS, platform),
            "user_type": col.labels(USER_TYPES, user_type),
            "campaign": col.labels(PLAN.names, acc_campaign[acc]),
            "role": col.labels(ROLES, (rank > 0).astype(np.int8)),
            "account_size": pa.array(size[acc].astype(np.int32)),
        }
    )
    spend = spend_table(rng, PLAN, window, seen, acc_campaign[acc], user_type == 0)
    return {"events": events, "customers": customers, "spend": spend}
