"""group_positions: each label's rows in row order, the same rows a boolean mask selects."""

from __future__ import annotations

import numpy as np

from funnelscope.analyses.pipeline.stages import group_positions


def test_group_positions_match_boolean_masks():
    rng = np.random.default_rng(5)
    labels = np.array(["北区", "east", "(none)", "b", "a"], dtype=object)[rng.integers(0, 5, 999)]
    positions = group_positions(labels)
    assert set(positions) == set(labels)
    for g, rows in positions.items():
        assert np.array_equal(rows, np.flatnonzero(labels == g))


def test_missing_labels_belong_to_no_group():
    positions = group_positions(np.array(["q1", None, "q2", "q1", None], dtype=object))
    assert {k: v.tolist() for k, v in positions.items()} == {"q1": [0, 3], "q2": [2]}
