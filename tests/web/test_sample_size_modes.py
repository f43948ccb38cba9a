"""sample-size's two other questions: the effect a number of users detects (--users), and the
run time from a workspace's current traffic (--workspace --entry-event / entry_event=).

Oracles: the power formula of R's power.prop.test written out here with scipy (the MDE found
must give exactly the asked power, and the sample size for it must give back the users), and
a plain count of distinct users over the raw events for the traffic.
"""

from __future__ import annotations

import math

import duckdb
import pytest
from scipy.stats import norm

from tests.web.test_experiment_api import cli_json


def r_power(n: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """R power.prop.test (strict = FALSE), written from its source."""
    qu = norm.ppf(1 - alpha / 2)
    d = abs(p1 - p2)
    q1, q2 = 1 - p1, 1 - p2
    pbar, qbar = (p1 + p2) / 2, (q1 + q2) / 2
    return norm.cdf((math.sqrt(n) * d - qu * math.sqrt(2 * pbar * qbar)) / math.sqrt(p1 * q1 + p2 * q2))


@pytest.mark.parametrize("users,baseline,power,relative", [
    (3000, 0.12, 0.8, True), (500, 0.3, 0.9, False), (100_000, 0.02, 0.8, False),
])
def test_mde_gives_the_power_asked_and_round_trips(capsys, users, baseline, power, relative):
    argv = ["sample-size", "--baseline", str(baseline), "--users", str(users), "--power",
            str(power), "--format", "json"] + (["--relative"] if relative else [])
    out = cli_json(capsys, argv)
    assert out["solved_for"] == "mde" and out["per_variant"] == users
    p2 = out["target"]
    assert p2 > baseline
    assert r_power(users, baseline, p2) == pytest.approx(power, abs=1e-9)
    assert out["mde"] == pytest.approx(p2 / baseline - 1 if relative else p2 - baseline)
    back = cli_json(capsys, ["sample-size", "--baseline", str(baseline), "--mde",
                             repr(out["mde_absolute"]), "--power", str(power), "--format", "json"])
    assert back["per_variant_exact"] == pytest.approx(users, rel=1e-6)


def test_mde_or_users_exactly_one(capsys):
    from funnelscope.cli.app import main

    for argv in (["sample-size", "--baseline", "0.2"],
                 ["sample-size", "--baseline", "0.2", "--mde", "0.05", "--users", "100"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "--mde" in capsys.readouterr().err


def test_run_time_from_the_workspace_traffic(capsys, make_client, web_workspace):
    con = duckdb.connect(str(web_workspace), read_only=True)
    users = con.execute(
        "WITH e AS (SELECT user_id, ts FROM events WHERE event = 'view') "
        "SELECT count(DISTINCT user_id) FROM e WHERE ts > (SELECT max(ts) FROM e) - INTERVAL 28 DAY"
    ).fetchone()[0]
    con.close()
    argv = ["sample-size", "--baseline", "0.12", "--mde", "0.1", "--relative", "--workspace",
            str(web_workspace), "--entry-event", "view", "--format", "json"]
    out = cli_json(capsys, argv)
    assert out["traffic"]["users"] == users and out["daily_users"] == users / 28
    assert out["days"] == math.ceil(out["per_variant"] * 2 / (users / 28))
    api = make_client().get("/api/sample-size", params={
        "baseline": 0.12, "mde": 0.1, "relative": "true", "entry_event": "view"})
    assert api.status_code == 200, api.text
    assert api.json() == out
    bad = make_client().get("/api/sample-size", params={
        "baseline": 0.12, "mde": 0.1, "entry_event": "veiw"})
    assert bad.status_code == 400 and "did you mean" in bad.text
