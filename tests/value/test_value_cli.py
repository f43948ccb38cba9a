"""``funnelscope rfm | clusters | clv | cac | churn-risk`` end to end.

Oracles: the published CDNOW BG/NBD and Gamma-Gamma parameters (Fader, Hardie & Lee 2005;
Fader & Hardie 2013) reached from a CSV loaded with ``funnelscope load``; on the demo data,
the channels of the spend table and the customers of the orders table.
"""

from __future__ import annotations

import gc
import json
import shutil
from io import StringIO

import pandas as pd
import pytest
from typer.testing import CliRunner

import funnelscope as fs
from funnelscope.cli.app import app
from funnelscope.errors import ConfigError

from .helpers import DATA, sig

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}

runner = CliRunner()


def run(*args: str, ok: bool = True):
    result = runner.invoke(app, [str(a) for a in args])
    gc.collect()  # close the command's DuckDB connection before the next one opens the file
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def cdnow_csv(path, *, with_order_id: bool = True):
    """CDNOW_sample.txt (master id, sample id, YYYYMMDD, CDs, dollars) as an orders CSV."""
    raw = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "user_id", "date", "cds", "amount"], dtype={"date": str})
    out = pd.DataFrame({"user_id": raw["user_id"],
                        "ts": pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
                        "amount": raw["amount"]})
    if with_order_id:
        out.insert(0, "order_id", range(1, len(out) + 1))
    out.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cdnow_workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cdnow")
    workspace = tmp / "cdnow.duckdb"
    load = run("load", cdnow_csv(tmp / "cdnow.csv"), "--workspace", workspace, "--table",
               "orders", "--format", "json")
    assert json.loads(load.output)["loaded"] == 6919
    return workspace


def test_clv_command_reproduces_the_published_cdnow_fit(cdnow_workspace):
    out = run("clv", "--workspace", cdnow_workspace, "--calibration-end", "1997-09-30",
              "--time-unit", "week", "--format", "json").output
    data = json.loads(out)
    bg, gg = data["bgnbd"], data["gamma_gamma"]
    assert {k: sig(bg[k]) for k in PUBLISHED_BGNBD} == {k: sig(v) for k, v in
                                                        PUBLISHED_BGNBD.items()}
    assert round(bg["log_likelihood"], 1) == -9582.4
    assert {k: sig(gg[k]) for k in PUBLISHED_GG} == {k: sig(v) for k, v in PUBLISHED_GG.items()}
    assert len(data["customers"]) == 2357 and bg["customers"] == 2357
    first = data["customers"][0]
    assert {"user_id", "frequency", "recency", "T", "monetary_value", "probability_alive",
            "expected_purchases", "clv", "clv_tier"} <= set(first)
    assert data["spec"]["time_unit"] == "weeks"


def test_clv_command_with_a_holdout_period(cdnow_workspace):
    out = run("clv", "--workspace", cdnow_workspace, "--calibration-end", "1997-09-30",
              "--holdout-end", "1998-06-30", "--time-unit", "weeks", "--horizon", "39",
              "--discount-rate", "0", "--format", "json").output
    data = json.loads(out)
    holdout = pd.DataFrame(data["holdout"])
    # the whole sample's repeat purchase days after the calibration period (weeks 40-78)
    raw = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["m", "user_id", "date", "cds", "amount"], dtype={"date": str})
    days = raw.drop_duplicates(["user_id", "date"])
    assert holdout["actual_total"].sum() == (days["date"] > "19970930").sum()
    assert holdout["predicted_total"].sum() == pytest.approx(1653, abs=1)  # docs/value.md
    assert data["meta"]["holdout_end"] == "1998-06-30"


def test_loading_orders_without_order_ids_drops_identical_rows(tmp_path):
    out = run("load", cdnow_csv(tmp_path / "no_ids.csv", with_order_id=False), "--workspace",
              tmp_path / "w.duckdb", "--table", "orders", "--format", "json").output
    report = json.loads(out)
    assert report["duplicates"] == 21  # same customer, day and amount: why the test adds ids


@pytest.fixture(scope="module")
def finance_file(tmp_path_factory):
    from funnelscope.data.demo import generate

    path = tmp_path_factory.mktemp("finance") / "finance.duckdb"
    ws = fs.connect(str(path))
    for name, table in generate("finance", users=3000).items():
        ws.load(table, name)
    ws.backend.disconnect()
    del ws
    gc.collect()
    return path


COMMANDS = {
    "rfm": [],
    "clusters": ["--max-k", "5"],
    "clv": [],
    "cac": [],
    "churn-risk": ["--window-days", "21"],
}


@pytest.mark.parametrize("dataset", ["ecommerce", "finance"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_runs_on_the_demo_data(request, dataset, command):
    path = request.getfixturevalue("ecommerce_file" if dataset == "ecommerce" else
                                   "finance_file")
    data = json.loads(run(command, "--workspace", path, *COMMANDS[command],
                          "--format", "json").output)
    ws = fs.connect(str(path), read_only=True)
    buyers = set(ws.orders.user_id.to_pandas())
    spend_channels = set(ws.spend.channel.to_pandas())
    ws.backend.disconnect()
    gc.collect()
    if command == "rfm":
        assert {r["user_id"] for r in data["customers"]} == buyers
        assert sum(r["customers"] for r in data["segments"]) == len(buyers)
    elif command == "clusters":
        assert {r["user_id"] for r in data["customers"]} == buyers
        assert len({r["label"] for r in data["profiles"]}) == data["meta"]["k"]
    elif command == "clv":
        assert {"r", "alpha", "a", "b", "log_likelihood"} <= set(data["bgnbd"])
        assert {"p", "q", "gamma"} <= set(data["gamma_gamma"])
        assert {r["user_id"] for r in data["customers"]} == buyers
        assert all(r["clv"] >= 0 for r in data["customers"])
    elif command == "cac":
        cac = {r["channel"]: r for r in data["cac"]}
        assert spend_channels <= set(cac)
        for channel in spend_channels:
            row = cac[channel]
            assert row["new_customers"] > 0
            assert row["cac"] == pytest.approx(row["spend"] / row["new_customers"])
    else:
        assert {r["user_id"] for r in data["at_risk"]} == buyers
        assert [r["rank"] for r in data["at_risk"]] == list(range(1, len(buyers) + 1))
        assert data["metrics"]["customers"] > 0


@pytest.mark.parametrize("command, csv_key", [("rfm", "rfm_segment"), ("cac", "cac"),
                                              ("clv", "clv_tier")])
def test_table_and_csv_output(ecommerce_file, command, csv_key):
    table = run(command, "--workspace", ecommerce_file).output
    assert {"rfm": "RFM segments as of", "cac": "Customer acquisition cost",
            "clv": "CLV tiers over"}[command] in table
    frame = pd.read_csv(StringIO(run(command, "--workspace", ecommerce_file,
                                     "--format", "csv").output))
    assert csv_key in frame.columns and len(frame) > 0


def test_save_keeps_segments_and_read_only_runs_do_not_write(ecommerce_file, tmp_path):
    workspace = tmp_path / "shop.duckdb"
    shutil.copy(ecommerce_file, workspace)
    run("clv", "--workspace", workspace, "--format", "json")  # read-only: nothing saved
    ws = fs.connect(str(workspace), read_only=True)
    assert not ws.has_table("segments")
    ws.backend.disconnect()
    gc.collect()
    out = run("rfm", "--workspace", workspace, "--save").output
    assert "Saved rfm_segment, rfm_score" in out
    run("churn-risk", "--workspace", workspace, "--window-days", "21", "--save", "--top", "3")
    ws = fs.connect(str(workspace), read_only=True)
    saved = ws.table("segments").to_pandas()
    assert list(saved.columns) == ["user_id", "rfm_segment", "rfm_score", "churn_risk"]
    groups = ws.funnel(["view", "pay"], "30d", by="rfm_segment").groups
    ws.backend.disconnect()
    gc.collect()
    assert set(groups["group"]) - {"(none)", "other"} <= set(saved["rfm_segment"])


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_has_an_example(command):
    out = run(command, "--help").output
    assert "Example" in out and f"funnelscope {command}" in out
    assert "--workspace" in out and "--format" in out


def test_command_errors_are_clear(ecommerce_file):
    result = run("rfm", "--workspace", ecommerce_file, "--format", "xml", ok=False)
    assert isinstance(result.exception, ConfigError) and "--format" in str(result.exception)
    result = run("clv", "--orders", DATA / "rfm_data_orders.csv", "--save", ok=False)
    assert isinstance(result.exception, ConfigError) and "--save needs" in str(result.exception)
    result = run("clv", "--workspace", ecommerce_file, "--time-unit", "fortnight", ok=False)
    assert "unknown value 'fortnight'" in str(result.exception)


def test_rfm_command_on_an_orders_file_in_place_matches_the_rfm_package():
    from .test_value_rfm import PUBLISHED_ROWS

    out = run("rfm", "--orders", DATA / "rfm_data_orders.csv", "--map",
              "user_id=customer_id,ts=order_date,amount=revenue", "--as-of", "2006-12-31",
              "--format", "csv").output
    table = pd.read_csv(StringIO(out)).set_index("user_id")
    for customer, recency, count, amount, score in PUBLISHED_ROWS:
        assert table.loc[customer, ["recency_days", "frequency", "monetary", "rfm_score"]
                         ].tolist() == [recency, count, amount, score]
