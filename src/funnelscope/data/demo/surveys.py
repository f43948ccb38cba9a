"""Post-purchase surveys of the ecommerce demo: the ``responses`` table (NPS 0-10, CSAT 1-5).

Story (docs/demo-data.md, "Satisfaction surveys"; parameters in ``ground_truth()["surveys"]``):

* a buyer (a user with an order; the first order is the funnel's ``pay``) answers the
  ``post_purchase`` survey with probability :data:`RESPONSE_RATE`, :data:`ANSWER_DELAY` after
  that first order; answers that would fall after the window's end are not given;
* one submission holds two rows at the same instant: question ``nps`` (0-10) and question
  ``csat`` (1-5);
* the NPS category (promoter 9-10, passive 7-8, detractor 0-6) is drawn from
  :data:`NPS_CATEGORY` given the buyer's segment and whether the buyer *orders again within*
  :data:`HORIZON_DAYS` *days after answering* (as the generated orders show; for an answer
  less than 30 days before the window's end, "before the window's end"). So the data has a
  true answer to "do detractors churn more?": P(detractor | no order again) is higher than
  P(detractor | ordered again) in every segment;
* the score inside the category comes from :data:`NPS_SCORES`, the CSAT score from
  :data:`CSAT_GIVEN_CATEGORY`; :data:`COMMENT_RATE` of the NPS rows carry a short comment.

Drawn from the caller's generator (the ecommerce demo passes a child stream, so the other
tables do not change); vectorised numpy, no Python object per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo.sampling import DAY, HOUR, US, Delay, categorical
from funnelscope.data.demo.sampling import conditional_categorical as draw_given
from funnelscope.data.demo.window import Window

SURVEY = "post_purchase"
NPS, CSAT = "nps", "csat"
RESPONSE_RATE = 0.35
ANSWER_DELAY = Delay(1 * DAY, 0.8, 1 * HOUR, 5 * DAY)
HORIZON_DAYS = 30
CATEGORIES = ("promoter", "passive", "detractor")
#: P(promoter, passive, detractor | orders again within HORIZON_DAYS of the answer, segment)
NPS_CATEGORY = {
    "ordered_again": {"price_sensitive": (0.45, 0.35, 0.20), "mainstream": (0.55, 0.30, 0.15),
                      "premium": (0.65, 0.25, 0.10)},
    "no_order_again": {"price_sensitive": (0.25, 0.33, 0.42), "mainstream": (0.32, 0.35, 0.33),
                       "premium": (0.40, 0.35, 0.25)},
}
#: P(score | category) on 0..10
NPS_SCORES = {
    "promoter": {9: 0.55, 10: 0.45},
    "passive": {7: 0.45, 8: 0.55},
    "detractor": {0: 0.03, 1: 0.02, 2: 0.03, 3: 0.05, 4: 0.09, 5: 0.28, 6: 0.50},
}
#: P(CSAT score | NPS category) on 1..5
CSAT_GIVEN_CATEGORY = {
    "promoter": {1: 0.01, 2: 0.02, 3: 0.07, 4: 0.35, 5: 0.55},
    "passive": {1: 0.03, 2: 0.07, 3: 0.30, 4: 0.45, 5: 0.15},
    "detractor": {1: 0.20, 2: 0.30, 3: 0.30, 4: 0.15, 5: 0.05},
}
COMMENT_RATE = 0.2
COMMENTS = {
    "promoter": ("发货很快，还会再买", "质量很好", "Great value, will order again"),
    "passive": ("还可以", "包装一般", "OK, delivery took a while"),
    "detractor": ("物流太慢", "和描述不符", "Customer service never answered"),
}


def ground_truth(segments: tuple[str, ...]) -> dict:
    """The survey parameters (JSON-ready)."""
    return {
        "survey": SURVEY,
        "questions": {NPS: [0, 10], CSAT: [1, 5]},
        "who": "buyers (users with an order), each with probability response_rate",
        "response_rate": RESPONSE_RATE,
        "answer_delay_after_first_order": ANSWER_DELAY.to_dict(),
        "answers_after_window_end": "not given",
        "horizon_days": HORIZON_DAYS,
        "ordered_again": f"an order strictly after the answer and at most {HORIZON_DAYS} days "
                         "after it (within the window)",
        "categories": {"promoter": [9, 10], "passive": [7, 8], "detractor": [0, 6]},
        "nps_category_given_ordered_again_and_segment": {
            k: {s: dict(zip(CATEGORIES, v[s], strict=True)) for s in segments}
            for k, v in NPS_CATEGORY.items()},
        "nps_score_given_category": {c: {str(k): p for k, p in v.items()}
                                     for c, v in NPS_SCORES.items()},
        "csat_given_category": {c: {str(k): p for k, p in v.items()}
                                for c, v in CSAT_GIVEN_CATEGORY.items()},
        "comment_rate": COMMENT_RATE,
    }


def orders_between(order_user: np.ndarray, order_ts: np.ndarray, who: np.ndarray,
                   after: np.ndarray, until: np.ndarray) -> np.ndarray:
    """Per query row: how many orders of user ``who[i]`` have ``after[i] < ts <= until[i]``.

    One sort of the orders and the query points together (by user, time, orders before query
    points at the same instant), then a running count of orders: the count at ``until`` minus
    the count at ``after``.
    """
    k = len(who)
    users = np.concatenate([order_user, who, who]).astype(np.int64)
    ts = np.concatenate([order_ts, after, until]).astype(np.int64)
    kind = np.concatenate([np.zeros(len(order_user), np.int8), np.ones(2 * k, np.int8)])
    perm = np.lexsort((kind, ts, users))
    running = np.cumsum(kind[perm] == 0)
    at = np.empty(len(perm), dtype=np.int64)
    at[perm] = running
    base = len(order_user)
    return at[base + k:] - at[base:base + k]


def _scores(table: dict[str, dict[int, float]], low: int, high: int) -> np.ndarray:
    """categories x scores probability matrix of a {category: {score: p}} table."""
    out = np.zeros((len(CATEGORIES), high - low + 1))
    for i, c in enumerate(CATEGORIES):
        for score, p in table[c].items():
            out[i, score - low] = p
    return out


def generate(rng: np.random.Generator, window: Window, order_user: np.ndarray,
             order_ts: np.ndarray, segment: np.ndarray, segments: tuple[str, ...],
             user_ids: pa.Array, prefix: str) -> pa.Table:
    """The ``responses`` table: response_id, user_id, ts, survey, question, score, comment.

    ``order_user`` / ``order_ts``: every order's user index and time (µs); ``segment``: each
    user's segment code into ``segments``; ``user_ids``: the user id strings by index.
    """
    n = len(segment)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, order_user, order_ts)
    buyers = np.flatnonzero(first < np.iinfo(np.int64).max)
    answers = rng.random(len(buyers)) < RESPONSE_RATE
    delay = ANSWER_DELAY.draw(rng, len(buyers))
    at = first[buyers] + delay
    keep = answers & (at < window.end_us)
    who, at = buyers[keep], at[keep]
    horizon = int(HORIZON_DAYS * DAY) * US
    again = orders_between(order_user, order_ts, who, at, at + horizon) > 0
    table = np.array([NPS_CATEGORY[k][s] for k in ("ordered_again", "no_order_again")
                      for s in segments])
    cell = np.where(again, 0, len(segments)) + segment[who].astype(np.int64)
    category = draw_given(rng, table, cell).astype(np.int64)
    nps = draw_given(rng, _scores(NPS_SCORES, 0, 10), category).astype(np.int64)
    csat = draw_given(rng, _scores(CSAT_GIVEN_CATEGORY, 1, 5), category).astype(np.int64) + 1
    commented = rng.random(len(who)) < COMMENT_RATE
    pick = categorical(rng, [1.0] * 3, len(who)).astype(np.int64)
    vocab = [c for cat in CATEGORIES for c in COMMENTS[cat]]

    order = np.argsort(at, kind="stable")
    who, at, nps, csat = who[order], at[order], nps[order], csat[order]
    category, commented, pick = category[order], commented[order], pick[order]
    k = len(who)
    rows_user = np.repeat(who, 2)
    rows_ts = np.repeat(at, 2)
    question = np.tile(np.array([0, 1], dtype=np.int64), k)
    score = np.empty(2 * k, dtype=np.float64)
    score[0::2], score[1::2] = nps, csat
    comment = np.zeros(2 * k, dtype=np.int64)
    comment[0::2] = category * 3 + pick
    has_comment = np.zeros(2 * k, dtype=bool)
    has_comment[0::2] = commented
    return pa.table({
        "response_id": col.id_strings(prefix + "r", np.arange(2 * k), col.id_width(2 * k, 7)),
        "user_id": user_ids.take(pa.array(rows_user)),
        "ts": col.timestamps(rows_ts),
        "survey": pa.repeat(pa.scalar(SURVEY, pa.string()), 2 * k),
        "question": col.labels((NPS, CSAT), question),
        "score": col.numbers(score),
        "comment": col.labels(vocab, comment, valid=has_comment),
    })
