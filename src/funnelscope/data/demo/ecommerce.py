"""The ecommerce demo: view -> add_to_cart -> checkout -> pay -> repurchase.

Tables: events, customers, orders (one per pay / repurchase event), spend, exposures,
responses (post-purchase NPS / CSAT answers, ``surveys.py``). Conversion depends on
channel, platform and new/returning (see ``MODEL``); order value on segment.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo import scenarios, surveys, visits
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

PREFIX = "ec-"
SEGMENTS = ("price_sensitive", "mainstream", "premium")
SEGMENT_SHARE = {"price_sensitive": 0.35, "mainstream": 0.45, "premium": 0.20}
CHANNEL_SHARE = {"search": 0.24, "wechat_qr": 0.14, "share": 0.12, "ads": 0.28, "organic": 0.22}
PLATFORM_GIVEN_CHANNEL = {
    "search": {"ios": 0.30, "android": 0.35, "web": 0.25, "miniprogram": 0.10},
    "wechat_qr": {"ios": 0.10, "android": 0.15, "web": 0.02, "miniprogram": 0.73},
    "share": {"ios": 0.25, "android": 0.30, "web": 0.05, "miniprogram": 0.40},
    "ads": {"ios": 0.35, "android": 0.45, "web": 0.10, "miniprogram": 0.10},
    "organic": {"ios": 0.35, "android": 0.35, "web": 0.20, "miniprogram": 0.10},
}
RETURNING_SHARE = {"search": 0.30, "wechat_qr": 0.20, "share": 0.15, "ads": 0.10, "organic": 0.55}

MODEL = ConversionModel(
    entry="view",
    steps=("add_to_cart", "checkout", "pay", "repurchase"),
    base=(0.35, 0.50, 0.70, 0.30),
    factors=("channel", "platform", "user_type"),
    multipliers={
        "channel": {
            "search": (1.15, 1.05, 1.00, 1.00),
            "wechat_qr": (0.90, 1.00, 1.05, 1.10),
            "share": (1.10, 1.10, 1.05, 1.20),
            "ads": (0.70, 0.85, 0.90, 0.80),
            "organic": (1.05, 1.00, 1.00, 1.10),
        },
        "platform": {
            "ios": (1.10, 1.05, 1.05, 1.05),
            "android": (0.95, 0.95, 0.95, 0.95),
            "web": (0.85, 0.90, 0.95, 1.00),
            "miniprogram": (1.00, 1.05, 1.10, 1.00),
        },
        "user_type": {
            "new": (0.90, 0.95, 0.95, 0.90),
            "returning": (1.25, 1.10, 1.10, 1.30),
        },
    },
    delays=(
        Delay(6 * MINUTE, 1.3, 5.0, 3 * DAY),
        Delay(25 * MINUTE, 1.6, 10.0, 2 * DAY),
        Delay(90.0, 1.0, 5.0, 1 * DAY),
        Delay(10 * DAY, 0.6, 1 * HOUR, 30 * DAY),
    ),
)
EVENTS = ("view", "add_to_cart", "checkout", "pay", "repurchase", "search", "view_item_list", "share")
BACKGROUND = {"search": 0.35, "view_item_list": 0.50, "share": 0.15}
BACKGROUND_PER_USER = 4.5
EXTRA_VIEWS_PER_USER = 2.0
EXTRA_CARTS_PER_CARTER = 0.5
EXTRA_SESSIONS_PER_USER = 1.5
SESSION_GAP = Delay(1 * DAY, 1.2, 30 * MINUTE, 20 * DAY)
EXTRA_REPURCHASES = 0.5
REPURCHASE_GAP = Delay(12 * DAY, 0.6, 1 * HOUR, 30 * DAY)
ORDER_MEDIAN = {"price_sensitive": 59.0, "mainstream": 129.0, "premium": 329.0}
ORDER_SIGMA = 0.7
ENTRY_LEAD_SECONDS = 120  # the first view comes up to 2 minutes after the visit starts

PLAN = CampaignPlan(
    channels=CHANNELS,
    campaigns=(
        Campaign("百度搜索竞价", "search", 0.6, 18.0),
        Campaign("品牌词投放", "search", 0.4, 9.0),
        Campaign("门店扫码", "wechat_qr", 0.5, 6.0),
        Campaign("地推二维码", "wechat_qr", 0.5, 10.0),
        Campaign("老带新奖励", "share", 0.7, 8.0),
        Campaign("拼团分享", "share", 0.3, 5.0),
        Campaign("信息流广告", "ads", 1.0, 25.0),
        Campaign("内容运营", "organic", 1.0, 1.5),
    ),
    promo_channel="ads",
    promo_boost=2.5,
    promo_share=0.6,
    promo_cost=30.0,
)
WEEKEND_FACTOR = 1.15
GROWTH = 0.2


def ground_truth() -> dict:
    """The generating parameters of the ecommerce demo (see docs/demo-data.md)."""
    mix = {
        "platform": PLATFORM_GIVEN_CHANNEL,
        "user_type": returning_mix(RETURNING_SHARE),
    }
    return {
        "dataset": "ecommerce",
        "entity": "user",
        "steps": [MODEL.entry, *MODEL.steps],
        "funnel": MODEL.to_dict(),
        "mix": {
            "channel_share_outside_festivals": CHANNEL_SHARE,
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
        "repeats": {
            "extra_views_per_user": EXTRA_VIEWS_PER_USER,
            "extra_add_to_cart_per_carter": EXTRA_CARTS_PER_CARTER,
            "background_events_per_user": BACKGROUND_PER_USER,
            "background_event_share": BACKGROUND,
            "extra_sessions_per_user": EXTRA_SESSIONS_PER_USER,
            "session_gap": SESSION_GAP.to_dict(),
            "extra_repurchases_per_repurchaser": EXTRA_REPURCHASES,
            "repurchase_gap": REPURCHASE_GAP.to_dict(),
        },
        "order_amount": {
            "distribution": "lognormal, rounded to 0.01, at least 1.00",
            "median_by_segment": ORDER_MEDIAN,
            "sigma": ORDER_SIGMA,
            "currency": CURRENCY,
        },
        "spend": PLAN.to_dict(),
        **scenarios.ground_truth(),
        "surveys": surveys.ground_truth(SEGMENTS),
    }


def generate(rng: np.random.Generator, window: Window, users: int) -> dict[str, pa.Table]:
    """Draw the ecommerce tables for ``users`` visitors inside ``window``."""
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

    codes = {"channel": channel, "platform": platform, "user_type": user_type}
    vocab = {"channel": CHANNELS, "platform": PLATFORMS, "user_type": USER_TYPES}
    p = MODEL.probabilities(codes, vocab)
    planted = scenarios.apply(rng, window, p, MODEL.steps, entry, platform, PLATFORMS)
    reached, times = draw_journeys(rng, MODEL, p, entry)

    order_median = np.array([ORDER_MEDIAN[s] for s in SEGMENTS])
    log = EventLog(EVENTS, floats=("amount",))
    log.add("view", idx, times[:, 0])
    for j, step in enumerate(MODEL.steps, start=1):
        who = np.flatnonzero(reached[:, j])
        extra = {}
        if step in ("pay", "repurchase"):
            extra["amount"] = amounts(rng, order_median[segment[who]], ORDER_SIGMA, 1.0)
        log.add(step, who, times[who, j], **extra)
    repurchasers = np.flatnonzero(reached[:, 4])
    who, ts = repeats_after(rng, repurchasers, times[repurchasers, 4], EXTRA_REPURCHASES, REPURCHASE_GAP)
    log.add("repurchase", who, ts, amount=amounts(rng, order_median[segment[who]], ORDER_SIGMA, 1.0))

    sessions = draw_sessions(rng, arrive, EXTRA_SESSIONS_PER_USER, SESSION_GAP)
    who = np.repeat(idx, rng.poisson(EXTRA_VIEWS_PER_USER, n))
    log.add("view", who, place_in_sessions(rng, sessions, who, not_before=times[who, 0]))
    carters = np.flatnonzero(reached[:, 1])
    who = np.repeat(carters, rng.poisson(EXTRA_CARTS_PER_CARTER, len(carters)))
    log.add("add_to_cart", who, place_in_sessions(rng, sessions, who, not_before=times[who, 1]))
    who = np.repeat(idx, rng.poisson(BACKGROUND_PER_USER, n))
    kind = categorical(rng, list(BACKGROUND.values()), len(who)) + EVENTS.index("search")
    log.add(kind, who, place_in_sessions(rng, sessions, who))

    done = log.finish(window, rng, order_events=("pay", "repurchase"))
    shuffled, number, orders = done.rows, done.number, done.orders
    visit_user, visit_ts, visit_source = visits.generate(rng, window, sessions, channel, CHANNELS)
    seen = first_seen(n, shuffled)
    np.minimum.at(seen, visit_user, visit_ts)  # a session's visit comes before its events

    user_width = col.id_width(n, 6)
    order_width = col.id_width(len(orders), 9)
    u = shuffled.user
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
        }
    )
    user_ids = col.id_strings("u", idx, user_width)
    per_user = {"platform": col.labels(PLATFORMS, platform),
                "user_type": col.labels(USER_TYPES, user_type)}
    events = pa.concat_tables([events, visits.table(
        visit_user, visit_ts, visit_source, events, CHANNELS, user_ids, per_user, PREFIX)])
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
        }
    )
    spend = spend_table(rng, PLAN, window, seen, campaign, user_type == 0)
    exposures = scenarios.exposures(planted, times[:, 0], customers["user_id"].combine_chunks())
    # after scenarios.apply's spawn: a second child stream, so the tables above do not change
    responses = surveys.generate(rng.spawn(1)[0], window, orders.user, orders.ts, segment, SEGMENTS,
                                 customers["user_id"].combine_chunks(), PREFIX)
    return {"events": events, "customers": customers, "orders": order_table, "spend": spend,
            "exposures": exposures, "responses": responses}
