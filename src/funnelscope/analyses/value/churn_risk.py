"""Churn risk: gradient boosting on features as of a cut-off, validated on a later cut-off.

Procedure (:func:`churn_risk`):

1. **Train**: features as of ``train_cutoff`` (see :mod:`churn_features`), labels from the
   window (train_cutoff, train_cutoff + window_days].
2. **Validate** on later, unseen time: features as of ``validation_cutoff`` (which must be at
   least ``window_days`` after ``train_cutoff``, so no training label overlaps the validation
   features), labels from (validation_cutoff, validation_cutoff + window_days]. Reported:
   ROC AUC, precision in the top decile of risk (churn rate among the 10% highest scores),
   the base churn rate, lift = precision / base rate, and a calibration table (10 equal-count
   bins of predicted probability: mean predicted vs observed churn rate).
3. **Score**: the same model settings refitted on the validation-cutoff data (the most recent
   fully labelled window) score every customer as of ``score_date`` (default: the last order
   day). The at-risk list ranks them by ``churn_probability``.

Model: scikit-learn ``GradientBoostingClassifier`` (log-loss, 100 trees of depth 3, learning
rate 0.1, 80% row subsampling, fixed ``random_state``).

**Why each customer is at risk** - per-customer feature contributions by the tree-path
decomposition of Saabas (as in the ``treeinterpreter`` and ``eli5`` packages): in every tree,
a node's value is the training-sample-weighted mean of the leaf values below it; following the
customer's path from root to leaf, each split's change in node value is credited to the
split's feature. Summed over trees (times the learning rate) and added to the baseline
(prior log-odds + the trees' root values), the contributions reproduce the model's log-odds
for that customer exactly. Positive contributions push towards churn. The method is
deterministic and cheap; its known bias (features split near the leaves get more credit than
Shapley values would give them) is acceptable for ranking the top reasons, and the global
``feature_importance`` table (mean absolute contribution on the validation set) shows what
drives the model overall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.value._inputs import as_pandas, as_timestamp
from funnelscope.analyses.value._result import TableResult
from funnelscope.analyses.value.churn_features import churn_features, churn_labels, order_days
from funnelscope.errors import ConfigError, InputError

ExtraFeatures = Callable[[pd.Timestamp], pd.DataFrame] | None


class ChurnRiskModel:
    """Gradient-boosted churn classifier with per-customer feature contributions.

    Fitted attributes: ``features_`` (column order), ``classifier_`` (the scikit-learn model),
    ``base_rate_`` (churn rate in the training data).
    """

    def __init__(self, *, n_estimators: int = 100, max_depth: int = 3,
                 learning_rate: float = 0.1, subsample: float = 0.8,
                 random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.random_state = random_state

    def fit(self, features: pd.DataFrame, churned: pd.Series) -> ChurnRiskModel:
        """Fit on a numeric feature table and a boolean ``churned`` label per customer."""
        from sklearn.ensemble import GradientBoostingClassifier

        x = _matrix(features)
        y = np.asarray(churned.reindex(features.index) if isinstance(churned, pd.Series)
                       else churned, dtype=bool)
        if len(np.unique(y)) < 2:
            raise InputError(
                f"Every training customer is labelled {'churned' if y.all() else 'retained'}; "
                "the model needs both kinds.",
                hint="Choose another cut-off, a longer window or another churn definition.")
        self.classifier_ = GradientBoostingClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            learning_rate=self.learning_rate, subsample=self.subsample,
            random_state=self.random_state).fit(x, y)
        self.features_ = list(features.columns)
        self.base_rate_ = float(y.mean())
        return self

    def _check(self, features: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "classifier_"):
            raise ConfigError("This ChurnRiskModel is not fitted yet.",
                              hint="Call .fit(features, churned) first.")
        missing = [c for c in self.features_ if c not in features.columns]
        if missing:
            raise InputError(f"The feature table lacks {', '.join(missing)}, used in training.")
        return _matrix(features[self.features_])

    def churn_probability(self, features: pd.DataFrame) -> pd.Series:
        """Predicted probability of churn per customer (0-1)."""
        x = self._check(features)
        return pd.Series(self.classifier_.predict_proba(x)[:, 1], index=features.index,
                         name="churn_probability")

    def feature_contributions(self, features: pd.DataFrame) -> tuple[pd.DataFrame, float]:
        """Per-customer log-odds contribution of each feature, and the shared baseline.

        ``baseline + contributions.sum(axis=1)`` equals the model's log-odds of churn.
        """
        x = self._check(features)
        clf = self.classifier_
        prior = clf.init_.class_prior_[1]
        baseline = float(np.log(prior / (1 - prior)))
        total = np.zeros((len(x), len(self.features_)))
        for tree_model in clf.estimators_[:, 0]:
            tree = tree_model.tree_
            node_value = _node_means(tree)
            baseline += clf.learning_rate * node_value[0]
            parent = np.full(tree.node_count, -1)
            for side in (tree.children_left, tree.children_right):
                kids = np.flatnonzero(side >= 0)
                parent[side[kids]] = kids
            child = np.flatnonzero(parent >= 0)
            credit = np.zeros((tree.node_count, len(self.features_)))
            credit[child, tree.feature[parent[child]]] = (node_value[child]
                                                          - node_value[parent[child]])
            paths = tree_model.decision_path(x.astype(np.float32))
            total += clf.learning_rate * (paths @ credit)
        return pd.DataFrame(total, index=features.index, columns=self.features_), baseline


def _node_means(tree: Any) -> np.ndarray:
    """Value of every node = training-weight mean of its leaves' values (bottom-up)."""
    value = tree.value[:, 0, 0].astype(float).copy()
    weight = tree.weighted_n_node_samples.astype(float)
    for node in range(tree.node_count - 1, -1, -1):
        left, right = tree.children_left[node], tree.children_right[node]
        if left >= 0:
            w = weight[left] + weight[right]
            value[node] = (weight[left] * value[left] + weight[right] * value[right]) / w
    return value


def _matrix(features: pd.DataFrame) -> np.ndarray:
    if not isinstance(features, pd.DataFrame) or features.shape[1] == 0:
        raise InputError("features must be a DataFrame with at least one feature column.")
    non_numeric = [c for c in features.columns
                   if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise InputError(f"Feature(s) {', '.join(map(str, non_numeric))} are not numeric.",
                         hint="Encode categories as numbers before modelling churn.",
                         column=str(non_numeric[0]))
    x = features.to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(f"Feature {features.columns[col]!r} is missing or not finite for "
                         f"customer {features.index[row]!r}.", column=str(features.columns[col]))
    return x


def evaluate_churn_model(model: ChurnRiskModel, features: pd.DataFrame,
                         churned: pd.Series) -> tuple[dict[str, float], pd.DataFrame]:
    """AUC, top-decile precision, base rate, lift, and a 10-bin calibration table."""
    from sklearn.metrics import roc_auc_score

    y = churned.reindex(features.index).to_numpy(dtype=bool)
    p = model.churn_probability(features).to_numpy()
    n = len(y)
    top = np.argsort(-p, kind="stable")[: max(1, int(np.ceil(n / 10)))]
    base = float(y.mean())
    metrics = {
        "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < n else float("nan"),
        "precision_at_top_decile": float(y[top].mean()),
        "base_rate": base,
        "lift_at_top_decile": float(y[top].mean() / base) if base > 0 else float("nan"),
        "customers": float(n),
    }
    bins = pd.qcut(pd.Series(p).rank(method="first"), q=min(10, n), labels=False)
    frame = pd.DataFrame({"bin": bins.to_numpy() + 1, "p": p, "y": y})
    g = frame.groupby("bin")
    calibration = pd.DataFrame({"customers": g.size(), "mean_predicted": g["p"].mean(),
                                "observed_churn_rate": g["y"].mean(),
                                "min_predicted": g["p"].min(), "max_predicted": g["p"].max()})
    return metrics, calibration.reset_index()


@dataclass(frozen=True)
class ChurnRiskResult(TableResult):
    """At-risk list, validation metrics and calibration, contributions and importance."""

    at_risk: pd.DataFrame
    reasons: pd.DataFrame
    calibration: pd.DataFrame
    feature_importance: pd.DataFrame
    metrics: dict[str, float]
    train_cutoff: pd.Timestamp
    validation_cutoff: pd.Timestamp
    score_date: pd.Timestamp
    window_days: int
    min_orders: int

    main_table = "at_risk"


def _features(days: pd.DataFrame, as_of: pd.Timestamp, active_within_days: int | None,
              extra: ExtraFeatures) -> pd.DataFrame:
    base = churn_features(days, as_of=as_of, active_within_days=active_within_days)
    if extra is None:
        return base
    more = as_pandas(extra(as_of), name="extra features")
    clash = [c for c in more.columns if c in base.columns]
    if clash:
        raise InputError(f"Extra features repeat built-in names: {', '.join(clash)}.")
    joined = base.join(more, how="left")
    missing = joined[more.columns].isna().any(axis=1)
    if missing.any():
        who = joined.index[missing.to_numpy()][0]
        raise InputError(f"Extra features have no row (or an empty value) for customer {who!r} "
                         f"as of {as_of.date()}.", hint="Fill them (e.g. with 0) for everyone.")
    return joined


def churn_risk(
    orders: Any,
    *,
    train_cutoff: Any,
    validation_cutoff: Any,
    window_days: int = 90,
    min_orders: int = 1,
    score_date: Any = None,
    data_end: Any = None,
    active_within_days: int | None = None,
    extra_features: ExtraFeatures = None,
    top_reasons: int = 3,
    random_state: int = 0,
    **columns: Any,
) -> ChurnRiskResult:
    """Train, validate on a later cut-off, and rank customers by churn risk (see module doc).

    ``data_end`` (default: last order day) is the last day the orders cover; label windows
    must end on or before it. ``extra_features`` is a function ``as_of -> DataFrame`` indexed
    by customer (e.g. activity and funnel depth as of that day) joined to the built-in ones.
    ``columns`` override order column names (customer, timestamp, amount, currency, time_zone).

    Tables: ``at_risk`` (rank, customer, churn_probability, top_reasons),
    ``reasons`` (customer, rank, feature, value, contribution; the ``top_reasons`` largest
    positive contributions per customer), ``calibration``, ``feature_importance``.
    """
    return churn_risk_from_days(
        order_days(orders, **columns), train_cutoff=train_cutoff,
        validation_cutoff=validation_cutoff, window_days=window_days, min_orders=min_orders,
        score_date=score_date, data_end=data_end, active_within_days=active_within_days,
        extra_features=extra_features, top_reasons=top_reasons, random_state=random_state)


def churn_risk_from_days(
    days: pd.DataFrame,
    *,
    train_cutoff: Any,
    validation_cutoff: Any,
    window_days: int = 90,
    min_orders: int = 1,
    score_date: Any = None,
    data_end: Any = None,
    active_within_days: int | None = None,
    extra_features: ExtraFeatures = None,
    top_reasons: int = 3,
    random_state: int = 0,
) -> ChurnRiskResult:
    """:func:`churn_risk` on orders already reduced to (customer, day, amount[, orders]) rows.

    ``days`` is the output of :func:`order_days`, or one row per customer and day with an
    ``orders`` column counting the orders the row stands for (as the workspace returns them).
    """
    train = as_timestamp(train_cutoff, argument="train_cutoff").normalize()
    valid = as_timestamp(validation_cutoff, argument="validation_cutoff").normalize()
    window = int(window_days)
    if window < 1:
        raise ConfigError(f"window_days={window_days!r} must be 1 or more.")
    if valid < train + pd.Timedelta(days=window):
        raise ConfigError(
            f"validation_cutoff {valid.date()} is less than window_days={window} after "
            f"train_cutoff {train.date()}: training labels would overlap validation features.",
            hint=f"Use a validation_cutoff on or after "
                 f"{(train + pd.Timedelta(days=window)).date()}.")
    last = days["day"].max()
    end = as_timestamp(data_end, argument="data_end").normalize() if data_end is not None else last
    if valid + pd.Timedelta(days=window) > end:
        raise InputError(
            f"The validation label window ends {(valid + pd.Timedelta(days=window)).date()}, "
            f"after the data ends ({end.date()}).",
            hint="Choose an earlier validation_cutoff or a shorter window_days "
                 "(or pass data_end if the data really covers those days).")
    score_day = (as_timestamp(score_date, argument="score_date").normalize()
                 if score_date is not None else end)

    x_train = _features(days, train, active_within_days, extra_features)
    y_train = churn_labels(days, x_train.index, as_of=train, window_days=window,
                           min_orders=min_orders)
    x_valid = _features(days, valid, active_within_days, extra_features)
    y_valid = churn_labels(days, x_valid.index, as_of=valid, window_days=window,
                           min_orders=min_orders)
    model = ChurnRiskModel(random_state=random_state).fit(x_train, y_train)
    metrics, calibration = evaluate_churn_model(model, x_valid, y_valid)
    metrics.update({"train_customers": float(len(x_train)),
                    "train_churn_rate": float(y_train.mean())})
    contrib_valid, _ = model.feature_contributions(x_valid)
    importance = (contrib_valid.abs().mean().sort_values(ascending=False)
                  .rename("mean_absolute_contribution").rename_axis("feature").reset_index())

    final = ChurnRiskModel(random_state=random_state).fit(x_valid, y_valid)
    x_now = _features(days, score_day, active_within_days, extra_features)
    prob = final.churn_probability(x_now)
    contrib, _ = final.feature_contributions(x_now)
    ranked = prob.sort_values(ascending=False, kind="stable")
    at_risk = pd.DataFrame({"rank": np.arange(1, len(ranked) + 1), "customer": ranked.index,
                            "churn_probability": ranked.to_numpy()})
    long = contrib.stack().rename("contribution").reset_index()
    long.columns = ["customer", "feature", "contribution"]
    long["value"] = x_now[final.features_].stack().to_numpy()
    long = long[long["contribution"] > 0].sort_values(["customer", "contribution"],
                                                      ascending=[True, False])
    long["rank"] = long.groupby("customer").cumcount() + 1
    reasons = long[long["rank"] <= int(top_reasons)][
        ["customer", "rank", "feature", "value", "contribution"]].reset_index(drop=True)
    phrase = reasons["feature"] + " = " + reasons["value"].map(lambda v: f"{v:g}")
    text = phrase.groupby(reasons["customer"]).agg(", ".join)
    at_risk["top_reasons"] = at_risk["customer"].map(text).fillna("")
    return ChurnRiskResult(
        at_risk=at_risk, reasons=reasons, calibration=calibration,
        feature_importance=importance, metrics=metrics, train_cutoff=train,
        validation_cutoff=valid, score_date=score_day, window_days=window,
        min_orders=int(min_orders))
