"""The workspace experiment: per-variant counts from the funnel kernel equal a plain-pandas
per-user computation, and the JSON is compare_counts' contract on those counts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses.experiment.abtest import compare_counts
from funnelscope.errors import FunnelscopeError

T0 = pd.Timestamp("2026-01-05T10:00:00Z")
WEEK = pd.Timedelta(days=7)


def make_events(seed: int = 7, n_a: int = 150, n_b: int = 150) -> pd.DataFrame:
    """Users u0.. in A then B; each views, maybe pays (inside or outside 7 days); a few users
    have no variant, two users carry both variants, some events lack the variant value."""
    rng = np.random.default_rng(seed)
    rows = []
    plan = ["A"] * n_a + ["B"] * n_b + [None] * 10 + ["AB"] * 2
    for i, variant in enumerate(plan):
        user = f"u{i}"
        start = T0 + pd.Timedelta(hours=int(rng.integers(0, 24 * 20)))
        values = ["A", "B"] if variant == "AB" else [variant]
        rows.append((user, "visit", start - pd.Timedelta(hours=1), values[0]))
        missing = rng.random() < 0.3 and variant != "AB"
        rows.append((user, "view", start, None if missing else values[-1]))
        p = 0.2 if variant == "A" else 0.35
        r = rng.random()
        if r < p:
            rows.append((user, "pay", start + pd.Timedelta(days=2), None))
        elif r < p + 0.15:
            rows.append((user, "pay", start + pd.Timedelta(days=10), values[0]))
        if rng.random() < 0.2 and variant in ("A", "B"):  # not every user enters the funnel
            rows = [r for r in rows if not (r[0] == user and r[1] == "view")]
    return pd.DataFrame(rows, columns=["user_id", "event", "ts", "variant"])


def oracle(events: pd.DataFrame, window=WEEK) -> dict[str, tuple[int, int]]:
    """variant -> (conversions, users), user by user in pandas."""
    out: dict[str, list[int]] = {}
    for _, ev in events.groupby("user_id"):
        values = set(ev["variant"].dropna())
        if len(values) != 1:
            continue
        views = ev.loc[ev["event"] == "view", "ts"]
        if views.empty:
            continue
        pays = ev.loc[ev["event"] == "pay", "ts"]
        converted = any(((pays >= v) & (pays <= v + window)).any() for v in views)
        c = out.setdefault(values.pop(), [0, 0])
        c[0] += int(converted)
        c[1] += 1
    return {k: tuple(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def events():
    return make_events()


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory, events):
    path = tmp_path_factory.mktemp("experiment") / "ab.duckdb"
    ws = fs.connect(str(path))
    ws.load(events, "events")
    customers = pd.DataFrame({"user_id": sorted(events["user_id"].unique())})
    customers["cohort"] = ["early" if int(u[1:]) % 4 else "late" for u in customers["user_id"]]
    ws.load(customers, "customers")
    ws.close()
    return path


@pytest.fixture(scope="module")
def ws(ws_path):
    w = fs.connect(str(ws_path), read_only=True)
    yield w
    w.close()


def test_counts_equal_pandas_and_json_is_compare_counts(ws, events):
    expected = oracle(events)
    result = ws.experiment(steps=["view", "pay"], variant_column="variant", window="7d")
    data = result.to_dict()
    got = {v["variant"]: (v["conversions"], v["users"]) for v in data["variants"]}
    assert got == expected
    contract = json.loads(json.dumps(compare_counts(expected["A"], [("B", *expected["B"])],
                                                    control_name="A")))
    # abtest's contract, key for key; the experiment adds metric / p-value keys and methods
    assert data["srm"] == contract["srm"] and data["alpha"] == contract["alpha"]
    assert [{k: v[k] for k in contract["variants"][0]} for v in data["variants"]] == \
        contract["variants"]
    for got, want in zip(data["comparisons"], contract["comparisons"], strict=True):
        assert {k: got[k] for k in want} == want
        assert got["metric"] == "conversion" and got["p_value"] == want["tests"]["z_pooled"]["p_value"]
    assert all(data["method"][k] for k in contract["method"])
    assert data["spec"]["variant_column"] == "variant"
    assert data["meta"]["control"] == "A"
    # the two users seen in A and B enter the funnel and are excluded, and said so
    assert data["meta"]["multiple_variants"] == 2
    assert data["meta"]["no_variant"] == 10
    assert data["meta"]["users_compared"] == sum(n for _, n in expected.values())


def test_control_option_and_alpha(ws, events):
    expected = oracle(events)
    data = ws.experiment(steps=["view", "pay"], variant_column="variant", control="B",
                         alpha=0.1).to_dict()
    assert [v["variant"] for v in data["variants"]] == ["B", "A"]
    contract = compare_counts(expected["B"], [("A", *expected["A"])], alpha=0.1, control_name="B")
    want = json.loads(json.dumps(contract["comparisons"]))
    assert [{k: c[k] for k in want[0]} for c in data["comparisons"]] == want


def test_customers_column(ws, events):
    """A customers column gives each user one variant; counts = pandas on the join."""
    entering = events.loc[events["event"] == "view", "user_id"].unique()
    data = ws.experiment(steps=["view", "pay"], variant_column="cohort").to_dict()
    ev = events.assign(variant=events["user_id"].map(
        lambda u: "early" if int(u[1:]) % 4 else "late"))
    assert {v["variant"]: (v["conversions"], v["users"]) for v in data["variants"]} == oracle(ev)
    assert data["meta"]["variant_source"] == "customers"
    assert data["meta"]["users_compared"] == len(entering)
    assert data["meta"]["multiple_variants"] == 0


def test_srm_flags_an_imbalanced_assignment(tmp_path, ws):
    events = make_events(seed=3, n_a=400, n_b=120)
    skewed = fs.connect(str(tmp_path / "srm.duckdb"))
    skewed.load(events, "events")
    data = skewed.experiment(steps=["view", "pay"], variant_column="variant").to_dict()
    skewed.close()
    assert data["srm"]["ok"] is False and data["srm"]["p_value"] < 0.001
    balanced = ws.experiment(steps=["view", "pay"], variant_column="variant").to_dict()
    assert balanced["srm"]["ok"] is True


def test_errors(ws):
    with pytest.raises(FunnelscopeError, match="nope"):
        ws.experiment(steps=["view", "pay"], variant_column="nope")
    with pytest.raises(FunnelscopeError, match="not a variant"):
        ws.experiment(steps=["view", "pay"], variant_column="variant", control="C")
    with pytest.raises(FunnelscopeError, match="at least two"):
        ws.experiment(steps=["view", "pay"], variant_column="variant", end="2026-01-01")


def test_cli_json_and_csv_equal_python(ws, ws_path, capsys):
    from funnelscope.cli.app import main

    expected = ws.experiment(steps=["view", "pay"], variant_column="variant").to_dict()
    capsys.readouterr()
    main(["experiment", "--workspace", str(ws_path), "--steps", "view,pay",
          "--variant-column", "variant", "--window", "7d", "--format", "json"])
    got = json.loads(capsys.readouterr().out)
    got["meta"].pop("seconds"), expected["meta"].pop("seconds")
    assert got == json.loads(json.dumps(expected))
    main(["experiment", "--workspace", str(ws_path), "--steps", "view,pay",
          "--variant-column", "variant", "--format", "csv", "--table", "comparisons"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("variant,control,metric,absolute_estimate")
    assert lines[1].startswith("B,A,conversion,")
    main(["experiment", "--workspace", str(ws_path), "--steps", "view,pay",
          "--variant-column", "variant"])
    out = capsys.readouterr().out
    assert "B vs A" in out and "2 users in several variants" in out


def test_api_route_equals_python(ws, ws_path):
    from fastapi.testclient import TestClient

    from funnelscope.web import Settings, create_app

    expected = ws.experiment(steps=["view", "pay"], variant_column="variant").to_dict()
    expected["meta"].pop("seconds")
    with TestClient(create_app(Settings(workspace=ws_path, time_limit=120))) as client:
        res = client.get("/api/experiment?steps=view,pay&variant_column=variant&window=7d")
    assert res.status_code == 200, res.text
    got = res.json()
    got["meta"].pop("seconds")
    assert got == json.loads(json.dumps(expected))


def test_mean_metric_with_a_variant_column_starts_at_the_first_entry(ws, events):
    """count:pay per user in [first view, first view + 7d] (per-user pandas), same users as the
    conversion metric; Welch's t equals scipy on those per-user values."""
    from scipy import stats

    per: dict[str, list[int]] = {}
    for _, ev in events.groupby("user_id"):
        values = set(ev["variant"].dropna())
        views = ev.loc[ev["event"] == "view", "ts"]
        if len(values) != 1 or views.empty:
            continue
        first = views.min()
        pays = ev.loc[ev["event"] == "pay", "ts"]
        per.setdefault(values.pop(), []).append(int(((pays >= first) & (pays <= first + WEEK)).sum()))
    data = ws.experiment(steps=["view", "pay"], variant_column="variant",
                         metrics=["conversion", "count:pay"]).to_dict()
    rows = {v["variant"]: v for v in data["variants"] if v["metric"] == "count:pay"}
    for name, values in per.items():
        assert rows[name]["users"] == len(values)
        assert round(rows[name]["mean"] * len(values)) == sum(values)
    welch = next(c for c in data["comparisons"] if c["metric"] == "count:pay")["tests"]["welch"]
    res = stats.ttest_ind(per["B"], per["A"], equal_var=False)
    assert welch["statistic"] == pytest.approx(res.statistic, rel=1e-9)
    assert welch["p_value"] == pytest.approx(res.pvalue, rel=1e-7)
    assert len(data["comparisons"]) == 2 and data["correction"] == "holm"
