"""Behavioural customer clusters: k-means on standardised features, k chosen by silhouette.

Input: a feature table indexed by customer (e.g. RFM measures, activity, funnel depth reached,
tenure, channel). Steps:

1. Categorical columns (text, category, bool; or those named in ``categorical``) are one-hot
   encoded. Numeric columns named in ``log_scale`` (default ``"auto"``: non-negative columns
   with skewness > 1) are transformed with log(1 + x).
2. Every encoded column is standardised to mean 0, standard deviation 1 (constant columns are
   dropped); the L one-hot columns of a categorical feature are then divided by sqrt(L), so a
   categorical feature carries the same total variance as one numeric feature.
3. k-means (scikit-learn, k-means++ init, ``n_init=10``, fixed ``random_state``) for each k in
   ``k_range``; the k with the highest mean silhouette coefficient is kept (silhouette computed
   on at most ``silhouette_sample`` customers, sampled with the same seed). Pass ``k`` to skip
   the search.
4. Clusters are numbered 0, 1, ... from largest to smallest.

Profiles: per cluster, its size and share, the mean of every numeric feature (original scale)
and the share of each category level. The plain-words description lists up to ``max_terms``
numeric features whose cluster mean (on the standardised scale k-means saw) is at least 0.5
standard deviations from the overall mean, strongest first, using the words of ``WORDS``
("recent", "frequent", "low spend", ...; "high x"/"low x" for other names), plus "mostly L"
when one level L of a categorical column covers at least 60% of the cluster and 1.5 times
its overall share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.value._inputs import as_pandas
from funnelscope.analyses.value._result import TableResult
from funnelscope.errors import ConfigError, InputError

#: feature name -> (word when high, word when low)
WORDS: dict[str, tuple[str, str]] = {
    "recency_days": ("lapsed", "recent"),
    "days_since_last_order": ("lapsed", "recent"),
    "frequency": ("frequent", "infrequent"),
    "orders": ("frequent", "infrequent"),
    "monetary": ("high spend", "low spend"),
    "revenue": ("high spend", "low spend"),
    "monetary_value": ("high spend per order", "low spend per order"),
    "average_order_value": ("high spend per order", "low spend per order"),
    "tenure_days": ("long-standing", "new"),
    "active_days": ("very active", "rarely active"),
    "events": ("very active", "rarely active"),
    "funnel_depth": ("deep in the funnel", "early in the funnel"),
}
DISTINCT = 0.5


@dataclass(frozen=True)
class ClusterResult(TableResult):
    """Cluster per customer, cluster profiles with descriptions, and silhouette by k."""

    profiles: pd.DataFrame
    assignments: pd.DataFrame
    silhouette: pd.DataFrame
    k: int
    features: list[str]

    main_table = "profiles"


def _encode(frame: pd.DataFrame, categorical: Iterable[str] | None,
            log_scale: Iterable[str] | str) -> tuple[pd.DataFrame, list[str], list[str]]:
    cats = list(categorical) if categorical is not None else [
        c for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])]
    nums = [c for c in frame.columns if c not in cats]
    for c in nums:
        if not pd.api.types.is_numeric_dtype(frame[c]):
            raise InputError(f"Feature {c!r} is not numeric; list it in categorical=... "
                             "or convert it.", column=c)
    numeric = frame[nums].astype(float)
    bad = numeric.isna() | ~np.isfinite(numeric)
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise InputError(f"Feature {nums[col]!r} is missing or not finite for customer "
                         f"{frame.index[row]!r}.", hint="Fill or drop it before clustering.",
                         column=nums[col])
    if isinstance(log_scale, str):
        if log_scale != "auto":
            raise ConfigError(f"log_scale={log_scale!r}: use 'auto' or a list of column names.")
        logged = [c for c in nums if numeric[c].min() >= 0 and numeric[c].skew() > 1]
    else:
        logged = list(log_scale)
        for c in logged:
            if c not in nums or numeric[c].min() < 0:
                raise ConfigError(f"log_scale names {c!r}, which is not a non-negative numeric "
                                  "feature.")
    for c in logged:
        numeric[c] = np.log1p(numeric[c])
    parts = [numeric]
    for c in cats:
        parts.append(pd.get_dummies(frame[c].astype("string").fillna("(missing)"),
                                    prefix=c, prefix_sep="=").astype(float))
    encoded = pd.concat(parts, axis=1)
    return encoded, nums, cats


def _describe(z: pd.Series, words: Mapping[str, tuple[str, str]], max_terms: int) -> list[str]:
    terms = []
    for name, value in z.reindex(z.abs().sort_values(ascending=False).index).items():
        if abs(value) < DISTINCT or len(terms) >= max_terms:
            break
        high, low = words.get(name, (f"high {name}", f"low {name}"))
        terms.append(high if value > 0 else low)
    return terms


def customer_clusters(
    features: Any,
    *,
    k: int | None = None,
    k_range: Iterable[int] = range(2, 9),
    categorical: Iterable[str] | None = None,
    log_scale: Iterable[str] | str = "auto",
    words: Mapping[str, tuple[str, str]] | None = None,
    max_terms: int = 3,
    random_state: int = 0,
    silhouette_sample: int = 10_000,
) -> ClusterResult:
    """Cluster customers on behavioural features and describe each cluster in plain words.

    Returns a :class:`ClusterResult`: ``profiles`` (cluster, customers, share, description,
    mean of each numeric feature as ``mean_<feature>``, share of each category level as
    ``share_<column>=<level>``), ``assignments`` (customer -> cluster) and ``silhouette``
    (k, silhouette; one row per k tried).
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    frame = as_pandas(features, name="features")
    if frame.shape[1] == 0:
        raise InputError("The feature table has no columns.")
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise InputError(f"Customer {dup!r} appears twice in the feature table; "
                         "give one row per customer.")
    encoded, nums, cats = _encode(frame, categorical, log_scale)
    std = encoded.std(ddof=0)
    encoded = encoded.loc[:, std > 0]
    if encoded.shape[1] == 0:
        raise InputError("Every feature is constant; there is nothing to cluster on.")
    scaled = (encoded - encoded.mean()) / encoded.std(ddof=0)
    for col in cats:  # one categorical column weighs as much as one numeric feature
        dummies = [c for c in scaled.columns if c.startswith(f"{col}=")]
        if dummies:
            scaled[dummies] = scaled[dummies] / np.sqrt(len(dummies))
    x = scaled.to_numpy()
    n = len(x)
    candidates = [int(k)] if k is not None else sorted({int(v) for v in k_range})
    if not candidates or min(candidates) < 2 or max(candidates) >= n:
        raise ConfigError(f"k must be between 2 and the number of customers - 1 ({n - 1}); "
                          f"got {candidates}.")
    rng = np.random.default_rng(random_state)
    sample = rng.choice(n, size=min(n, silhouette_sample), replace=False)
    fits, rows = {}, []
    # One thread: on small machines OpenMP start-up costs more than the clustering itself.
    with threadpool_limits(1):
        for kk in candidates:
            labels = KMeans(n_clusters=kk, n_init=10, random_state=random_state).fit(x).labels_
            score = (silhouette_score(x[sample], labels[sample])
                     if len(np.unique(labels[sample])) > 1 else float("nan"))
            fits[kk] = labels
            rows.append({"k": kk, "silhouette": float(score)})
    silhouette = pd.DataFrame(rows)
    best = int(k) if k is not None else int(
        silhouette.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]["k"])
    raw = fits[best]
    order = pd.Series(raw).value_counts().index  # largest first, ties by label
    relabel = {old: new for new, old in enumerate(sorted(order, key=lambda c: (
        -int(np.sum(raw == c)), int(c))))}
    labels = np.array([relabel[c] for c in raw])
    assignments = pd.DataFrame({"cluster": labels}, index=frame.index)
    vocab = {**WORDS, **(words or {})}
    profiles = []
    numeric_z = scaled[[c for c in nums if c in scaled.columns]]
    for c in range(best):
        members = labels == c
        row: dict[str, Any] = {"cluster": c, "customers": int(members.sum()),
                               "share": float(members.mean())}
        terms = _describe(numeric_z[members].mean(), vocab, max_terms)
        for col in cats:
            shares = frame.loc[members, col].astype("string").fillna("(missing)").value_counts(
                normalize=True)
            overall = frame[col].astype("string").fillna("(missing)").value_counts(
                normalize=True)
            level, share = shares.index[0], float(shares.iloc[0])
            if share >= 0.6 and share >= 1.5 * float(overall[level]) and len(terms) < max_terms:
                terms.append(f"mostly {level}")
        row["description"] = ", ".join(terms) if terms else "typical on every feature"
        for col in nums:
            row[f"mean_{col}"] = float(frame.loc[members, col].mean())
        for col in cats:
            levels = frame[col].astype("string").fillna("(missing)")
            for level, share in levels[members].value_counts(normalize=True).items():
                row[f"share_{col}={level}"] = float(share)
        profiles.append(row)
    return ClusterResult(profiles=pd.DataFrame(profiles).fillna(
        {c: 0.0 for c in pd.DataFrame(profiles).columns if c.startswith("share_")}),
        assignments=assignments, silhouette=silhouette, k=best,
        features=list(frame.columns))
