"""The lead-scoring Result: leads ranked by their calibrated probability, the model's holdout
quality, its coefficients, the rules and tags, and the score distribution."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from funnelscope.analyses.result import Result, jsonable

CALIBRATION_COLUMNS = ["decile", "leads", "mean_predicted", "observed_rate", "conversions",
                       "min_predicted", "max_predicted"]
COEFFICIENT_COLUMNS = ["feature", "coefficient", "odds_ratio_per_sd", "mean", "sd"]
RULE_COLUMNS = ["rule", "kind", "condition", "points", "leads_matched", "description"]
DISTRIBUTION_COLUMNS = ["score_from", "score_to", "leads"]


@dataclass
class LeadsResult(Result):
    """Tables:

    * ``leads`` (best first, at most ``top``): rank, user_id (account_id), score (calibrated
      probability 0..1 of doing the target within the horizon after the data's end),
      rule_score (sum of the matched rules' points), matched_rules, tags (matched rule names,
      then cart_abandoner / returning / dormant), reasons (the 3 largest contributions
      coef × standardised value: feature, value, contribution in log-odds, text);
    * ``calibration``: holdout deciles of the prediction: leads, mean_predicted,
      observed_rate, conversions, min/max_predicted;
    * ``coefficients``: per feature the coefficient per standard deviation (log-odds),
      odds_ratio_per_sd, training mean and sd; largest |coefficient| first;
    * ``rules``: each rule (then each behaviour tag): kind, condition, points, leads_matched
      (of all current leads);
    * ``distribution``: current leads per score bin [score_from, score_to).

    ``model``: auc_holdout (sklearn ROC AUC on the time holdout; None with one class), brier,
    n_train, train_conversions, n_holdout, holdout_conversions, holdout_conversion_rate,
    intercept, calibration_method, features. ``meta``: the cut-offs (ISO, reporting time
    zone), leads_total, the counted events and funnel steps.
    """

    model: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model = dict(self.model)
        model["calibration"] = jsonable(self.tables["calibration"])
        model["coefficients"] = jsonable(self.tables["coefficients"])
        return {"leads": jsonable(self.tables["leads"]), "model": jsonable(model),
                "rules": jsonable(self.tables["rules"]),
                "distribution": jsonable(self.tables["distribution"]),
                "spec": jsonable(self.spec.to_dict()), "meta": jsonable(self.meta)}
