"""``funnelscope pipeline``: the documented JSON shape, CSV tables, the terminal view, errors."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import funnelscope as fs
from funnelscope.cli.app import app, main

from .cases import B2B
from .simulate import simulate_deals

FUNNEL_KEYS = {"stage", "deals", "amount", "conversion_from_previous", "conversion_from_start",
               "lost", "loss_rate"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipeline") / "crm.duckdb"
    ws = fs.connect(str(path))
    ws.load(simulate_deals(250, seed=5, start="2023-06-01", end="2025-01-01"), "deals",
            stages=list(B2B))
    ws.backend.disconnect()
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["pipeline", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_json_has_the_documented_top_level_and_matches_the_python_api(workspace):
    data = json.loads(run("-w", str(workspace), "--by", "owner", "--period", "quarter",
                          "--forecast", "2025Q1", "--as-of", "2025-01-01", "--what-if",
                          "sql=5", "--format", "json"))
    assert list(data)[:6] == ["funnel", "velocity", "win_rates", "forecast", "backtest",
                              "bottlenecks"]
    assert [r["stage"] for r in data["funnel"]] == list(B2B)
    assert set(data["funnel"][0]) >= FUNNEL_KEYS
    ws = fs.connect(str(workspace), read_only=True)
    from funnelscope.analyses.pipeline import pipeline

    r = pipeline(ws, by="owner", period="quarter", as_of="2025-01-01")
    assert [x["deals"] for x in data["funnel"]] == r.funnel["deals"].tolist()
    assert data["forecast"]["period"] == "2025Q1"
    assert data["forecast"]["weighted_forecast"] == pytest.approx(
        r.forecast("2025Q1").meta["weighted_forecast"])
    bt = r.backtest()
    assert [x["cutoff"] for x in data["backtest"]] == bt.cutoffs["cutoff"].tolist()
    assert data["backtest_summary"]["more_accurate"] == bt.meta["more_accurate"]
    assert data["what_if"]["change_won_amount"] == pytest.approx(
        r.what_if("sql", 5)["change_won_amount"])
    assert {x["group"] for x in data["funnel_by"]} == set(r.tables["funnel_by"]["group"])


def test_csv_prints_the_chosen_table(workspace):
    out = run("-w", str(workspace), "--no-backtest", "--format", "csv", "--table", "bottlenecks")
    table = pd.read_csv(io.StringIO(out))
    assert table.columns[0] == "rank"
    assert len(table) == len(B2B) - 1
    funnel = pd.read_csv(io.StringIO(run("-w", str(workspace), "--no-backtest", "-f", "csv")))
    assert funnel["stage"].tolist() == list(B2B)


def test_table_view_for_people(workspace):
    out = run("-w", str(workspace), "--as-of", "2025-01-01", "--controllability", "lead=1,sql=5")
    assert "Stage funnel" in out and "Bottlenecks" in out and "Backtest" in out
    assert "more accurate on this data" in out


@pytest.mark.parametrize("args, message", [
    (["--stages", "x,y"], "no deal has a stage entry"),
    (["--controllability", "sql=high"], "not a whole number"),
    (["--probabilities", "lead=0.1"], "no value for stage"),
    (["--what-if", "sql"], "cannot read --what-if"),
    (["--format", "csv", "--table", "nope"], "unknown --table"),
])
def test_errors_are_one_line_with_exit_code_2(workspace, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["pipeline", "-w", str(workspace), "--no-backtest", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
