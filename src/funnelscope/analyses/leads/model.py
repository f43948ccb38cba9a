"""The lead model: standardised logistic regression, calibrated, judged on a time holdout.

``fit`` trains ``CalibratedClassifierCV(StandardScaler → LogisticRegression, method,
cv=3, ensemble=False)`` on the training snapshots: the logistic regression is fitted once on
all training rows, and the calibrator (Platt's sigmoid by default, or isotonic) is fitted on
its 3-fold out-of-fold decision values. With ``ensemble=False`` the probability is a
monotone function of the one linear score ``Σ coef_j · z_j`` (z = standardised feature), so
a lead's **reasons** are exactly the terms of that sum: the three largest
``coef_j × z_j`` (contributions, in log-odds units before calibration).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Fewest conversions (and non-conversions) among the training rows to fit a model.
MIN_CLASS_ROWS = 10
CALIBRATION_BINS = 10
CV_FOLDS = 3


def fit(x: np.ndarray, y: np.ndarray, method: str) -> Any:
    """The calibrated classifier fitted on (x, y)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return CalibratedClassifierCV(base, method=method, cv=CV_FOLDS, ensemble=False).fit(x, y)


def linear_part(model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(means, scales, coefficients, intercept) of the fitted standardised regression."""
    pipe = model.calibrated_classifiers_[0].estimator
    scaler, reg = pipe[0], pipe[-1]
    return scaler.mean_, scaler.scale_, reg.coef_[0], float(reg.intercept_[0])


def contributions(model: Any, x: np.ndarray) -> np.ndarray:
    """coef_j × z_j for every row and feature (z = (x − mean) / scale, as StandardScaler)."""
    mean, scale, coef, _ = linear_part(model)
    return (x - mean) / scale * coef


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """sklearn's ROC AUC; None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < int(y.sum()) < len(y) else None


def brier(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import brier_score_loss

    return float(brier_score_loss(y, p)) if len(y) else None


def calibration_table(y: np.ndarray, p: np.ndarray, order_key: np.ndarray) -> list[dict]:
    """Deciles of the predicted probability: the rows sorted by (p, order_key) and cut into
    10 groups of equal size (sizes differ by at most one); per decile the rows, the mean
    predicted probability, the observed conversion rate and its conversions, the lowest and
    highest prediction."""
    if not len(y):
        return []
    order = np.lexsort((order_key, p))
    rows = []
    for i, part in enumerate(np.array_split(order, min(CALIBRATION_BINS, len(order))), start=1):
        rows.append({"decile": i, "leads": len(part), "mean_predicted": float(p[part].mean()),
                     "observed_rate": float(y[part].mean()), "conversions": int(y[part].sum()),
                     "min_predicted": float(p[part].min()), "max_predicted": float(p[part].max())})
    return rows


def coefficient_table(model: Any, names: list[str]) -> list[dict]:
    """Per feature: its coefficient per standard deviation (log-odds), the odds ratio per
    standard deviation, the training mean and standard deviation; largest |coefficient|
    first (ties: feature order)."""
    mean, scale, coef, _ = linear_part(model)
    rows = [{"feature": n, "coefficient": float(c), "odds_ratio_per_sd": float(np.exp(c)),
             "mean": float(m), "sd": float(s)} for n, c, m, s in zip(names, coef, mean, scale,
                                                                     strict=True)]
    order = sorted(range(len(rows)), key=lambda i: (-abs(rows[i]["coefficient"]), i))
    return [rows[i] for i in order]
