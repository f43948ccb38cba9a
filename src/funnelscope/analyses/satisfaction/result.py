"""The satisfaction Result: NPS and CSAT overall, by group, by period, per survey, and the
link from each NPS category to repurchase and revenue."""

from __future__ import annotations

from typing import Any

from funnelscope.analyses.result import Result, jsonable


class SatisfactionResult(Result):
    """Tables (rates are fractions 0..1; NPS is in points, −100..100):

    * ``summary`` (one row), ``groups`` (with ``by``: column ``group``), ``periods`` (with
      ``period``: column ``period``, the week's Monday or the month's first day, YYYY-MM-DD,
      reporting time zone) and ``surveys`` (column ``survey``) share the columns:
      respondents (distinct users), nps_answers, promoters (9-10), passives (7-8),
      detractors (0-6), csat_answers, satisfied (CSAT answers of at least the satisfied
      score), mean_nps_score, mean_csat_score, nps with nps_ci_low / nps_ci_high (95%,
      trinomial normal interval), promoter_share / passive_share / detractor_share (of the
      NPS answers), csat with csat_ci_low / csat_ci_high (95% Wilson);
    * ``churn`` (with an orders table and an NPS question): per NPS category of each user's
      first NPS answer, users, censored (the horizon after the answer passes the data's end),
      observed (= users − censored), ordered_again (an order in (answer, answer + horizon]),
      repurchase_rate (ordered_again / observed) with a 95% Wilson interval, churn_rate
      (1 − repurchase_rate), orders_after, revenue_after (orders.amount in that span) and
      revenue_per_user (revenue_after / observed);
    * ``churn_test``: detractors against promoters: their repurchase rates, difference
      (detractor − promoter, rate units) with its 95% Wald interval, the pooled
      two-proportion z and its two-sided p-value, churn_difference (= −difference) and
      revenue_per_user_difference.

    ``meta``: the question names used, questions_present ({question: answers}), scales, the
    satisfied threshold, confidence, by_source, timezone, data_end and horizon (churn), or
    churn_note saying why there is no churn table.
    """

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out
