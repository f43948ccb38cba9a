"""funnelscope.yml: named funnels, segments, stage lists, metrics, time zone; errors at file:line.

Oracles: the line numbers are those of the text written in each case; metric values are
recomputed with plain pandas from the loaded tables; a named funnel must equal the same funnel
given by its steps.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest
import yaml

import funnelscope as fs
from funnelscope.definitions import (
    Definitions,
    DefinitionsError,
    UnknownDefinition,
    find,
    load,
    load_for,
    parse,
)
from funnelscope.errors import ConfigError

GOOD = """\
timezone: Asia/Shanghai
funnels:
  checkout:
    steps: [view, add_to_cart, checkout, pay]
    window: 7d
    mode: strict
    breakdowns: [channel, tier]
    period: week
  rich:
    steps:
      - view
      - {event: pay, where: {amount: [">", 100]}, within: 1h, label: big pay}
    exclude: [[refund, 1, 2]]
segments:
  tier: {column: clv_tier}
  rfm: {kind: rfm, recency_bins: 4}
pipelines:
  sales:
    stages: [{name: lead, controllability: 2}, mql, won]
    controllability: {mql: 5}
    win_stage: won
metrics:
  revenue:
    table: orders
    measure: amount
    aggregation: sum
    dimension: month
"""


def test_a_valid_file_declares_every_kind_of_definition():
    d = parse(GOOD)
    assert d.timezone == "Asia/Shanghai"
    f = d.funnel("checkout")
    assert f.steps == ("view", "add_to_cart", "checkout", "pay") and f.window == "7d"
    assert f.mode == "strict" and f.breakdowns == ("channel", "tier") and f.period == "week"
    assert f.line == 3  # where the funnel's name is written
    assert d.funnel("rich").step_names == ["view", "big pay"]
    assert d.breakdown_column("tier") == "clv_tier" and d.breakdown_column("channel") == "channel"
    assert d.segment("rfm").options == {"recency_bins": 4}
    p = d.pipeline("sales")
    assert p.stages == ("lead", "mql", "won") and p.controllability == {"lead": 2, "mql": 5}
    m = d.metric("revenue")
    assert (m.table, m.measure, m.aggregation, m.dimension) == ("orders", "amount", "sum", "month")


# (file text, line, column, words the message must contain)
BAD = [
    ("funnels:\n  x:\n    steps: [a, b]\n    mode: strictt\n", 4, 11, "unknown mode 'strictt'"),
    ("funnels:\n  x:\n    steps: [a]\n    window: 7q\n", 4, 13, "window"),
    ("funnels:\n  x:\n    window: 1d\n", 2, 3, "steps"),
    ("funnels:\n  x:\n    steps: [a, b]\n    colour: red\n", 4, 5, "unknown key 'colour'"),
    ("funnels:\n  x:\n    steps: [a, b]\n    exclude: [a]\n", 2, 3, "cannot both fill a step"),
    ("funnels:\n  x:\n    steps: [a, b]\n  x:\n    steps: [c]\n", 4, 3, "given twice"),
    ("funnels:\n  x:\n    steps: [a, b]\n    breakdowns: [r]\nsegments:\n  r: {kind: rfm}\n",
     4, 18, "not a column"),
    ("timezone: Mars/Olympus\n", 1, 11, "unknown time zone"),
    ("funnel:\n  x: {steps: [a]}\n", 1, 1, "unknown key 'funnel'"),
    ("funnels: [a, b]\n", 1, 1, "must be a mapping"),
    ("pipelines:\n  s:\n    stages: [a, b]\n    controllability: {c: 3}\n", 4, 26, "not in stages"),
    ("pipelines:\n  s:\n    stages: [a, b]\n    controllability: {a: 9}\n", 4, 26, "1-5"),
    ("pipelines:\n  s:\n    stages: [a, a]\n", 3, 17, "listed twice"),
    ("pipelines:\n  s:\n    stages: [a, b]\n    win_stage: z\n", 4, 16, "win_stage 'z'"),
    ("metrics:\n  m:\n    table: orders\n    aggregation: sum\n", 2, 3, "measure"),
    ("metrics:\n  m:\n    table: ordres\n    aggregation: count\n", 3, 12, "unknown table"),
    ("metrics:\n  m:\n    table: orders\n    aggregation: avg\n    measure: amount\n", 4, 18,
     "unknown aggregation 'avg'"),
    ("segments:\n  s: {kind: clusters, k: 0}\n", 2, 26, "whole number"),
    ("funnels:\n  x:\n    steps: [a, b\n", 4, 1, "not valid YAML"),
]


@pytest.mark.parametrize("text,line,column,words", BAD)
def test_errors_point_at_the_file_line_and_column(text, line, column, words):
    with pytest.raises(DefinitionsError) as info:
        parse(text, "conf/funnelscope.yml")
    err = info.value
    assert (err.source, err.line, err.column) == ("conf/funnelscope.yml", line, column), str(err)
    assert words in str(err)
    assert str(err).startswith(f"conf/funnelscope.yml:{line}:{column}: ")
    assert err.to_dict()["error"]["code"] == "invalid_definitions"


def test_unknown_names_list_the_defined_ones():
    d = parse(GOOD)
    with pytest.raises(UnknownDefinition, match="Defined funnels: checkout, rich"):
        d.funnel("nope")
    assert isinstance(UnknownDefinition("x"), ConfigError)


def test_the_file_is_found_beside_the_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws_dir = tmp_path / "w"
    ws_dir.mkdir()
    assert find(ws_dir / "x.duckdb") is None
    assert load_for(ws_dir / "x.duckdb") == Definitions()
    (tmp_path / "funnelscope.yml").write_text("timezone: UTC\n")
    assert find(ws_dir / "x.duckdb") == tmp_path / "funnelscope.yml"  # current directory
    (ws_dir / "funnelscope.yml").write_text(GOOD)
    assert find(ws_dir / "x.duckdb") == ws_dir / "funnelscope.yml"  # beside the workspace wins
    assert load_for(ws_dir / "x.duckdb").timezone == "Asia/Shanghai"
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "missing.yml")


def test_metrics_equal_plain_pandas(demo_ws):
    d = load_for(demo_ws.path)
    orders = demo_ws.orders.to_pandas()
    customers = demo_ws.customers.to_pandas()
    got = d.metric("revenue_by_month").run(demo_ws).tables["values"]
    local = pd.to_datetime(orders["ts"], utc=True).dt.tz_convert("Asia/Shanghai")
    expected = orders.groupby(local.dt.strftime("%Y-%m-01"))["amount"].sum()
    assert dict(zip(got["dimension"], got["value"], strict=True)) == pytest.approx(expected.to_dict())
    got = d.metric("orders_by_channel").run(demo_ws).tables["values"]
    merged = orders.merge(customers[["user_id", "channel"]], on="user_id", how="left")
    expected = merged.groupby(merged["channel"].astype(str))["order_id"].size()
    assert dict(zip(got["dimension"], got["value"], strict=True)) == expected.to_dict()


def test_a_metric_on_a_missing_column_says_which(demo_ws):
    d = parse(textwrap.dedent("""\
        metrics:
          m: {table: orders, measure: price, aggregation: sum}
        """))
    with pytest.raises(ConfigError, match="no column 'price'"):
        d.metric("m").run(demo_ws)


def _cli(capsys, *args):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from funnelscope.cli.app import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_funnel_by_name_equals_the_same_steps(demo_workspace, capsys):
    code, out, err = _cli(capsys, "funnel", "--workspace", str(demo_workspace), "--name",
                          "checkout", "--by", "by_platform", "--format", "json")
    assert code == 0, err
    a = json.loads(out)
    code, out, err = _cli(capsys, "funnel", "--workspace", str(demo_workspace), "--steps",
                          "view,add_to_cart,checkout,pay", "--window", "7d", "--period", "week",
                          "--by", "platform", "--tz", "Asia/Shanghai", "--format", "json")
    assert code == 0, err
    b = json.loads(out)
    for key in ("steps", "groups", "periods", "spec"):
        assert a[key] == b[key]
    assert a["groups"] and a["periods"]


def test_cli_reports_unknown_names_and_bad_files(demo_workspace, tmp_path, capsys):
    code, _, err = _cli(capsys, "funnel", "--workspace", str(demo_workspace), "--name", "nope")
    assert code == 2 and "no funnel named 'nope'" in err
    bad = tmp_path / "bad.yml"
    bad.write_text("funnels:\n  x:\n    steps: [a, b]\n    mode: sideways\n")
    code, _, err = _cli(capsys, "funnel", "--workspace", str(demo_workspace), "--name", "x",
                        "--config", str(bad))
    assert code == 2 and f"{bad}:4:11: funnels.x.mode: unknown mode 'sideways'" in err
    code, _, err = _cli(capsys, "funnel", "--workspace", str(demo_workspace))
    assert code == 2 and "--name" in err


# ----- where: [operator, value] is never an IN list ------------------------------------------
def _where_workspace():
    """Events with a channel literally named "!=" and empty channels / amounts."""
    channels = ["ads", "search", "!=", None, "organic", "ads", "search", None, "!=", "organic"]
    amounts = [50.0, 100.0, 150.0, None, 100.5, 99.0, 200.0, 10.0, None, 100.0]
    rows = []
    for i in range(30):  # 30 users, each one view (and one pay) with the user's properties
        c, a = channels[i % 10], amounts[(i * 3) % 10]
        for event in ("view", "pay"):
            rows.append({"event_id": f"{event}{i}", "user_id": f"u{i}", "event": event,
                         "ts": pd.Timestamp("2026-01-05 10:00", tz="UTC") + pd.Timedelta(minutes=i),
                         "channel": c, "amount": a})
    frame = pd.DataFrame(rows)
    ws = fs.connect()
    ws.load(frame, "events")
    return ws, frame


# (YAML condition, plain-Python predicate on (channel, amount)); SQL semantics: an empty value
# matches only "is null" (every comparison with it is unknown, hence false)
WHERE_CASES = [
    ("channel: ads", lambda c, a: c == "ads"),
    ('channel: ["=", ads]', lambda c, a: c == "ads"),
    ('channel: ["==", ads]', lambda c, a: c == "ads"),
    ('channel: ["!=", ads]', lambda c, a: c is not None and c != "ads"),
    ('amount: [">", 100]', lambda c, a: a is not None and a > 100),
    ('amount: [">=", 100]', lambda c, a: a is not None and a >= 100),
    ('amount: ["<", 100]', lambda c, a: a is not None and a < 100),
    ('amount: ["<=", 100]', lambda c, a: a is not None and a <= 100),
    ("channel: [ads, search]", lambda c, a: c in ("ads", "search")),
    ('channel: ["in", ["!=", ads]]', lambda c, a: c in ("!=", "ads")),
    ('channel: ["not in", [ads, search]]', lambda c, a: c is not None and c not in ("ads", "search")),
    ('channel: ["NOT IN", ["!="]]', lambda c, a: c is not None and c != "!="),
    ("channel: [contains, ea]", lambda c, a: c is not None and "ea" in c),
    ('channel: ["is null"]', lambda c, a: c is None),
    ('amount: ["is not null"]', lambda c, a: a is not None),
]


@pytest.mark.parametrize("condition,keep", WHERE_CASES, ids=[c for c, _ in WHERE_CASES])
def test_where_operators_filter_like_plain_python(condition, keep):
    ws, frame = _where_workspace()
    users = {u for u, c, a in zip(frame.user_id, frame.channel, frame.amount, strict=True)
             if keep(None if pd.isna(c) else c, None if pd.isna(a) else a)}
    rows = sum(keep(None if pd.isna(c) else c, None if pd.isna(a) else a)
               for c, a in zip(frame.channel, frame.amount, strict=True))
    assert 0 < len(users) < 30  # every case keeps some users and drops others
    d = parse(textwrap.dedent(f"""\
        funnels:
          level:
            steps: [view]
            where: {{{condition}}}
          step:
            steps: [{{event: view, where: {{{condition}}}}}]
          step_2:
            steps: [view, {{event: pay, where: {{{condition}}}}}]
        metrics:
          rows:
            table: events
            aggregation: count
            where: {{{condition}}}
        """))
    for name in ("level", "step"):
        assert d.funnel(name).run(ws).steps["entities"].tolist() == [len(users)], name
    assert d.funnel("step_2").run(ws).steps["entities"].tolist() == [30, len(users)]
    assert d.metric("rows").run(ws).tables["values"]["value"].tolist() == [rows]
    # the same condition from Python: fs.step(where=...) with a tuple or a list
    prop, cond = next(iter(yaml.safe_load(condition).items()))
    for given in ([cond, tuple(cond)] if isinstance(cond, list) else [cond]):
        r = ws.funnel([fs.step("view", where={prop: given})], "1d")
        assert r.steps["entities"].tolist() == [len(users)], given


@pytest.mark.parametrize("condition,words", [
    ('amount: ["=>", 100]', "unknown operator '=>'"),
    ("channel: [in, ads]", "'in' needs a list of values"),
    ('amount: [">", 1, 2]', "takes exactly one value"),
    ('amount: [">", [1, 2]]', "needs one text, number or date"),
    ('channel: ["is null", x]', "takes no value"),
    ('channel: ["!=", null]', '["is not null"]'),
    ("channel: []", "at least one value"),
    ('channel: {">": 1}', "cannot be a mapping"),
])
@pytest.mark.parametrize("where_at", ["level", "step", "metric"])
def test_bad_where_conditions_point_at_the_condition(condition, words, where_at):
    head = {
        "level": "funnels:\n  f:\n    steps: [view]\n    where:\n      ",
        "step": "funnels:\n  f:\n    steps:\n      - event: view\n        where:\n          ",
        "metric": "metrics:\n  m:\n    table: events\n    aggregation: count\n    where:\n      ",
    }[where_at]
    text = head + condition + "\n"
    line = text.count("\n")
    column = len(head.rsplit("\n", 1)[-1]) + 1
    with pytest.raises(DefinitionsError) as info:
        parse(text, "f.yml")
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert words in str(info.value) and ".where." in str(info.value)


# ----- list-typed keys are lists, never split text ------------------------------------------
@pytest.mark.parametrize("text,line,column,instead", [
    ("funnels:\n  x:\n    steps: view\n", 3, 12, "steps: [view]"),
    ("funnels:\n  x:\n    steps: view, pay\n", 3, 12, "steps: [view, pay]"),
    ("funnels:\n  x:\n    steps: [view]\n    breakdowns: channel, platform\n", 4, 17,
     "breakdowns: [channel, platform]"),
    ("funnels:\n  x:\n    steps: [view, pay]\n    exclude: refund\n", 4, 14, "exclude: [refund]"),
    ("segments:\n  s: {kind: clusters, features: frequency}\n", 2, 33, "features: [frequency]"),
    ("segments:\n  s: {kind: clusters, funnel_steps: 'view,pay'}\n", 2, 37,
     "funnel_steps: [view, pay]"),
    ("pipelines:\n  p:\n    stages: lead, won\n", 3, 13, "stages: [lead, won]"),
])
def test_text_where_a_list_belongs_is_refused(text, line, column, instead):
    with pytest.raises(DefinitionsError) as info:
        parse(text, "f.yml")
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert "must be a list" in str(err) and instead in str(err)


# ----- YAML aliases --------------------------------------------------------------------------
def _laughs(levels: int, width: int = 10) -> str:
    text = "a: &a [" + ", ".join(["lol"] * width) + "]\n"
    for i in range(1, levels):
        text += f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * width) + "]\n"
    return text


@pytest.mark.parametrize("text,line,words", [
    ("funnels: &f\n  x: *f\n", 2, "contains the alias itself"),
    ("a: &a [*a]\n", 1, "contains the alias itself"),
    ("funnels:\n  x:\n    steps: &s [view, {event: pay, where: *s}]\n", 3, "contains the alias itself"),
    # 10**9 values if expanded; l1..l3 make 12,344 values, l4 alone 111,111: the limit
    # (100,000) is crossed inside l4, written on line 5
    (_laughs(9), 5, "expands to more than"),
])
def test_recursive_aliases_and_alias_bombs_are_refused_fast(text, line, words):
    import time

    started = time.perf_counter()
    with pytest.raises(DefinitionsError) as info:
        parse(text, "f.yml")
    assert time.perf_counter() - started < 5
    assert info.value.line == line and words in str(info.value), str(info.value)
    assert str(info.value).startswith(f"f.yml:{line}:")


def test_deep_nesting_is_refused_with_a_line():
    text = "funnels:\n  x:\n    steps: " + "[" * 3000 + "]" * 3000 + "\n"
    with pytest.raises(DefinitionsError, match="nested more than") as info:
        parse(text, "f.yml")
    assert info.value.line == 3


def test_anchors_can_be_reused():
    d = parse(textwrap.dedent("""\
        funnels:
          a:
            steps: &steps [view, {event: pay, where: &big {amount: [">", 100]}}]
            breakdowns: &by [channel]
          b:
            steps: *steps
            breakdowns: *by
            where: *big
        """))
    assert d.funnel("b").steps == d.funnel("a").steps
    assert d.funnel("b").steps[1] == {"event": "pay", "where": {"amount": [">", 100]}}
    assert d.funnel("b").breakdowns == ("channel",) and d.funnel("b").where == {"amount": [">", 100]}
    from funnelscope.definitions import _Doc

    l2 = _Doc("f.yml", _laughs(3)).value["l2"]  # 1,000 values: far below the limit
    assert [len(x) for x in l2] == [10] * 10 and {y for x in l2 for z in x for y in z} == {"lol"}
    assert sum(len(z) for x in l2 for z in x) == 1000
