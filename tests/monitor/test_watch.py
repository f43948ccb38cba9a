"""funnelscope watch: daily conversion against the same weekday of earlier weeks.

Synthetic workspaces (UTC), 8 weeks from Monday 2026-01-05: every day 200 users view (100 per
channel, ads and organic), and pay within 30 minutes at 30% on weekdays and 15% on weekends
(strong weekly seasonality), with a small deterministic wobble. The injected workspace is the
same except that on Wednesday 2026-02-18 almost no ads users pay. Oracle: the injected day
and metric are known by construction.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses import registry
from funnelscope.errors import ConfigError

START = date(2026, 1, 5)  # a Monday
DAYS = 56
DROP = date(2026, 2, 18)  # a Wednesday of week 7
USERS_PER_CHANNEL = 100


def events(drop: date | None) -> pd.DataFrame:
    rows = []
    for i in range(DAYS):
        d = START + timedelta(days=i)
        rate = 0.15 if d.weekday() >= 5 else 0.30
        for channel in ("ads", "organic"):
            payers = round(USERS_PER_CHANNEL * rate) + (i % 3) - 1  # wobble: -1, 0, +1
            if d == drop and channel == "ads":
                payers = 2
            for u in range(USERS_PER_CHANNEL):
                uid = f"{channel}-{i}-{u}"
                t = datetime(d.year, d.month, d.day, 8, tzinfo=UTC) + timedelta(minutes=5 * u)
                rows.append({"user_id": uid, "event": "view", "ts": t, "channel": channel})
                if u < payers:
                    rows.append({"user_id": uid, "event": "pay", "ts": t + timedelta(minutes=20),
                                 "channel": channel})
    return pd.DataFrame(rows)


def build(path, drop: date | None):
    ws = fs.connect(str(path))
    ws.load(events(drop), "events")
    ws.close()
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return build(tmp_path_factory.mktemp("watch-clean") / "w.duckdb", None)


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("watch-drop") / "w.duckdb", DROP)
    (path.parent / "funnelscope.yml").write_text(
        "funnels:\n  checkout:\n    steps: [view, pay]\n    window: 1h\n    period: week\n",
        encoding="utf-8")
    return path


def watch(path, **kw):
    ws = fs.connect(str(path), read_only=True)
    try:
        return ws.watch(["view", "pay"], window="1h", since="28d", **kw)
    finally:
        ws.close()


def cli(capsys, *args: str) -> tuple[int, str]:
    from funnelscope.cli.app import main

    capsys.readouterr()
    try:
        main(["watch", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr().out


def test_an_injected_drop_flags_exactly_that_day(injected):
    result = watch(injected)
    alerts = result.to_dict()["alerts"]
    assert [(a["metric"], a["date"], a["direction"]) for a in alerts] == \
        [("conversion:pay", DROP.isoformat(), "down")]
    alert = alerts[0]
    organic = 30 + (DROP - START).days % 3 - 1
    assert alert["observed"] == pytest.approx((2 + organic) / 200)
    assert alert["expected"] == pytest.approx(0.30, abs=0.011)
    assert alert["observed"] < alert["low"] and alert["size"] < 0
    assert alert["top_segments"] == []  # no --by


def test_clean_seasonal_data_gives_no_alert(clean):
    result = watch(clean)
    assert result.to_dict()["alerts"] == []
    series = result.to_dict()["series"]
    judged = [r for r in series if r["judged"]]
    assert judged, "days must be judged"
    weekend = [r for r in judged if r["metric"] == "conversion:pay"
               and date.fromisoformat(r["date"]).weekday() >= 5]
    assert weekend and all(r["expected"] < 0.2 for r in weekend)  # the weekday's own baseline


def test_last_day_and_small_days_are_not_judged(injected):
    series = watch(injected).to_dict()["series"]
    last = (START + timedelta(days=DAYS - 1)).isoformat()
    assert all(not r["judged"] for r in series if r["date"] == last)  # day not over in the data
    strict = watch(injected, min_entrants=500).to_dict()
    assert strict["alerts"] == []
    assert not any(r["judged"] for r in strict["series"] if r["metric"] != "entrants")


def test_by_segment_names_the_segment_of_the_drop(injected):
    alerts = watch(injected, by="channel").to_dict()["alerts"]
    assert len(alerts) == 1
    top = alerts[0]["top_segments"]
    assert top[0]["segment"] == "ads"
    assert top[0]["contribution"] == pytest.approx(0.5 * (0.02 - 0.30), abs=0.01)
    assert top[0]["explains"] > 0.9
    assert all(s["segment"] != "organic" for s in top)  # organic did not move down


def test_cli_exit_status_and_json_equal_python(injected, clean, capsys):
    args = ["--steps", "view,pay", "--window", "1h", "--since", "28d", "--format", "json"]
    code, out = cli(capsys, "--workspace", str(injected), *args)
    assert code == 1
    expected = json.loads(json.dumps(watch(injected).to_dict()))
    assert json.loads(out) == expected
    code, out = cli(capsys, "--workspace", str(clean), *args)
    assert code == 0 and json.loads(out)["alerts"] == []
    code, out = cli(capsys, "--workspace", str(injected), "--steps", "view,pay", "--window", "1h",
                    "--since", "28d")  # the table for people exits 1 too
    assert code == 1 and DROP.isoformat() in out and "▼" in out


def test_named_funnel_and_csv(injected, capsys):
    code, out = cli(capsys, "--workspace", str(injected), "--name", "checkout", "--since", "28d",
                    "--by", "channel", "--format", "json")
    assert code == 1
    assert json.loads(out) == json.loads(json.dumps(watch(injected, by="channel").to_dict()))
    code, out = cli(capsys, "--workspace", str(injected), "--name", "checkout", "--since", "28d",
                    "--by", "channel", "--format", "csv")
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 2 and lines[0].startswith("metric,date,observed")
    assert lines[1].split(",")[-1].startswith("ads (")


def test_entry_and_errors(injected):
    entry = registry.get("watch")
    assert entry.exit_status == "funnelscope.cli.commands.watch_view:exit_status"
    assert not any(p.api for p in entry.params if p.name == "webhook")  # never on the server
    ws = fs.connect(str(injected), read_only=True)
    with pytest.raises(ConfigError, match="at least two steps"):
        ws.watch(["view"])
    with pytest.raises(ConfigError, match="weeks"):
        ws.watch(["view", "pay"], weeks=2)
    ws.close()
