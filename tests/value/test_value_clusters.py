"""Behavioural clusters. Oracle: the known groups the synthetic customers were drawn from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from funnelscope.analyses.value import customer_clusters
from funnelscope.errors import ConfigError, InputError

GROUPS = {
    # name: (customers, recency_days, frequency, monetary, channel)
    "champions": (400, 10, 12, 600, "ads"),
    "lapsed": (300, 250, 1, 40, "ads"),
    "recent bargain hunters": (200, 12, 10, 50, "referral"),
}


def _features(seed=0):
    rng = np.random.default_rng(seed)
    parts, truth = [], []
    for label, (n, rec, freq, mon, channel) in GROUPS.items():
        parts.append(pd.DataFrame({
            "recency_days": rng.normal(rec, rec * 0.15, n).clip(0),
            "frequency": rng.poisson(freq, n) + 1,
            "monetary": rng.normal(mon, mon * 0.15, n).clip(1),
            "channel": channel,
        }))
        truth += [label] * n
    frame = pd.concat(parts, ignore_index=True)
    frame.index = [f"c{i:04d}" for i in range(len(frame))]
    return frame, np.array(truth)


@pytest.fixture(scope="module")
def clustered():
    features, truth = _features()
    return features, truth, customer_clusters(features, k_range=range(2, 7))


def test_silhouette_picks_the_true_number_of_groups(clustered):
    _, _, res = clustered
    assert res.k == 3
    best = res.silhouette.sort_values("silhouette", ascending=False).iloc[0]
    assert best["k"] == 3
    assert list(res.silhouette["k"]) == [2, 3, 4, 5, 6]


def test_clusters_recover_the_groups(clustered):
    features, truth, res = clustered
    labels = res.assignments.loc[features.index, "cluster"]
    assert adjusted_rand_score(truth, labels) == pytest.approx(1.0)
    # numbered from largest to smallest
    assert res.profiles["customers"].tolist() == [400, 300, 200]


def test_profiles_are_described_in_plain_words(clustered):
    _, _, res = clustered
    words = dict(zip(res.profiles["customers"], res.profiles["description"], strict=True))
    assert "recent" in words[400] and "frequent" in words[400] and "high spend" in words[400]
    assert "lapsed" in words[300] and "infrequent" in words[300] and "low spend" in words[300]
    assert "low spend" in words[200] and "recent" in words[200]
    assert words[200] == "low spend, recent, mostly referral"
    assert res.profiles.set_index("customers").loc[200, "share_channel=referral"] == 1.0
    assert res.profiles["share"].sum() == pytest.approx(1.0)
    means = res.profiles.set_index("customers")["mean_monetary"]
    assert means[400] > 500 and means[300] < 60


def test_fixed_k_and_determinism():
    features, _ = _features(seed=1)
    a = customer_clusters(features, k=4)
    b = customer_clusters(features, k=4)
    assert a.k == 4 and len(a.silhouette) == 1
    pd.testing.assert_frame_equal(a.assignments, b.assignments)


def test_bad_features():
    features, _ = _features()
    with pytest.raises(InputError, match="'monetary' is missing or not finite for customer "
                                         "'c0003'"):
        customer_clusters(features.assign(monetary=features["monetary"].where(
            features.index != "c0003")), k=3)
    with pytest.raises(ConfigError, match="k must be between 2"):
        customer_clusters(features.iloc[:5], k=9)
    with pytest.raises(InputError, match="appears twice"):
        customer_clusters(pd.concat([features.iloc[:3], features.iloc[:1]]), k=2)
