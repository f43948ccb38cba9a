"""Event names: typed lists, suggestions, the events listing, and the funnel's name check.

A funnel step that names no event of the data is an error with "did you mean", never a 0;
a step whose name exists but whose filter matches nothing is a true 0.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pyarrow as pa
import pytest

import funnelscope as fs
from funnelscope.analyses.event_names import (
    UnknownEventError,
    check_event_names,
    event_counts,
    event_name_counts,
    present_event_names,
    split_names,
    suggest_names,
    unchecked_event_names,
)
from funnelscope.cli.app import main
from funnelscope.errors import SpecError

ROWS = [  # user, event, time (UTC), amount
    ("u1", "view", "2024-01-01 10:00", None), ("u1", "add_to_cart", "2024-01-01 10:05", None),
    ("u1", "pay", "2024-01-01 10:10", 30),
    ("u2", "view", "2024-01-01 11:00", None), ("u2", "pay", "2024-01-01 11:30", 5),
    ("u3", "view", "2024-01-02 09:00", None), ("u3", "view", "2024-01-02 09:01", None),
    ("u3", "refund", "2024-01-02 09:30", None),
    ("u4", "浏览", "2024-01-03 08:00", None), ("u4", "支付", "2024-01-03 08:10", 12),
]


def _table(rows=ROWS) -> pa.Table:
    return pa.table({
        "event_id": pa.array([f"e{i}" for i in range(len(rows))]),
        "user_id": pa.array([r[0] for r in rows]),
        "event": pa.array([r[1] for r in rows]),
        "ts": pa.array([datetime.fromisoformat(r[2]).replace(tzinfo=UTC) for r in rows],
                       pa.timestamp("us", tz="UTC")),
        "amount": pa.array([r[3] for r in rows], pa.int64()),
    })


def _ws(path=None):
    """A DuckDB workspace whose events table is created directly with the canonical types."""
    ws = fs.connect(path) if path is not None else fs.connect()
    ws.duckdb.register("fs_rows", _table())
    ws.duckdb.execute("CREATE TABLE events AS SELECT * FROM fs_rows")
    ws.duckdb.unregister("fs_rows")
    return ws


# ----- typed lists ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, names", [
    ("view,add_to_cart,pay", ["view", "add_to_cart", "pay"]),
    (" view ， add_to_cart、pay ", ["view", "add_to_cart", "pay"]),
    ("浏览，加购、支付", ["浏览", "加购", "支付"]),
    ("\u3000view\u3000,,，、 pay", ["view", "pay"]),
    ("view", ["view"]),
    ("", []),
    (None, []),
    (["view,pay", "refund"], ["view", "pay", "refund"]),
    ("view,view", ["view", "view"]),
])
def test_split_names(text, names):
    assert split_names(text) == names


def test_suggestions_case_width_spacing_then_typos():
    known = ["view", "add_to_cart", "pay", "支付"]
    assert suggest_names("Pay", known) == ["pay"]
    assert suggest_names("ｐａｙ", known) == ["pay"]  # full-width letters (NFKC)
    assert suggest_names("add to cart", known) == ["add_to_cart"]
    assert suggest_names("veiw", known) == ["view"]
    assert suggest_names("xyzzy", known) == []


# ----- what the data holds ---------------------------------------------------------------------
def _oracle_counts(rows=ROWS):
    users, n, first, last = defaultdict(set), defaultdict(int), {}, {}
    for u, e, t, _ in rows:
        users[e].add(u)
        n[e] += 1
        first[e] = min(first.get(e, t), t)
        last[e] = max(last.get(e, t), t)
    order = sorted(n, key=lambda e: (-len(users[e]), -n[e], e))
    return [(e, len(users[e]), n[e], first[e], last[e]) for e in order]


def _as_tuples(records):
    return [(r["event"], r["users"], r["events"], r["first_seen"][:16].replace("T", " "),
             r["last_seen"][:16].replace("T", " ")) for r in records]


def test_event_counts_match_a_plain_count():
    ws = _ws()
    assert _as_tuples(event_counts(ws)) == _oracle_counts()
    assert _as_tuples(event_counts(ws, limit=2)) == _oracle_counts()[:2]
    assert event_counts(ws)[0]["first_seen"] == "2024-01-01T10:00:00+00:00"
    assert event_name_counts(ws) == {e: n for e, _, n, _, _ in
                                     sorted(_oracle_counts(), key=lambda r: (-r[2], r[0]))}
    assert present_event_names(ws, ["view", "nope", "支付"]) == {"view", "支付"}
    with pytest.raises(SpecError, match="limit"):
        event_counts(ws, limit=0)


def test_event_counts_in_the_reporting_time_zone():
    ws = _ws()
    ws.set_timezone("Asia/Shanghai")
    assert event_counts(ws)[0]["first_seen"] == "2024-01-01T18:00:00+08:00"


def test_event_counts_on_a_file_in_place(tmp_path):
    import pyarrow.parquet as pq

    t = _table().rename_columns(["event_id", "uid", "name", "time", "amount"])
    path = tmp_path / "events.parquet"
    pq.write_table(t, path)
    ws = fs.connect(events=path, columns={"events": {"user_id": "uid", "event": "name", "ts": "time"}})
    assert _as_tuples(event_counts(ws)) == _oracle_counts()


@pytest.mark.spark
def test_event_counts_on_spark(make_workspace):
    import pandas as pd

    frame = pd.DataFrame(ROWS, columns=["user_id", "event", "ts", "amount"])
    ws = make_workspace({"events": frame}, backend="pyspark", events={"tz": "UTC"})
    assert _as_tuples(event_counts(ws)) == _oracle_counts()
    assert present_event_names(ws, ["view", "nope"]) == {"view"}
    with pytest.raises(UnknownEventError, match="did you mean 'pay'"):
        check_event_names(ws, ["Pay"])


# ----- the funnel's check ---------------------------------------------------------------------
def test_a_typo_is_an_error_with_suggestions():
    ws = _ws()
    with pytest.raises(UnknownEventError) as exc:
        ws.funnel(["view", "veiw_x", "pay"], window="1d")
    err = exc.value
    assert isinstance(err, SpecError) and err.code == "unknown_event" and err.exit_code == 2
    assert err.names == ("veiw_x",) and err.what == "step"
    assert err.suggestions["veiw_x"][0] == "view"
    assert "step: no event named 'veiw_x' (did you mean 'view'" in err.message
    assert "funnelscope events --workspace" in err.hint
    assert err.to_dict()["error"]["code"] == "unknown_event"


def test_wrong_case_is_an_error():
    ws = _ws()
    with pytest.raises(UnknownEventError, match="no event named 'Pay' \\(did you mean 'pay'\\?\\)"):
        ws.funnel(["view", "Pay"], window="1d")
    with pytest.raises(UnknownEventError, match="did you mean 'view'"):
        ws.funnel(["VIEW"], window="1d")  # no entries at all


def test_full_width_comma_joined_names_are_explained():
    ws = _ws()
    with pytest.raises(UnknownEventError, match="it splits into 'view', 'pay'") as exc:
        ws.funnel(["view，pay"], window="1d")
    assert exc.value.suggestions == {"view，pay": ["view", "pay"]}
    # what the lead's CLI does with the typed list: two steps
    assert ws.funnel(split_names("view，pay"), window="1d").steps["entities"].tolist() == [3, 2]


def test_an_exclusion_typo_is_an_error():
    ws = _ws()
    with pytest.raises(UnknownEventError, match="exclusion: no event named 'refnud'") as exc:
        ws.funnel(["view", "pay"], window="1d", exclude=["refnud"])
    assert exc.value.suggestions["refnud"] == ["refund"]
    # the real name works, and excludes nothing here (no refund between view and pay)
    assert ws.funnel(["view", "pay"], window="1d", exclude=["refund"]).steps["entities"].tolist() == [3, 2]


def test_a_real_zero_is_still_zero():
    ws = _ws()
    # the name exists, the filter matches no row
    r = ws.funnel(["view", fs.step("pay", where={"amount": (">", 1000)})], window="1d")
    assert r.steps["entities"].tolist() == [3, 0]
    # both names exist, nobody does them in this order
    assert ws.funnel(["pay", "add_to_cart"], window="1d").steps["entities"].tolist() == [2, 0]
    # an analysis-wide filter leaves nothing
    assert ws.funnel(["view", "pay"], window="1d", start="2030-01-01").steps["entities"].tolist() == [0, 0]
    # Chinese names match exactly
    assert ws.funnel(["浏览", "支付"], window="1d").steps["entities"].tolist() == [1, 1]


def test_names_can_be_left_unchecked_on_purpose():
    ws = _ws()
    with unchecked_event_names():
        assert ws.funnel(["view", "nope"], window="1d", exclude=["nada"]).steps["entities"].tolist() == [3, 0]
    with pytest.raises(UnknownEventError):
        ws.funnel(["view", "nope"], window="1d")


def test_cli_exit_code_2_and_one_line(tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    _ws(path).close()
    with pytest.raises(SystemExit) as exc:
        main(["funnel", "--workspace", str(path), "--steps", "view,Pay", "--window", "1d"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: step: no event named 'Pay' (did you mean 'pay'?)")
    assert f"funnelscope events --workspace {path}" in err
    assert err.count("\n") == 1
