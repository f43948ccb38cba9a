"""The B2B demo: a sales pipeline of deals moving through eight stages over a year.

Tables: deals (one row per stage entry), customers (one row per account), spend.
Each time a deal enters a stage before ``paying`` it draws one outcome:

* advance -> the next stage; skip -> two stages ahead (e.g. contacted -> signed);
* regress -> the previous stage again (at most once per deal; afterwards that chance is lost);
* stall -> no further movement, the deal stays "open" in that stage;
* lost -> no further rows, the deal is "lost".

The outcome happens after the stage's duration. Reaching ``paying`` means "won"; a won deal
goes on to ``active`` with probability ``ACTIVE_AFTER_PAYING``. Owners differ in skill: their
advance and skip chances are multiplied by the owner's factor. Rows and outcomes after the
as-of time (``start + days``) are not in the data, so recent deals are "open".
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo.people import CHANNELS, CITIES, CITY_SHARE
from funnelscope.data.demo.sampling import DAY, Delay, categorical
from funnelscope.data.demo.spend import Campaign, CampaignPlan, spend_table
from funnelscope.data.demo.window import DAY_US, OFFICE_HOURS, Window, arrival_times, day_weights
from funnelscope.data.schema import DEFAULT_STAGES

STAGES = DEFAULT_STAGES  # target, potential, contacted, intent, signed, installed, paying, active
PAYING = STAGES.index("paying")
ACTIVE = STAGES.index("active")
OUTCOMES = ("advance", "skip", "regress", "stall", "lost")
# stage: (advance, skip, regress, stall) before the owner factor; lost takes the rest
BASE_OUTCOMES = {
    "target": (0.50, 0.03, 0.00, 0.03),
    "potential": (0.55, 0.04, 0.00, 0.04),
    "contacted": (0.55, 0.05, 0.04, 0.05),
    "intent": (0.60, 0.03, 0.05, 0.05),
    "signed": (0.82, 0.05, 0.03, 0.03),
    "installed": (0.88, 0.00, 0.02, 0.03),
}
MAX_MOVING = 0.99  # advance + skip + regress + stall never exceed this (lost >= 0.01)
ACTIVE_AFTER_PAYING = 0.80
OWNERS = (  # name, team, skill factor on advance and skip
    ("li.wei", "north", 1.20),
    ("zhang.min", "north", 1.00),
    ("wang.fang", "north", 0.85),
    ("chen.jie", "east", 1.10),
    ("liu.yang", "east", 0.95),
    ("zhao.lei", "south", 1.05),
    ("huang.na", "south", 0.90),
    ("zhou.tao", "south", 0.80),
)
STAGE_DAYS = {  # median days spent in a stage before its outcome
    "target": 4, "potential": 6, "contacted": 9, "intent": 12,
    "signed": 7, "installed": 10, "paying": 25,
}
STAGE_TIME = {s: Delay(d * DAY, 0.6, 0.5 * DAY, 60 * DAY) for s, d in STAGE_DAYS.items()}
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = {"smb": 0.55, "mid_market": 0.33, "enterprise": 0.12}
EMPLOYEES = {"smb": (10, 99), "mid_market": (100, 999), "enterprise": (1000, 20000)}
PRODUCTS = ("analytics", "crm", "ads_platform")
PRODUCT_SHARE = {"analytics": 0.5, "crm": 0.3, "ads_platform": 0.2}
AMOUNT_MEDIAN = {"smb": 36_000.0, "mid_market": 180_000.0, "enterprise": 900_000.0}
PRODUCT_FACTOR = {"analytics": 1.0, "crm": 0.8, "ads_platform": 1.3}
AMOUNT_SIGMA = 0.5
INDUSTRIES = ("retail", "manufacturing", "finance", "education", "healthcare", "internet")
CHANNEL_SHARE = {"search": 0.30, "wechat_qr": 0.10, "share": 0.20, "ads": 0.25, "organic": 0.15}
CLOSED = ("won", "lost", "open")
DEALS_PER_USER = 0.1
DEALS_PER_ACCOUNT = 1.4
HISTORY_DAYS = 365
WEEKEND_FACTOR = 0.15
GROWTH = 0.6

PLAN = CampaignPlan(
    channels=CHANNELS,
    campaigns=(
        Campaign("百度搜索竞价", "search", 1.0, 2500.0),
        Campaign("展会扫码", "wechat_qr", 1.0, 1800.0),
        Campaign("客户转介绍", "share", 1.0, 1200.0),
        Campaign("行业媒体广告", "ads", 0.6, 4000.0),
        Campaign("线上研讨会", "ads", 0.4, 3000.0),
        Campaign("官网内容", "organic", 1.0, 300.0),
    ),
)


def outcome_table() -> np.ndarray:
    """P(outcome) as array [owner, stage (0..installed), regressed (0/1), outcome]."""
    n_moving = len(BASE_OUTCOMES)
    table = np.zeros((len(OWNERS), n_moving, 2, len(OUTCOMES)))
    for o, (_, _, skill) in enumerate(OWNERS):
        for s, stage in enumerate(STAGES[:n_moving]):
            advance, skip, regress, stall = BASE_OUTCOMES[stage]
            advance, skip = advance * skill, skip * skill
            room = MAX_MOVING - regress - stall
            if advance + skip > room:
                advance, skip = advance * room / (advance + skip), skip * room / (advance + skip)
            for r in (0, 1):
                reg = regress if r == 0 else 0.0
                lost = 1.0 - advance - skip - reg - stall
                table[o, s, r] = (advance, skip, reg, stall, lost)
    return table


def win_rates(table: np.ndarray) -> np.ndarray:
    """Eventual P(reach paying) from ``target`` per owner (no as-of cut-off), exactly."""
    n_moving = table.shape[1]
    out = np.zeros(len(OWNERS))
    for o in range(len(OWNERS)):
        win = np.ones((PAYING + 2, 2))  # rows >= PAYING are won
        for r in (1, 0):
            for s in range(n_moving - 1, -1, -1):
                adv, skip, reg, _, _ = table[o, s, r]
                back = win[s - 1, 1] if s > 0 else 0.0
                win[s, r] = adv * win[s + 1, r] + skip * win[s + 2, r] + reg * back
        out[o] = win[0, 0]
    return out


def ground_truth() -> dict:
    """The generating parameters of the B2B demo (see docs/demo-data.md)."""
    table = outcome_table()
    wins = win_rates(table)
    return {
        "dataset": "b2b",
        "entity": "deal",
        "stages": list(STAGES),
        "won_means": "the deal reached 'paying' (or later) by the as-of time start + days",
        "history": f"deals are created over max(days, {HISTORY_DAYS}) days ending at start + days",
        "deal_count": f"users * {DEALS_PER_USER} (at least 1); accounts = deals / {DEALS_PER_ACCOUNT}",
        "outcomes": {
            "advance": "next stage",
            "skip": "two stages ahead",
            "regress": "the previous stage again (once per deal at most)",
            "stall": "no further rows; stays open",
            "lost": "no further rows; closed 'lost' once the stage duration has passed",
        },
        "transitions": {
            name: {
                stage: {k: round(float(v), 12) for k, v in zip(OUTCOMES, table[o, s, 0], strict=True)}
                for s, stage in enumerate(STAGES[:PAYING])
            }
            for o, (name, _, _) in enumerate(OWNERS)
        },
        "after_regression": "the regress probability is added to lost (a deal regresses at most once)",
        "active_after_paying": ACTIVE_AFTER_PAYING,
        "owners": {name: {"team": team, "skill": skill} for name, team, skill in OWNERS},
        "expected_win_rate_by_owner": {
            name: round(float(w), 12) for (name, _, _), w in zip(OWNERS, wins, strict=True)
        },
        "stage_duration": {s: d.to_dict() for s, d in STAGE_TIME.items()},
        "stage_duration_meaning": "time from entering a stage to its outcome (next row, loss, or "
        "for paying the move to active)",
        "amount": {
            "distribution": "lognormal, rounded to whole CNY, at least 1000; same on every row of a deal",
            "median_by_segment": AMOUNT_MEDIAN,
            "product_factor": PRODUCT_FACTOR,
            "sigma": AMOUNT_SIGMA,
            "currency": "CNY",
        },
        "mix": {
            "segment": SEGMENT_SHARE,
            "product": PRODUCT_SHARE,
            "channel": CHANNEL_SHARE,
            "owner": "uniform",
            "city": dict(zip(CITIES, CITY_SHARE, strict=True)),
            "weekend_factor": WEEKEND_FACTOR,
            "growth_over_history": GROWTH,
        },
        "spend": PLAN.to_dict(),
    }


def _pipeline(rng, owner, created, end_us):
    """Walk every deal through the stages; return rows (deal, stage, ts), won/lost flags."""
    table = outcome_table()
    n = len(owner)
    cdf = np.cumsum(table, axis=-1)
    cdf[..., -1] = 1.0
    stage = np.zeros(n, dtype=np.int64)
    regressed = np.zeros(n, dtype=np.int64)
    now = created.copy()
    rows_deal, rows_stage, rows_ts = [np.arange(n)], [stage.copy()], [created.copy()]
    won = np.zeros(n, dtype=bool)
    lost = np.zeros(n, dtype=bool)
    moving = np.arange(n)
    durations = [STAGE_TIME[s] for s in STAGES[:ACTIVE]]
    for _ in range(4 * len(STAGES)):  # every round moves each deal; at most one regression
        if len(moving) == 0:
            break
        s = stage[moving]
        wait = np.empty(len(moving), dtype=np.int64)
        for k, delay in enumerate(durations):
            here = np.flatnonzero(s == k)
            wait[here] = delay.draw(rng, len(here))
        at = now[moving] + wait
        u = rng.random(len(moving))
        outcome = np.full(len(moving), OUTCOMES.index("stall"))
        early = s < PAYING
        c = cdf[owner[moving[early]], s[early], regressed[moving[early]]]
        outcome[early] = (u[early, None] >= c).sum(axis=1)
        to_active = ~early & (u < ACTIVE_AFTER_PAYING)
        target = np.select(
            [outcome == 0, outcome == 1, outcome == 2], [s + 1, s + 2, s - 1], default=-1
        )
        target[to_active] = ACTIVE
        lost[moving[(outcome == OUTCOMES.index("lost")) & early & (at < end_us)]] = True
        go = (target >= 0) & (at < end_us)
        d = moving[go]
        stage[d] = target[go]
        now[d] = at[go]
        regressed[d] |= (outcome[go] == OUTCOMES.index("regress")).astype(np.int64)
        won[d[stage[d] >= PAYING]] = True
        rows_deal.append(d)
        rows_stage.append(stage[d].copy())
        rows_ts.append(at[go])
        moving = d[stage[d] < ACTIVE]
    return np.concatenate(rows_deal), np.concatenate(rows_stage), np.concatenate(rows_ts), won, lost


def generate(rng: np.random.Generator, window: Window, users: int) -> dict[str, pa.Table]:
    """Draw the B2B tables: ``users // 10`` deals over the year ending at ``window`` end."""
    n_deals = max(1, int(users * DEALS_PER_USER))
    n_acc = max(1, int(round(n_deals / DEALS_PER_ACCOUNT)))
    history_days = max(window.days, HISTORY_DAYS)
    history = Window(start_us=window.end_us - history_days * DAY_US, days=history_days)

    acc_segment = categorical(rng, [SEGMENT_SHARE[s] for s in SEGMENTS], n_acc)
    acc_channel = categorical(rng, [CHANNEL_SHARE[c] for c in CHANNELS], n_acc)
    acc_city = categorical(rng, CITY_SHARE, n_acc)
    acc_industry = categorical(rng, [1.0] * len(INDUSTRIES), n_acc)
    lo = np.array([EMPLOYEES[s][0] for s in SEGMENTS])[acc_segment]
    hi = np.array([EMPLOYEES[s][1] for s in SEGMENTS])[acc_segment]
    employees = np.floor(np.exp(np.log(lo) + rng.random(n_acc) * (np.log(hi + 1) - np.log(lo))))

    account = np.concatenate(
        [np.arange(n_acc), rng.integers(0, n_acc, max(n_deals - n_acc, 0))]
    )[:n_deals]
    day = categorical(rng, day_weights(history, WEEKEND_FACTOR, GROWTH), n_deals).astype(np.int64)
    created = arrival_times(rng, history, day, OFFICE_HOURS)
    owner = categorical(rng, [1.0] * len(OWNERS), n_deals).astype(np.int64)
    product = categorical(rng, [PRODUCT_SHARE[p] for p in PRODUCTS], n_deals)
    segment = acc_segment[account]
    median = np.array([AMOUNT_MEDIAN[s] for s in SEGMENTS])[segment] * np.array(
        [PRODUCT_FACTOR[p] for p in PRODUCTS]
    )[product]
    amount = np.maximum(np.round(median * np.exp(AMOUNT_SIGMA * rng.standard_normal(n_deals))), 1000.0)

    deal, stage, ts, won, lost = _pipeline(rng, owner, created, history.end_us)
    closed = np.where(won, 0, np.where(lost, 1, 2))

    acc_first = np.full(n_acc, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(acc_first, account, created)
    acc_day = (acc_first - history.start_us) // DAY_US
    acc_campaign = PLAN.assign(rng, acc_channel, acc_day, history)

    deal_width = col.id_width(n_deals, 6)
    acc_width = col.id_width(n_acc, 5)
    teams = ("north", "east", "south")
    team_of_owner = np.array([teams.index(o[1]) for o in OWNERS])
    deals = pa.table(
        {
            "deal_id": col.id_strings("d", deal, deal_width),
            "stage": col.labels(STAGES, stage),
            "stage_entered_at": col.timestamps(ts),
            "amount": col.numbers(amount[deal]),
            "owner": col.labels(tuple(o[0] for o in OWNERS), owner[deal]),
            "team": col.labels(teams, team_of_owner[owner[deal]]),
            "product": col.labels(PRODUCTS, product[deal]),
            "segment": col.labels(SEGMENTS, segment[deal]),
            "closed": col.labels(CLOSED, closed[deal]),
            "account_id": col.id_strings("a", account[deal], acc_width),
        }
    )
    acc_idx = np.arange(n_acc)
    customers = pa.table(
        {
            "user_id": col.id_strings("a", acc_idx, acc_width),
            "first_seen": col.timestamps(acc_first),
            "channel": col.labels(CHANNELS, acc_channel),
            "segment": col.labels(SEGMENTS, acc_segment),
            "city": col.labels(CITIES, acc_city),
            "account_id": col.id_strings("a", acc_idx, acc_width),
            "industry": col.labels(INDUSTRIES, acc_industry),
            "employees": pa.array(employees.astype(np.int32)),
            "campaign": col.labels(PLAN.names, acc_campaign),
        }
    )
    spend = spend_table(rng, PLAN, history, acc_first, acc_campaign, np.ones(n_acc, dtype=bool))
    return {"deals": deals, "customers": customers, "spend": spend}
