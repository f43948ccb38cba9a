"""Paths on small journeys worked out by hand from docs/journeys.md, the options' errors, the
session gap boundary, the chart and the terminal / CSV output."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses.paths import PathsSpec
from funnelscope.errors import SpecError

journeys = {
    # checkout twice in a row (a repeat), then browsing; no payment
    "alice": [("view", "2026-01-01 10:00"), ("add_to_cart", "2026-01-01 10:05"),
              ("checkout", "2026-01-01 10:10"), ("checkout", "2026-01-01 10:11"),
              ("search", "2026-01-01 10:20"), ("view", "2026-01-01 12:00")],
    # pays right after checkout
    "bob": [("view", "2026-01-01 09:00"), ("add_to_cart", "2026-01-01 09:01"),
            ("checkout", "2026-01-01 09:02"), ("pay", "2026-01-01 09:03")],
    # checkout is the last thing carol did
    "carol": [("view", "2026-01-02 08:00"), ("add_to_cart", "2026-01-02 08:30"),
              ("checkout", "2026-01-02 08:45")],
    # never reaches checkout
    "dave": [("view", "2026-01-03 08:00"), ("search", "2026-01-03 08:10")],
}
STEPS = ["view", "add_to_cart", "checkout", "pay"]


def frame(j: dict) -> pd.DataFrame:
    rows = [(user, event, pd.Timestamp(ts, tz="UTC")) for user, evs in j.items() for event, ts in evs]
    return pd.DataFrame(rows, columns=["user_id", "event", "ts"])


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("paths") / "w.duckdb"
    w = fs.connect(str(path), tz="UTC")
    w.load(frame(journeys), "events")
    w.close()
    w = fs.connect(str(path), read_only=True, tz="UTC")
    yield w
    w.close()


def paths_of(result) -> dict[tuple, int]:
    return {tuple(r["path"]): r["users"] for r in result.to_dict()["paths"]}


def test_after_checkout_collapses_the_repeat_and_marks_the_end(ws):
    r = ws.paths(after="checkout", depth=3)
    assert paths_of(r) == {("search", "view", "(end)"): 1, ("pay", "(end)"): 1, ("(end)",): 1}
    assert r.meta["anchored_users"] == 3 and r.meta["users"] == 4
    assert all(row["share"] == pytest.approx(1 / 3) for row in r.to_dict()["paths"])


def test_keep_repeats_and_within(ws):
    assert paths_of(ws.paths(after="checkout", depth=2, keep_repeats=True)) == {
        ("checkout", "search"): 1, ("pay", "(end)"): 1, ("(end)",): 1}
    # within 10 minutes of 10:10: the repeat (collapsed) and search at 10:20 (exactly 10m)
    assert paths_of(ws.paths(after="checkout", depth=3, within="10m")) == {
        ("search", "(end)"): 1, ("pay", "(end)"): 1, ("(end)",): 1}


def test_dropped_after_checkout_is_the_funnel_split(ws):
    dropped = ws.paths(after="checkout", dropped=True, steps=STEPS, depth=3)
    assert paths_of(dropped) == {("search", "view", "(end)"): 1, ("(end)",): 1}
    assert dropped.meta["funnel"]["dropped_after_step"] == 2
    converted = ws.paths(after="checkout", converted=True, steps=STEPS, depth=1)
    assert paths_of(converted) == {("pay",): 1}


def test_before_and_to(ws):
    assert paths_of(ws.paths(before="checkout", depth=2)) == {("view", "add_to_cart"): 3}
    assert paths_of(ws.paths(before="checkout", depth=3)) == {("(start)", "view", "add_to_cart"): 3}
    assert paths_of(ws.paths(to="pay", depth=3)) == {("view", "add_to_cart", "checkout", "pay"): 1}
    # occurrence=last anchors on alice's second checkout: the run before it is one checkout
    last = ws.paths(before="checkout", occurrence="last", depth=1, keep_repeats=True)
    assert paths_of(last) == {("checkout",): 1, ("add_to_cart",): 2}


def test_journey_start_and_transitions(ws):
    r = ws.paths(depth=2)
    assert paths_of(r) == {("view", "add_to_cart"): 3, ("view", "search"): 1}
    pairs = {(t["depth"], t["from"], t["to"]): t["users"] for t in r.to_dict()["transitions"]}
    assert pairs == {(1, "(start)", "view"): 4, (2, "view", "add_to_cart"): 3,
                     (2, "view", "search"): 1}


def test_top_folds_the_rest_into_other(ws):
    rows = ws.paths(after="checkout", top=1).to_dict()["paths"]
    assert len(rows) == 2 and rows[1]["path"] == ["(other)"] and rows[1]["users"] == 2
    assert ws.paths(after="checkout", top=1).meta["other_paths"] == 2


def test_matrix_counts_every_consecutive_pair(ws):
    t = ws.paths(matrix=True).to_dict()["transitions"]
    got = {(r["from"], r["to"]): r["transitions"] for r in t}
    assert got[("view", "add_to_cart")] == 3 and got[("checkout", "search")] == 1
    assert ("checkout", "checkout") not in got  # repeats collapsed
    assert sum(r["share"] for r in t if r["from"] == "view") == pytest.approx(1.0)


def test_a_gap_of_exactly_the_threshold_stays_in_the_session(tmp_path):
    w = fs.connect(str(tmp_path / "g.duckdb"), tz="UTC")
    w.load(frame({"u": [("view", "2026-01-01 10:00:00"), ("view_item", "2026-01-01 10:30:00"),
                        ("search", "2026-01-01 11:00:01")]}), "events")
    r = w.paths(session_gap="30m")
    s = r.to_dict()["sessions"][0]
    assert (s["sessions"], s["bounces"], s["median_session_seconds"]) == (2, 1, 900.0)
    steps = {x["event"]: x for x in r.to_dict()["time_on_step"]}
    assert steps["view"]["median_seconds"] == 1800.0
    assert steps["view_item"]["exits"] == 1 and steps["view_item"]["median_seconds"] is None
    assert w.paths(session_gap="31m").to_dict()["sessions"][0]["sessions"] == 1
    w.close()


@pytest.mark.parametrize("kw,words", [
    ({"after": "checkout", "before": "pay"}, "not after and before"),
    ({"after": "checkout", "dropped": True, "converted": True, "steps": STEPS}, "not both"),
    ({"after": "pay", "dropped": True, "steps": STEPS}, "last step"),
    ({"after": "search", "dropped": True, "steps": STEPS}, "is not one of the steps"),
    ({"dropped": True, "steps": STEPS}, "needs the funnel step"),
    ({"after": "checkout", "steps": STEPS}, "only used with dropped"),
    ({"to": "pay", "occurrence": "last"}, "first conversion"),
    ({"depth": 0}, "depth"),
    ({"within": "soon"}, "within"),
    ({"session_gap": "0m"}, "session_gap"),
])
def test_bad_requests_say_what_is_wrong(ws, kw, words):
    with pytest.raises(SpecError, match=words):
        ws.paths(**kw)


def test_unknown_event_names_get_did_you_mean(ws):
    with pytest.raises(SpecError) as raised:
        ws.paths(after="chekout")
    assert raised.value.code == "unknown_event" and "did you mean 'checkout'" in str(raised.value)
    with pytest.raises(SpecError, match="steps"):
        ws.paths(after="checkout", dropped=True, steps=["view", "checkout", "pya"])


def test_without_steps_dropped_uses_the_named_funnel(tmp_path):
    path = tmp_path / "w.duckdb"
    w = fs.connect(str(path), tz="UTC")
    w.load(frame(journeys), "events")
    w.close()
    (tmp_path / "funnelscope.yml").write_text(
        "funnels:\n  browse:\n    steps: [view, search]\n  checkout:\n    steps: [view, "
        "add_to_cart, checkout, pay]\n    window: 1d\n", encoding="utf-8")
    w = fs.connect(str(path), read_only=True, tz="UTC")
    r = w.paths(after="checkout", dropped=True)
    assert r.spec.funnel == "checkout" and r.spec.window == "1d" and list(r.spec.steps) == STEPS
    explicit = w.paths(after="checkout", dropped=True, steps=STEPS, window="1d").to_dict()
    for table in ("paths", "transitions", "sessions", "time_on_step"):
        assert r.to_dict()[table] == explicit[table]
    w.close()


def test_the_sql_needs_no_data():
    text = PathsSpec(after="it's", depth=2).to_sql()
    assert "'it''s'" in text and "lag(e)" in text


def test_other_engines_are_a_clear_error(ws, monkeypatch):
    monkeypatch.setattr(type(ws), "engine", property(lambda self: "polars"))
    with pytest.raises(SpecError, match="DuckDB and PySpark"):
        ws.paths(after="checkout")


def test_sankey_and_matrix_charts(ws):
    fig = ws.paths(after="checkout").plot(lang="zh")
    sankey = json.loads(fig.to_json())["data"][0]
    assert sankey["type"] == "sankey"
    assert "（结束）" in sankey["node"]["label"] and "checkout" in sankey["node"]["label"]
    assert sum(sankey["link"]["value"]) == sum(
        r["users"] for r in ws.paths(after="checkout").to_dict()["transitions"])
    heat = json.loads(ws.paths(matrix=True).plot().to_json())["data"][0]
    assert heat["type"] == "heatmap"


def test_terminal_and_csv_output(ws, capsys):
    from funnelscope.cli.app import main

    main(["paths", "--workspace", ws.path, "--after", "checkout", "--tz", "UTC"])
    out = capsys.readouterr().out
    assert "search → view → (end)" in out and "Sessions" in out
    main(["paths", "--workspace", ws.path, "--after", "checkout", "--format", "csv",
          "--table", "paths"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "path,steps,users,share" and any(x.startswith("search > view > (end),3,1,")
                                                         for x in lines)
