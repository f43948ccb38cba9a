"""Customer satisfaction: how satisfied are customers, who is least satisfied, is it getting
better, and do detractors really churn more?

From the canonical ``responses`` table (user_id, ts, survey, question, score): NPS (% promoters
9-10 − % detractors 0-6 of 10, with a 95% interval) and CSAT (% of answers 4-5 of 5), overall,
by a customers column or saved segment, by week or month, per survey; with an orders table,
each NPS category's repurchase rate, churn rate and revenue per user in the horizon after the
answer, and a two-proportion test of detractors against promoters. Definitions:
docs/metrics.md, "Satisfaction".
"""

from funnelscope.analyses.satisfaction.run import nps_interval, satisfaction

__all__ = ["nps_interval", "satisfaction"]
