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
