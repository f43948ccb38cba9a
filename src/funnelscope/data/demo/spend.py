"""Campaigns, which campaign brought each customer, and the daily spend that paid for them.

Spend is driven by acquisitions: on each day, campaign c costs
``cost_per_new_customer[c] * (new customers first seen that day through c) * noise`` with
mean-one lognormal noise (sigma ``NOISE_SIGMA``), rounded to the fen (0.01 CNY). So realised
CAC per campaign and channel converges on ``cost_per_new_customer``.

Ad traffic (the optional ``impressions`` and ``clicks`` columns) follows the same
acquisitions: on each day, campaign c shows ``impressions ~ Poisson(clicks_per_new_customer
/ ctr * new customers)`` and gets ``clicks ~ Binomial(impressions, ctr)``, with the
per-channel ``(ctr, clicks_per_new_customer)`` of :data:`AD_TRAFFIC` (festival campaigns:
:data:`FESTIVAL_TRAFFIC`). So realised CTR converges on ``ctr`` and clicks per new customer on
``clicks_per_new_customer``. They are drawn from a random stream of their own
(:func:`traffic_stream`), so the cost column and every other table are exactly what they were
without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo.sampling import conditional_categorical, mean_one_noise
from funnelscope.data.demo.window import DAY_US, PROMOTIONS, Window

NOISE_SIGMA = 0.2
#: channel -> (click-through rate = clicks / impressions, clicks per new customer)
AD_TRAFFIC: dict[str, tuple[float, float]] = {
    "search": (0.035, 8.0),
    "wechat_qr": (0.08, 4.0),
    "share": (0.06, 5.0),
    "ads": (0.012, 30.0),
    "organic": (0.02, 15.0),
}
#: (ctr, clicks per new customer) of the festival campaigns (busier feeds, more clicks)
FESTIVAL_TRAFFIC = (0.018, 25.0)
#: the spawn key of the ad traffic's own stream (visits.py uses 101; rng.spawn uses 0, 1, ...)
TRAFFIC_STREAM = 102


def traffic_stream(rng: np.random.Generator) -> np.random.Generator:
    """A random stream of its own, derived from ``rng``'s seed without consuming from it (so
    the draws of ``rng`` and its later ``spawn`` children are unchanged)."""
    seq = rng.bit_generator.seed_seq
    child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, TRAFFIC_STREAM))
    return np.random.default_rng(child)


@dataclass(frozen=True)
class Campaign:
    """A campaign: its channel, share of that channel's customers, and cost per new customer (CNY)."""

    name: str
    channel: str
    share: float
    cost_per_new_customer: float


@dataclass(frozen=True)
class CampaignPlan:
    """Regular campaigns per channel, plus an optional festival campaign on ``promo_channel``.

    On festival days (``window.PROMOTIONS``) the promo channel's volume is multiplied by
    ``promo_boost`` and a share ``promo_share`` of its customers come through the festival
    campaign (named after the festival), at ``promo_cost`` per new customer.
    """

    channels: tuple[str, ...]
    campaigns: tuple[Campaign, ...]
    promo_channel: str | None = None
    promo_boost: float = 1.0
    promo_share: float = 0.0
    promo_cost: float = 0.0

    @property
    def names(self) -> tuple[str, ...]:
        """Campaign vocabulary: regular campaigns, then every festival name when promos are on."""
        promo = tuple(p[0] for p in PROMOTIONS) if self.promo_channel else ()
        return tuple(c.name for c in self.campaigns) + promo

    def campaign_channels(self) -> np.ndarray:
        """Channel code of each campaign in ``names``."""
        regular = [self.channels.index(c.channel) for c in self.campaigns]
        promo = [self.channels.index(self.promo_channel)] * len(PROMOTIONS) if self.promo_channel else []
        return np.array(regular + promo, dtype=np.int64)

    def costs(self) -> np.ndarray:
        """Cost per new customer of each campaign in ``names`` (CNY)."""
        regular = [c.cost_per_new_customer for c in self.campaigns]
        promo = [self.promo_cost] * len(PROMOTIONS) if self.promo_channel else []
        return np.array(regular + promo, dtype=np.float64)

    def volume(self, channel_share: dict[str, float], day_weight: np.ndarray, window: Window) -> np.ndarray:
        """Relative arrivals per (channel, day): share x day weight x festival boost."""
        vol = np.array([channel_share[c] for c in self.channels])[:, None] * day_weight[None, :]
        if self.promo_channel:
            festival = window.promotion_of_day() >= 0
            vol[self.channels.index(self.promo_channel), festival] *= self.promo_boost
        return vol

    def assign(self, rng: np.random.Generator, channel: np.ndarray, day: np.ndarray, window: Window) -> np.ndarray:
        """Campaign code (into ``names``) for customers of ``channel`` arriving on window ``day``."""
        n_regular = len(self.campaigns)
        table = np.zeros((len(self.channels), n_regular))
        for i, c in enumerate(self.campaigns):
            table[self.channels.index(c.channel), i] = c.share
        code = conditional_categorical(rng, table, channel).astype(np.int64)
        if self.promo_channel:
            festival = window.promotion_of_day()[day]
            swap = (
                (channel == self.channels.index(self.promo_channel))
                & (festival >= 0)
                & (rng.random(len(channel)) < self.promo_share)
            )
            code[swap] = n_regular + festival[swap]
        return code

    def traffic(self) -> np.ndarray:
        """(ctr, clicks per new customer) of each campaign in ``names``: shape (campaigns, 2)."""
        regular = [AD_TRAFFIC[c.channel] for c in self.campaigns]
        promo = [FESTIVAL_TRAFFIC] * len(PROMOTIONS) if self.promo_channel else []
        return np.array(regular + promo, dtype=np.float64)

    def to_dict(self) -> dict:
        """JSON-ready campaign list with costs per new customer and ad traffic parameters."""
        out = {
            "cost_formula": "cost(day, campaign) = cost_per_new_customer * new customers first seen "
            f"that day via the campaign * lognormal noise (mean 1, sigma {NOISE_SIGMA}), "
            "rounded to 0.01 CNY",
            "campaigns": {
                c.name: {"channel": c.channel, "share_of_channel": c.share,
                         "cost_per_new_customer": c.cost_per_new_customer,
                         "ctr": AD_TRAFFIC[c.channel][0],
                         "clicks_per_new_customer": AD_TRAFFIC[c.channel][1]}
                for c in self.campaigns
            },
            "traffic_formula": "impressions(day, campaign) ~ Poisson(clicks_per_new_customer / "
            "ctr * new customers first seen that day via the campaign); clicks ~ "
            "Binomial(impressions, ctr)",
        }
        if self.promo_channel:
            out["festivals"] = {
                "channel": self.promo_channel,
                "volume_boost": self.promo_boost,
                "share_of_channel_on_festival_days": self.promo_share,
                "cost_per_new_customer": self.promo_cost,
                "ctr": FESTIVAL_TRAFFIC[0],
                "clicks_per_new_customer": FESTIVAL_TRAFFIC[1],
                "calendar": {name: f"{m:02d}-{a:02d}..{m:02d}-{b:02d}" for name, m, a, b in PROMOTIONS},
            }
        return out


def spend_table(
    rng: np.random.Generator,
    plan: CampaignPlan,
    window: Window,
    first_seen: np.ndarray,
    campaign: np.ndarray,
    counted: np.ndarray,
) -> pa.Table:
    """Daily spend rows (date, channel, campaign, cost, impressions, clicks) for every day and
    active campaign.

    ``counted`` marks the customers the spend acquired (new ones); each is attributed to the UTC
    day of its ``first_seen``. Regular campaigns have a row every day (cost 0.00 on a day without
    acquisitions); a festival campaign only on its festival days. Impressions and clicks come
    from :func:`traffic_stream` (``rng`` itself draws only the cost noise, as before).
    """
    n_campaigns = len(plan.names)
    day = (first_seen - window.start_us) // DAY_US
    ok = counted & (day >= 0) & (day < window.days)
    new = np.bincount(
        day[ok] * n_campaigns + campaign[ok], minlength=window.days * n_campaigns
    ).reshape(window.days, n_campaigns)
    active = np.ones((window.days, n_campaigns), dtype=bool)
    if plan.promo_channel:
        festival = window.promotion_of_day()
        n_regular = len(plan.campaigns)
        for i in range(len(PROMOTIONS)):
            active[:, n_regular + i] = festival == i
    d, c = np.nonzero(active)
    noise = mean_one_noise(rng, NOISE_SIGMA, len(d))
    cost = np.round(plan.costs()[c] * new[d, c] * noise, 2)
    ctr, clicks_per_new = plan.traffic()[c].T
    aux = traffic_stream(rng)
    impressions = aux.poisson(clicks_per_new / ctr * new[d, c])
    clicks = aux.binomial(impressions, ctr)
    epoch_day = window.start_us // DAY_US + d
    return pa.table(
        {
            "date": col.dates(epoch_day),
            "channel": col.labels(plan.channels, plan.campaign_channels()[c]),
            "campaign": col.labels(plan.names, c),
            "cost": col.numbers(cost),
            "impressions": col.numbers(impressions),
            "clicks": col.numbers(clicks),
        }
    )
