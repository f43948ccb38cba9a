"""Lead scoring gives the same JSON on DuckDB and on PySpark (local[2]) for the same data.

One small shop (events with an account_id, customers) with a planted signal is loaded into a
DuckDB and a Spark workspace once per module (reporting time zone New York, so calendar days
are not UTC days). The feature table is computed in each engine (DuckDB: the SQL text of
features.py; Spark: the Ibis relations of leads/portable.py) and must be identical; the model,
reasons, rules and tags then run on it, so the whole JSON must be equal, floats to 12
significant digits, except what says which engine ran and how long it took. Equality alone
could hide a bug shared by both engines, so the feature table, the rules and the tags are also
checked against a plain-Python per-user reference written here, and the planted behaviour
must be ranked higher.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses.leads import features as F
from funnelscope.analyses.leads import portable as P
from funnelscope.analyses.leads.spec import LeadsSpec
from funnelscope.errors import ConfigError, FunnelscopeError
from tests.cross_backend import assert_same, duckdb_and_spark

pytestmark = pytest.mark.spark

T0 = pd.Timestamp("2026-01-05T00:00:00Z")
TZ = "America/New_York"
USERS, DAYS = 240, 63
RULES = [{"name": "hot cart", "when": {"event": "add_to_cart", "within": "7d", "at_least": 2},
          "points": 30},
         {"name": "premium segment", "when": {"column": "customers.segment", "in": ["premium"]},
          "points": 10},
         {"name": "viewer", "when": {"event": "view"}, "points": -5}]


def shop(seed: int = 11) -> dict[str, pd.DataFrame]:
    """Users arrive over DAYS days (a ``view``), come back for a few more visits (sessions,
    some within 30 minutes of the last event), may ``add_to_cart``; every other user does a
    ``demo`` on arrival (the planted signal), which doubles the chance to ``pay`` 1-10 days
    after arriving. Users belong to 60 accounts; customers carry a segment and a plan."""
    rng = np.random.default_rng(seed)
    events, customers = [], []
    for i in range(USERS):
        user = f"u{i:03d}"
        account = f"a{i % 60:02d}"
        start = T0 + pd.Timedelta(seconds=int(rng.integers(0, DAYS * 86400)))
        customers.append((user, account, ("premium", "basic", "basic")[i % 3],
                          ("free", "pro")[int(rng.random() < 0.3)]))
        rows = [("view", start)]
        if i % 2:
            rows.append(("demo", start + pd.Timedelta(minutes=5)))
        t = start
        for _ in range(int(rng.integers(0, 5))):
            t = t + pd.Timedelta(minutes=float(rng.choice([10, 25, 45, 600, 3000])))
            rows.append((("view", "add_to_cart")[int(rng.random() < 0.4)], t))
        if rng.random() < (0.5 if i % 2 else 0.2):
            rows.append(("pay", start + pd.Timedelta(seconds=int(rng.integers(86400, 864000)))))
        events += [(user, account, e, ts) for e, ts in rows]
    ev = pd.DataFrame(events, columns=["user_id", "account_id", "event", "ts"])
    ev.insert(0, "event_id", [f"e{i}" for i in range(len(ev))])
    return {"events": ev,
            "customers": pd.DataFrame(customers, columns=["user_id", "account_id", "segment",
                                                          "plan"])}


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return shop()


@pytest.fixture(scope="module")
def workspaces(spark_session, data):
    """{"duckdb": ws, "pyspark": ws} holding the same tables (one Spark database per module)."""
    yield from duckdb_and_spark(spark_session, data, tz=TZ, prefix="fs_leads")


def both(workspaces, call) -> dict:
    """The JSON of ``call(ws)`` on DuckDB, after checking Spark gives the same."""
    duck = call(workspaces["duckdb"]).to_dict()
    spark = call(workspaces["pyspark"]).to_dict()
    assert duck["meta"]["engine"] == "duckdb" and spark["meta"]["engine"] == "pyspark"
    assert_same(duck, spark, "")
    return duck


# ----- the plain-Python reference ---------------------------------------------------------------
def reference(data, cut: pd.Timestamp, spec: LeadsSpec, counted: tuple[str, ...]) -> dict:
    """Per eligible user at ``cut``: features (FeaturePlan.names order), label, event-rule
    counts and recent add_to_cart events, by hand."""
    ev = data["events"].drop_duplicates(["user_id", "event", "ts"])
    out = {}
    for user, mine in ev.groupby("user_id"):
        seen = mine[mine.ts <= cut].sort_values("ts")
        if seen.empty or (seen.event == spec.target_event).any():
            continue
        times = list(seen.ts)
        sessions = 1 + sum(1 for a, b in zip(times, times[1:], strict=False)
                           if b - a > pd.Timedelta(minutes=30))
        depth, last = 0, None
        for step in spec.steps:
            nxt = [t for t, e in zip(seen.ts, seen.event, strict=True)
                   if e == step and (last is None or t >= last)]
            if not nxt:
                break
            depth, last = depth + 1, min(nxt)
        row = [(cut - times[-1]) / pd.Timedelta(days=1), (cut - times[0]) / pd.Timedelta(days=1),
               len({t.tz_convert(ZoneInfo(TZ)).date() for t in times}), sessions]
        if spec.steps:
            row.append(depth)
        for days in (7, 30):
            row += [int(((seen.event == e) & (seen.ts > cut - pd.Timedelta(days=days))).sum())
                    for e in counted]
        after = mine[(mine.ts > cut) & (mine.ts <= cut + pd.Timedelta(spec.horizon_us, "us"))]
        rules = [int(((seen.event == r.event) &
                      (seen.ts > cut - pd.Timedelta(r.within_us, "us"))).sum())
                 for r in spec.rules if r.kind == "event"]
        cart = int(((seen.event == "add_to_cart") & (seen.ts > cut - pd.Timedelta(days=7))).sum())
        out[user] = {"f": row, "y": bool((after.event == spec.target_event).any()),
                     "r": rules, "cart": cart}
    return out


def frames(workspaces, spec: LeadsSpec, cutoffs):
    """The feature table on DuckDB (SQL text) and on Spark (Ibis), and the plan."""
    duck, spark = workspaces["duckdb"], workspaces["pyspark"]
    known = dict(sorted(pd.Series(dict(
        duck.duckdb.execute("SELECT event, count(*) FROM events GROUP BY 1").fetchall())
    ).items(), key=lambda kv: (-kv[1], kv[0])))
    plan = F.plan(duck, spec, known)
    assert P.plan(spark, spec, known) == plan
    attrs = F.attributes_sql(plan.columns, spec.entity_column) if plan.columns else None
    d = duck.duckdb.execute(F.features_sql(spec, plan, 'SELECT * FROM "events"', attrs, TZ,
                                           cutoffs)).df()
    s = P.feature_frame(spark, spec, plan, cutoffs)
    return d, s, plan


def us(t: pd.Timestamp) -> int:
    return int(t.value // 1000)


@pytest.mark.parametrize("entity", ["user", "account"])
def test_the_feature_table_is_identical_on_both_engines(workspaces, data, entity):
    spec = LeadsSpec(target_event="pay", horizon="7d", entity=entity,
                     steps=("view", "add_to_cart"), rules=RULES)
    cuts = [T0 + pd.Timedelta(days=d, hours=5) for d in (20, 35, 50)]
    d, s, plan = frames(workspaces, spec, [(k, us(c)) for k, c in enumerate(cuts)])
    assert list(d.columns) == list(s.columns) and len(d) == len(s) > 0
    assert [c for c, _ in plan.attributes] == ["segment", "segment", "plan", "plan"]
    for col in d.columns:
        a, b = d[col].to_numpy(), s[col].to_numpy()
        if col == "u":
            assert [str(v) for v in a] == [str(v) for v in b]
        else:
            np.testing.assert_array_equal(a.astype("float64"), b.astype("float64"), err_msg=col)
    if entity != "user":
        return
    counted = plan.events
    for k, cut in enumerate(cuts):
        ref = reference(data, cut, spec, counted)
        mine = s[s.k == k]
        assert sorted(ref) == list(mine.u)
        for row in mine.itertuples():
            want = ref[row.u]
            got = [getattr(row, f"f_{i}") for i in range(len(want["f"]))]
            assert got == pytest.approx(want["f"], rel=1e-12), row.u
            assert bool(row.y) == want["y"] and row.cart_recent == want["cart"]
            assert [getattr(row, f"r_{i}") for i in range(len(want["r"]))] == want["r"]


def test_planted_signal_same_json_and_ranked_higher(workspaces, data):
    got = both(workspaces, lambda ws: ws.leads(target_event="pay", horizon="7d", snapshots=4,
                                               steps=["view", "add_to_cart"], top=1000))
    assert got["model"]["note"] is None
    coef = {c["feature"]: c["coefficient"] for c in got["model"]["coefficients"]}
    assert coef["count_30d[demo]"] > 0
    leads = got["leads"]
    assert len(leads) == got["meta"]["leads_total"]
    # among the leads who arrived in the last 30 days (their demo still counts), the planted
    # ones (odd users: a demo on arrival) score higher on average
    ev = data["events"]
    recent = set(ev[ev.ts > ev.ts.max() - pd.Timedelta(days=29)].user_id) - \
        set(ev[ev.ts <= ev.ts.max() - pd.Timedelta(days=30)].user_id)
    scores = {0: [], 1: []}
    for r in leads:
        if r["user_id"] in recent:
            scores[int(r["user_id"][1:]) % 2].append(r["score"])
    assert len(scores[0]) >= 10 and len(scores[1]) >= 10
    assert np.mean(scores[1]) > np.mean(scores[0])


def test_isotonic_accounts_and_options_same_json(workspaces):
    both(workspaces, lambda ws: ws.leads(target_event="pay", horizon="7d", snapshots=3,
                                         calibration="isotonic", top=20, top_values=1))
    both(workspaces, lambda ws: ws.leads(target_event="pay", horizon="7d", entity="account",
                                         snapshots=2, top=20, top_events=2))


def test_rules_and_tags_same_and_by_hand(workspaces, data):
    got = both(workspaces, lambda ws: ws.leads(target_event="pay", horizon="7d", rules=RULES,
                                               top=1000))
    ev = data["events"]
    end = ev.ts.max()
    segment = data["customers"].set_index("user_id")["segment"]
    leads = {r["user_id"]: r for r in got["leads"]}
    paid = set(ev[ev.event == "pay"].user_id)
    assert set(leads) == set(ev.user_id) - paid
    counts = {"hot cart": 0, "premium segment": 0, "viewer": 0, "cart_abandoner": 0,
              "returning": 0, "dormant": 0}
    for user, row in leads.items():
        mine = ev[ev.user_id == user]
        week = mine[mine.ts > end - pd.Timedelta(days=7)]
        month = mine[mine.ts > end - pd.Timedelta(days=30)]
        rules = [name for name, hit in (
            ("hot cart", (week.event == "add_to_cart").sum() >= 2),
            ("premium segment", segment[user] == "premium"),
            ("viewer", (month.event == "view").any())) if hit]
        days = {t.tz_convert(ZoneInfo(TZ)).date() for t in mine.ts}
        tags = [name for name, hit in (
            ("cart_abandoner", (week.event == "add_to_cart").any()),
            ("returning", len(days) >= 2),
            ("dormant", end - mine.ts.max() >= pd.Timedelta(days=14))) if hit]
        assert row["matched_rules"] == rules, user
        assert row["tags"] == rules + tags, user
        assert row["rule_score"] == sum(r["points"] for r in RULES if r["name"] in rules)
        for name in rules + tags:
            counts[name] += 1
    assert {r["rule"]: r["leads_matched"] for r in got["rules"]} == counts


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_lead_errors_are_the_same(workspaces, engine):
    ws = workspaces[engine]
    with pytest.raises(FunnelscopeError, match="pya"):
        ws.leads(target_event="pya")
    with pytest.raises(ConfigError, match="no column 'segmnt'"):
        ws.leads(target_event="pay", rules=[{"name": "x", "when": {"column": "customers.segmnt",
                                                                   "in": ["a"]}, "points": 1}])
    with pytest.raises(FunnelscopeError, match="too short"):
        ws.leads(target_event="pay", horizon="300d")


REQUESTS = {
    "planted": dict(target_event="pay", horizon="7d", snapshots=4, steps=["view", "add_to_cart"],
                    top=1000),
    "rules": dict(target_event="pay", horizon="7d", rules=RULES, top=50),
    "account isotonic": dict(target_event="pay", horizon="7d", entity="account", snapshots=2,
                             calibration="isotonic", top=20),
}


@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_the_ibis_twin_equals_the_duckdb_sql(data, monkeypatch, request_name):
    """DuckDB runs SQL text, Spark the Ibis relations of leads/portable.py: the Ibis relations
    run on DuckDB too and give the SQL text's JSON (no Spark needed)."""
    from funnelscope.analyses.leads import run as leads_run

    ws = fs.connect(tz=TZ)
    for name, frame in data.items():
        ws.load(frame, name)
    sql = ws.leads(**REQUESTS[request_name]).to_dict()
    monkeypatch.setattr(leads_run, "SQL_ON_DUCKDB", False)
    assert_same(sql, ws.leads(**REQUESTS[request_name]).to_dict(), "")
