"""The finance (wealth app) demo: visit -> register -> risk_check -> first_investment -> repeat_investment.

Tables: events, customers, orders (one per investment), spend. Conversion depends on channel,
platform, new/returning and age band (the segment); investment size on the age band.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo.journeys import (
    EventLog,
    draw_sessions,
    first_seen,
    place_in_sessions,
    repeats_after,
)
from funnelscope.data.demo.model import ConversionModel, draw_journeys
from funnelscope.data.demo.people import (
    CHANNELS,
    CITIES,
    CITY_SHARE,
    CURRENCY,
    PLATFORMS,
    USER_TYPES,
    amounts,
    mix_table,
    returning_mix,
    same_for_every,
)
from funnelscope.data.demo.sampling import DAY, HOUR, MINUTE, US, Delay, categorical
from funnelscope.data.demo.sampling import conditional_categorical as draw_given
from funnelscope.data.demo.spend import Campaign, CampaignPlan, spend_table
from funnelscope.data.demo.window import (
    CONSUMER_HOURS,
    Window,
    arrival_times,
    day_weights,
    joint_channel_day,
)

PREFIX = "fi-"
SEGMENTS = ("18-29", "30-44", "45-59", "60+")
SEGMENT_SHARE = {"18-29": 0.30, "30-44": 0.38, "45-59": 0.22, "60+": 0.10}
CHANNEL_SHARE = {"search": 0.22, "wechat_qr": 0.10, "share": 0.18, "ads": 0.35, "organic": 0.15}
PLATFORM_GIVEN_CHANNEL = {
    "search": {"ios": 0.35, "android": 0.40, "web": 0.15, "miniprogram": 0.10},
    "wechat_qr": {"ios": 0.15, "android": 0.20, "web": 0.02, "miniprogram": 0.63},
    "share": {"ios": 0.30, "android": 0.40, "web": 0.05, "miniprogram": 0.25},
    "ads": {"ios": 0.35, "android": 0.50, "web": 0.05, "miniprogram": 0.10},
    "organic": {"ios": 0.40, "android": 0.40, "web": 0.15, "miniprogram": 0.05},
}
RETURNING_SHARE = {"search": 0.25, "wechat_qr": 0.15, "share": 0.20, "ads": 0.10, "organic": 0.45}

MODEL = ConversionModel(
    entry="visit",
    steps=("register", "risk_check", "first_investment", "repeat_investment"),
    base=(0.28, 0.65, 0.45, 0.40),
    factors=("channel", "platform", "user_type", "segment"),
    multipliers={
        "channel": {
            "search": (1.10, 1.00, 1.05, 1.00),
            "wechat_qr": (0.95, 1.05, 1.00, 1.05),
            "share": (1.20, 1.05, 1.05, 1.10),
            "ads": (0.75, 0.90, 0.85, 0.85),
            "organic": (1.05, 1.00, 1.10, 1.15),
        },
        "platform": {
            "ios": (1.05, 1.00, 1.05, 1.05),
            "android": (1.00, 1.00, 0.95, 0.95),
            "web": (0.90, 1.05, 1.00, 1.00),
            "miniprogram": (1.00, 0.95, 0.95, 1.00),
        },
        "user_type": {
            "new": (0.95, 1.00, 0.95, 0.95),
            "returning": (1.15, 1.00, 1.15, 1.15),
        },
        "segment": {
            "18-29": (1.10, 0.95, 0.80, 0.85),
            "30-44": (1.05, 1.00, 1.05, 1.05),
            "45-59": (0.90, 1.05, 1.15, 1.15),
            "60+": (0.75, 1.00, 1.00, 1.10),
        },
    },
    delays=(
        Delay(20 * MINUTE, 1.5, 10.0, 7 * DAY),
        Delay(10 * MINUTE, 1.8, 10.0, 7 * DAY),
        Delay(1 * HOUR, 2.0, 30.0, 14 * DAY),
        Delay(21 * DAY, 0.5, 1 * DAY, 45 * DAY),
    ),
)
EVENTS = (
    "visit", "register", "risk_check", "first_investment", "repeat_investment",
    "view_product", "read_article", "check_balance", "login",
)
BACKGROUND = {"view_product": 0.40, "read_article": 0.25, "check_balance": 0.20, "login": 0.15}
BACKGROUND_PER_VISITOR = 2.5
BACKGROUND_PER_REGISTERED = 3.0
EXTRA_SESSIONS_PER_VISITOR = 1.0
EXTRA_SESSIONS_PER_REGISTERED = 2.0
SESSION_GAP = Delay(2 * DAY, 1.0, 30 * MINUTE, 30 * DAY)
EXTRA_REPEATS = 1.0
REPEAT_GAP = Delay(30 * DAY, 0.15, 20 * DAY, 40 * DAY)
RISK_RESULTS = ("pass", "fail")
FAIL_SHARE_OF_NON_INVESTORS = 0.4
PRODUCTS = ("money_market", "bond_fund", "equity_fund")
PRODUCT_SHARE = {"money_market": 0.5, "bond_fund": 0.3, "equity_fund": 0.2}
INVESTMENT_MEDIAN = {"18-29": 1000.0, "30-44": 3000.0, "45-59": 8000.0, "60+": 10000.0}
INVESTMENT_SIGMA = 1.0
MIN_INVESTMENT = 100.0
ENTRY_LEAD_SECONDS = 60

PLAN = CampaignPlan(
    channels=CHANNELS,
    campaigns=(
        Campaign("百度搜索竞价", "search", 1.0, 60.0),
        Campaign("网点扫码", "wechat_qr", 1.0, 30.0),
        Campaign("邀请好友得红包", "share", 1.0, 25.0),
        Campaign("信息流广告", "ads", 0.7, 80.0),
        Campaign("新人理财券", "ads", 0.3, 100.0),
        Campaign("理财社区内容", "organic", 1.0, 5.0),
    ),
)
WEEKEND_FACTOR = 0.9
GROWTH = 0.1


def ground_truth() -> dict:
    """The generating parameters of the finance demo (see docs/demo-data.md)."""
    mix = {
        "platform": PLATFORM_GIVEN_CHANNEL,
        "user_type": returning_mix(RETURNING_SHARE),
        "segment": same_for_every(CHANNELS, SEGMENT_SHARE),
    }
    return {
        "dataset": "finance",
        "entity": "user",
        "steps": [MODEL.entry, *MODEL.steps],
        "funnel": MODEL.to_dict(),
        "mix": {
            "channel_share": CHANNEL_SHARE,
            "platform_given_channel": PLATFORM_GIVEN_CHANNEL,
            "returning_share_given_channel": RETURNING_SHARE,
            "segment": SEGMENT_SHARE,
            "city": dict(zip(CITIES, CITY_SHARE, strict=True)),
            "weekend_factor": WEEKEND_FACTOR,
            "growth_over_window": GROWTH,
        },
        "expected_conversion_from_previous": {
            "by_channel": MODEL.expected_by("channel", CHANNELS, mix),
        },
        "risk_check": {
            "risk_result": "'pass' for everyone who goes on to invest; of the others a share "
            f"{FAIL_SHARE_OF_NON_INVESTORS} get 'fail', the rest 'pass'",
        },
        "repeats": {
            "background_events_per_visitor": BACKGROUND_PER_VISITOR,
            "extra_background_events_per_registered_user": BACKGROUND_PER_REGISTERED,
            "background_event_share": BACKGROUND,
            "extra_sessions_per_visitor": EXTRA_SESSIONS_PER_VISITOR,
            "extra_sessions_per_registered_user": EXTRA_SESSIONS_PER_REGISTERED,
            "session_gap": SESSION_GAP.to_dict(),
            "extra_repeat_investments_per_repeat_investor": EXTRA_REPEATS,
            "repeat_investment_gap": REPEAT_GAP.to_dict(),
        },
        "investment_amount": {
            "distribution": "lognormal, rounded to 0.01, at least 100.00",
            "median_by_segment": INVESTMENT_MEDIAN,
            "sigma": INVESTMENT_SIGMA,
            "product_share": PRODUCT_SHARE,
            "currency": CURRENCY,
        },
        "spend": PLAN.to_dict(),
    }


def generate(rng: np.random.Generator, window: Window, users: int) -> dict[str, pa.Table]:
    """Draw the finance tables for ``users`` visitors inside ``window``."""
    n = users
    idx = np.arange(n, dtype=np.int64)
    volume = PLAN.volume(CHANNEL_SHARE, day_weights(window, WEEKEND_FACTOR, GROWTH), window)
    channel, day = joint_channel_day(rng, volume, n)
    arrive = arrival_times(rng, window, day, CONSUMER_HOURS)
    platform = draw_given(rng, mix_table(PLATFORM_GIVEN_CHANNEL, CHANNELS, PLATFORMS), channel)
    returning = np.array([RETURNING_SHARE[c] for c in CHANNELS])[channel]
    user_type = (rng.random(n) < returning).astype(np.int16)
    segment = categorical(rng, [SEGMENT_SHARE[s] for s in SEGMENTS], n)
    city = categorical(rng, CITY_SHARE, n)
    campaign = PLAN.assign(rng, channel, day, window)
    lead = rng.integers(0, ENTRY_LEAD_SECONDS * US, n, dtype=np.int64)
    entry = np.minimum(arrive + lead, window.end_us - 1)

    codes = {"channel": channel, "platform": platform, "user_type": user_type, "segment": segment}
    vocab = {"channel": CHANNELS, "platform": PLATFORMS, "user_type": USER_TYPES, "segment": SEGMENTS}
    reached, times = draw_journeys(rng, MODEL, MODEL.probabilities(codes, vocab), entry)

    median = np.array([INVESTMENT_MEDIAN[s] for s in SEGMENTS])
    product_share = [PRODUCT_SHARE[p] for p in PRODUCTS]
    log = EventLog(EVENTS, floats=("amount",), ints=("risk_result", "product"))
    log.add("visit", idx, times[:, 0])
    for j, step in enumerate(MODEL.steps, start=1):
        who = np.flatnonzero(reached[:, j])
        extra = {}
        if step == "risk_check":
            fail = ~reached[who, j + 1] & (rng.random(len(who)) < FAIL_SHARE_OF_NON_INVESTORS)
            extra["risk_result"] = fail.astype(np.int64)
        if step in ("first_investment", "repeat_investment"):
            extra["amount"] = amounts(rng, median[segment[who]], INVESTMENT_SIGMA, MIN_INVESTMENT)
            extra["product"] = categorical(rng, product_share, len(who))
        log.add(step, who, times[who, j], **extra)
    repeaters = np.flatnonzero(reached[:, 4])
    who, ts = repeats_after(rng, repeaters, times[repeaters, 4], EXTRA_REPEATS, REPEAT_GAP)
    log.add(
        "repeat_investment", who, ts,
        amount=amounts(rng, median[segment[who]], INVESTMENT_SIGMA, MIN_INVESTMENT),
        product=categorical(rng, product_share, len(who)),
    )

    registered = reached[:, 1]
    sessions = draw_sessions(
        rng, arrive, EXTRA_SESSIONS_PER_VISITOR + EXTRA_SESSIONS_PER_REGISTERED * registered, SESSION_GAP
    )
    who = np.repeat(
        idx, rng.poisson(BACKGROUND_PER_VISITOR + BACKGROUND_PER_REGISTERED * registered, n)
    )
    kind = categorical(rng, list(BACKGROUND.values()), len(who)) + EVENTS.index("view_product")
    log.add(kind, who, place_in_sessions(rng, sessions, who))

    done = log.finish(window, rng, order_events=("first_investment", "repeat_investment"))
    shuffled, number, orders = done.rows, done.number, done.orders
    seen = first_seen(n, shuffled)

    user_width = col.id_width(n, 6)
    order_width = col.id_width(len(orders), 9)
    u = shuffled.user
    risk = shuffled.extra["risk_result"]
    product = shuffled.extra["product"]
    events = pa.table(
        {
            "event_id": col.id_strings(PREFIX, number, col.id_width(len(number), 9)),
            "user_id": col.id_strings("u", u, user_width),
            "event": col.labels(EVENTS, shuffled.event),
            "ts": col.timestamps(shuffled.ts),
            "channel": col.labels(CHANNELS, channel[u]),
            "platform": col.labels(PLATFORMS, platform[u]),
            "user_type": col.labels(USER_TYPES, user_type[u]),
            "amount": col.numbers(shuffled.extra["amount"]),
            "order_id": col.id_strings(
                PREFIX + "o", shuffled.extra["order"], order_width, valid=shuffled.extra["order"] >= 0
            ),
            "product": col.labels(PRODUCTS, np.maximum(product, 0), valid=product >= 0),
            "risk_result": col.labels(RISK_RESULTS, np.maximum(risk, 0), valid=risk >= 0),
        }
    )
    customers = pa.table(
        {
            "user_id": col.id_strings("u", idx, user_width),
            "first_seen": col.timestamps(seen),
            "channel": col.labels(CHANNELS, channel),
            "segment": col.labels(SEGMENTS, segment),
            "city": col.labels(CITIES, city),
            "platform": col.labels(PLATFORMS, platform),
            "user_type": col.labels(USER_TYPES, user_type),
            "campaign": col.labels(PLAN.names, campaign),
        }
    )
    order_table = pa.table(
        {
            "order_id": col.id_strings(PREFIX + "o", orders.extra["order"], order_width),
            "user_id": col.id_strings("u", orders.user, user_width),
            "ts": col.timestamps(orders.ts),
            "amount": col.numbers(orders.extra["amount"]),
            "currency": pa.repeat(pa.scalar(CURRENCY, pa.string()), len(orders)),
            "product": col.labels(PRODUCTS, orders.extra["product"]),
        }
    )
    spend = spend_table(rng, PLAN, window, seen, campaign, user_type == 0)
    return {"events": events, "customers": customers, "orders": order_table, "spend": spend}
