"""``funnelscope abtest`` / ``sample-size`` and :func:`compare_counts`'s JSON contract.

Oracles: the contract's key set (docs/experiments.md), the pure functions of
``experiment.stats`` (themselves checked against scipy/statsmodels/R in test_stats.py),
statsmodels' Holm adjustment, R's ``power.prop.test`` number (n = 1093.739 for 0.2 vs 0.25),
exit status 2 with one ``error:`` line for bad input, and every ``--help`` example running.
The commands run in process through ``funnelscope.cli.app.main`` (what the script calls).
"""

from __future__ import annotations

import json
import re
import shlex

import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from funnelscope.analyses.experiment import compare_counts
from funnelscope.analyses.experiment import stats as S
from funnelscope.cli.app import main
from funnelscope.errors import ConfigError

CONTRACT = {
    "variants": {"variant", "users", "conversions", "rate"},
    "comparison": {"variant", "control", "absolute", "relative", "sequential", "bayesian",
                   "tests", "p_adjusted"},
    "absolute": {"estimate", "ci_low", "ci_high", "p_value"},
    "relative": {"estimate", "ci_low", "ci_high", "p_value"},
    "sequential": {"ci_low", "ci_high", "p_value"},
    "bayesian": {"chance_to_win", "expected_loss"},
    "tests": {"z_pooled", "chi2_yates", "fisher"},
    "srm": {"p_value", "ok"},
}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def assert_contract(result: dict) -> None:
    assert {"variants", "comparisons", "srm"} <= result.keys()
    for v in result["variants"]:
        assert CONTRACT["variants"] <= v.keys()
    for c in result["comparisons"]:
        assert CONTRACT["comparison"] <= c.keys()
        for block in ("absolute", "relative", "sequential", "bayesian"):
            assert CONTRACT[block] <= c[block].keys(), block
        assert CONTRACT["tests"] <= c["tests"].keys()
        assert {"statistic", "p_value"} <= c["tests"]["z_pooled"].keys()
        assert {"statistic", "p_value"} <= c["tests"]["chi2_yates"].keys()
        assert "p_value" in c["tests"]["fisher"]
    assert CONTRACT["srm"] <= result["srm"].keys()


def test_compare_counts_contract_and_numbers():
    res = compare_counts((200, 1000), [("B", 250, 1000), ("C", 215, 1000)])
    assert_contract(res)
    json.dumps(res, allow_nan=False)  # valid JSON, no NaN
    assert [v["variant"] for v in res["variants"]] == ["A", "B", "C"]
    assert res["variants"][1]["rate"] == 0.25
    b = res["comparisons"][0]
    assert (b["variant"], b["control"]) == ("B", "A")
    assert b["absolute"] == S.absolute_lift(200, 1000, 250, 1000).to_dict()
    assert b["relative"] == S.relative_lift(200, 1000, 250, 1000).to_dict()
    z = st.chi2_contingency([[250, 200], [750, 800]], correction=True)
    assert b["tests"]["chi2_yates"] == pytest.approx({"statistic": z.statistic, "p_value": z.pvalue})
    assert b["tests"]["fisher"]["p_value"] == pytest.approx(
        st.fisher_exact([[250, 750], [200, 800]]).pvalue)
    raw = [c["tests"]["z_pooled"]["p_value"] for c in res["comparisons"]]
    assert [c["p_adjusted"] for c in res["comparisons"]] == pytest.approx(
        list(multipletests(raw, method="holm")[1]))
    assert b["sequential"]["ci_low"] < b["relative"]["ci_low"]
    assert b["sequential"]["ci_high"] > b["relative"]["ci_high"]
    assert 0.99 < b["bayesian"]["chance_to_win"] < 1
    assert res["srm"]["ok"] is True


def test_compare_counts_srm_and_degenerate_counts():
    res = compare_counts((476, 4762), [("B", 524, 5238)])
    assert res["srm"]["ok"] is False and res["srm"]["p_value"] < 0.001
    planned = compare_counts((200, 2000), [("B", 800, 8000)], expected_split=[20, 80])
    assert planned["srm"]["ok"] is True
    zero = compare_counts((0, 100), [("B", 0, 100)])
    assert_contract(zero)
    json.dumps(zero, allow_nan=False)
    c = zero["comparisons"][0]
    assert c["relative"]["estimate"] is None and c["tests"]["z_pooled"]["p_value"] is None
    assert c["p_adjusted"] is None and c["tests"]["fisher"]["p_value"] == 1.0
    for bad in [((5, 4), [("B", 1, 2)]), ((1, 0), [("B", 1, 2)]), ((1, 10), []),
                ((1, 10), [("A", 1, 10)]), ((1.5, 10), [("B", 1, 2)])]:
        with pytest.raises(ConfigError):
            compare_counts(*bad)


def test_abtest_json_names_and_defaults(capsys):
    code, out, err = run(capsys, "abtest", "--control", "200/1000", "--treatment", "250/1000",
                         "--treatment", "Blue=1,260/10,000", "-t", "215/1000", "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert_contract(res)
    assert [v["variant"] for v in res["variants"]] == ["A", "B", "Blue", "D"]
    assert res["variants"][2]["users"] == 10_000 and res["variants"][2]["conversions"] == 1260
    assert res == json.loads(json.dumps(compare_counts(
        (200, 1000), [("B", 250, 1000), ("Blue", 1260, 10_000), ("D", 215, 1000)])))


def test_abtest_table_and_csv(capsys):
    code, out, _ = run(capsys, "abtest", "--control", "200/1000", "--treatment", "250/1000")
    assert code == 0
    assert "B vs A" in out and "+25.00%" in out and "Sample ratio OK" in out
    code, out, _ = run(capsys, "abtest", "--control", "4762/47620", "--treatment", "5238/52380")
    assert code == 0 and "Sample ratio mismatch" in out
    code, out, _ = run(capsys, "abtest", "-c", "200/1000", "-t", "250/1000", "--format", "csv")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2 and lines[0].startswith("variant,control,absolute_estimate")


@pytest.mark.parametrize("argv,message", [
    (["--control", "1200/1000", "--treatment", "1/10"], "more conversions (1200) than users"),
    (["--control", "200/1000", "--treatment", "B=20/0"], "zero users"),
    (["--control", "abc", "--treatment", "1/10"], "cannot read 'abc'"),
    (["--control", "2.5/10", "--treatment", "1/10"], "not a whole number"),
    (["--control", "-1/10", "--treatment", "1/10"], "not a whole number"),
    (["--control", "1/10", "--treatment", "A=1/10"], "must be unique"),
    (["--control", "1/10", "--treatment", "1/10", "--split", "50,x"], "--split"),
    (["--control", "1/10", "--treatment", "1/10", "--split", "50,25,25"], "expected split"),
])
def test_abtest_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, "abtest", *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_sample_size_json_matches_r(capsys):
    # R: power.prop.test(p1 = 0.2, p2 = 0.25, power = 0.8)  ->  n = 1093.739 per group
    code, out, err = run(capsys, "sample-size", "--baseline", "0.2", "--mde", "0.05",
                         "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert res["per_variant"] == 1094 and res["total"] == 2188
    assert res["per_variant_exact"] == pytest.approx(1093.739, abs=1e-3)
    assert (res["baseline"], res["mde"], res["power"], res["alpha"]) == (0.2, 0.05, 0.8, 0.05)
    assert "days" not in res
    code, out, _ = run(capsys, "sample-size", "--baseline", "0.2", "--mde", "0.25", "--relative",
                       "--daily-users", "500", "--variants", "3", "--format", "json")
    res = json.loads(out)
    assert res["target"] == pytest.approx(0.25) and res["per_variant"] == 1094
    assert res["total"] == 3282 and res["days"] == 7  # 3282 / 500 = 6.6 -> 7
    code, out, _ = run(capsys, "sample-size", "--baseline", "0.2", "--mde", "0.05")
    assert code == 0 and "1,094" in out and "2,188" in out


@pytest.mark.parametrize("argv,message", [
    (["--baseline", "1.5", "--mde", "0.05"], "--baseline"),
    (["--baseline", "0.9", "--mde", "0.2"], "outside 0-1"),
    (["--baseline", "0.2", "--mde", "0"], "--mde"),
])
def test_sample_size_bad_input_exits_2(capsys, argv, message):
    code, _, err = run(capsys, "sample-size", *argv)
    assert code == 2 and err.startswith("error: ") and message in err


def _help_examples(capsys, command: str) -> list[str]:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    lines = [line.strip() for line in out.splitlines()]
    start = lines.index("Example:") + 1
    block = []
    for line in lines[start:]:
        if not line or line[0] in "╭│╰":
            break
        block.append(line)
    assert block, f"{command} --help shows no example"
    return block


@pytest.mark.parametrize("command", ["abtest", "sample-size"])
def test_every_help_example_runs(capsys, monkeypatch, tmp_path, command):
    """Each example runs as printed, from a directory whose ``demo/funnelscope.duckdb`` is a
    small ecommerce demo (what ``make demo`` makes; the test must not need it to exist)."""
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.chdir(tmp_path)
    examples = _help_examples(capsys, command)
    if any("demo/funnelscope.duckdb" in line for line in examples):
        code, _, err = run(capsys, "demo", "--dataset", "ecommerce", "--users", "300",
                           "--workspace", "demo/funnelscope.duckdb")
        assert code == 0, err
    for line in examples:
        argv = shlex.split(line)
        assert argv[0] == "funnelscope" and argv[1] == command, line
        code, out, err = run(capsys, *argv[1:])
        assert code == 0, f"$ {line}\n{err}"
        if "--format" in argv and argv[argv.index("--format") + 1] == "json":
            json.loads(out)
        assert re.search(r"\d", out)

