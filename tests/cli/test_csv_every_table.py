"""``funnelscope <command> --format csv --table NAME`` for every table every analysis offers.

The commands and tables come from :data:`funnelscope.analyses.registry.ENTRIES` (each entry's
``csv`` tuple), so a new analysis or table is covered without touching this file; the only
hand-written part is :data:`EXTRA`, the options a table needs to exist at all.

Oracles: exit status 0 and Python's csv module reading a header and at least one row, with
as many cells in every row as in the header, on the demo workspace (``funnelscope demo
--dataset all``); an unknown ``--table`` is a usage error (exit 2) naming every table; the
funnel's breakdown tables have the step names, in order, as columns.

The commands run in process through the CLI's entry point (``funnelscope.cli.app.main``,
the function the ``funnelscope`` script calls), which keeps ~50 runs in seconds.
"""

from __future__ import annotations

import csv
import gc
import io
import subprocess
import sys
from pathlib import Path

import pytest

from funnelscope.analyses.registry import ENTRIES, Analysis

FUNNELSCOPE = Path(sys.executable).parent / "funnelscope"
if not FUNNELSCOPE.exists():  # pragma: no cover - tests run with the venv's python
    FUNNELSCOPE = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "funnelscope"
STEPS = ["view", "add_to_cart", "checkout", "pay"]

#: (analysis name, table or "*" for all its tables) -> the options that table needs
EXTRA: dict[tuple[str, str], list[str]] = {
    ("funnel", "*"): ["--steps", ",".join(STEPS)],
    ("funnel", "groups"): ["--by", "channel"],
    ("funnel", "periods"): ["--period", "week"],
    ("funnel", "compare"): ["--compare-by", "platform"],
    ("pipeline", "funnel_by"): ["--by", "owner"],
    ("pipeline", "funnel_by_period"): ["--period", "quarter"],
    ("clv", "holdout"): ["--calibration-end", "2026-02-28", "--holdout-end", "2026-03-31"],
    ("retention", "average_by"): ["--by", "channel"],
    ("experiment", "*"): ["--steps", "pay", "--experiment", "checkout_redesign", "--metric",
                          "conversion,count:add_to_cart,revenue", "--cuped"],
    ("watch", "*"): ["--steps", "view,add_to_cart,pay", "--window", "1d"],
    ("paths", "*"): ["--after", "checkout", "--dropped", "--steps",
                     "view,add_to_cart,checkout,pay"],
    ("retention", "brackets"): ["--brackets", "1,2-3"],
    ("retention", "average_brackets"): ["--brackets", "1,2-3"],
    ("attribution", "*"): ["--conversion-event", "pay"],
    ("attribution", "revenue"): ["--value", "revenue"],
    ("satisfaction", "groups"): ["--by", "channel"],
    ("satisfaction", "periods"): ["--period", "week"],
    ("traffic", "groups"): ["--by", "channel"],
    ("traffic", "periods"): ["--period", "week", "--by", "campaign"],
    ("leads", "*"): ["--target-event", "repurchase", "--top", "20"],
    ("pipeline", "bottlenecks_by"): ["--by", "owner"],
}
#: (analysis name, table) -> a known bug that makes the table fail (strict: fixing it fails
#: the test until the entry is removed here)
KNOWN_BUGS: dict[tuple[str, str], str] = {
}


def extra(entry: Analysis, table: str) -> list[str]:
    return EXTRA.get((entry.name, "*"), []) + EXTRA.get((entry.name, table), [])


CASES = [pytest.param(entry, table, id=f"{entry.cli_name}-{table}",
                      marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[entry.name, table])]
                      if (entry.name, table) in KNOWN_BUGS else [])
         for entry in ENTRIES for table in entry.csv]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The demo workspace: e-commerce events, customers, orders, spend and the b2b deals."""
    tmp = tmp_path_factory.mktemp("csv-demo")
    proc = subprocess.run(
        [str(FUNNELSCOPE), "demo", "--dataset", "all", "--workspace", "demo/funnelscope.duckdb",
         "--users", "1500"], cwd=tmp, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return tmp / "demo" / "funnelscope.duckdb"


def cli(capsysbinary, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``funnelscope ARGS``."""
    from funnelscope.cli.app import main

    capsysbinary.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        gc.collect()  # close the command's DuckDB connection before the next one
    out, err = capsysbinary.readouterr()
    return code, out.decode("utf-8"), err.decode("utf-8")


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_entry_offers_csv_tables():
    assert CASES, "no analysis offers a CSV table?"
    for (name, table) in EXTRA:
        entry = next((e for e in ENTRIES if e.name == name), None)
        assert entry is not None and (table == "*" or table in entry.csv), (name, table)


#: (analysis, table) -> why the table may have no rows on the demo (its header must still print)
MAY_BE_EMPTY = {("watch", "alerts"): "no alert fires on the small demo (a clean day is no row)"}


@pytest.mark.parametrize(("entry", "table"), CASES)
def test_every_csv_table_prints_rows(entry, table, workspace, capsysbinary):
    args = [entry.cli_name, "--workspace", workspace, *extra(entry, table),
            "--format", "csv", "--table", table, "--quiet"]
    code, out, err = cli(capsysbinary, *args)
    shown = "funnelscope " + " ".join(map(str, args))
    assert code == 0, f"{shown}\nexit {code}: {err}"
    rows = read_csv(out)
    least = 1 if (entry.name, table) in MAY_BE_EMPTY else 2
    assert len(rows) >= least, f"{shown}\nno header and row in:\n{out!r}"
    header = rows[0]
    assert all(header) and len(set(header)) == len(header), header
    assert all(len(r) == len(header) for r in rows[1:]), f"{shown}: ragged rows"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.cli_name)
def test_an_unknown_table_is_a_usage_error_listing_the_tables(entry, workspace, capsysbinary):
    code, out, err = cli(capsysbinary, entry.cli_name, "--workspace", workspace, "--format", "csv",
                         "--table", "no_such_table")
    assert code == 2, (code, out, err)
    assert out == ""
    assert "no_such_table" in err
    listed = err.split("Use one of:", 1)[-1]
    assert all(t in listed for t in entry.csv), err


@pytest.mark.parametrize(("table", "option"), [("groups", ["--by", "channel"]),
                                               ("periods", ["--period", "week"])])
def test_funnel_breakdown_csv_has_the_steps_as_columns(table, option, workspace, capsysbinary):
    code, out, err = cli(capsysbinary, "funnel", "--workspace", workspace, "--steps",
                         ",".join(STEPS), *option, "--format", "csv", "--table", table)
    assert code == 0, err
    rows = read_csv(out)
    header = rows[0]
    key = "group" if table == "groups" else "period"
    assert header[0] == key
    assert header[1:1 + len(STEPS)] == STEPS, header
    assert len(rows) >= 2
    for row in rows[1:]:  # entities per step never grow along the funnel
        counts = [int(v) for v in row[1:1 + len(STEPS)]]
        assert counts == sorted(counts, reverse=True), row
    if table == "groups":
        channels = {row[0] for row in rows[1:]}
        assert {"ads", "search", "organic"} <= channels, channels


NEEDS = [(e, t) for e in ENTRIES for t in e.csv_needs if t != "backtest"]


@pytest.mark.parametrize(("entry", "table"), NEEDS,
                         ids=[f"{e.cli_name}-{t}" for e, t in NEEDS])
def test_a_table_that_needs_an_option_says_which(entry, table, workspace, capsysbinary):
    """Without the option it needs, a table is a usage error naming the option, never an
    empty output."""
    base = [a for a in extra(entry, "*")]
    code, out, err = cli(capsysbinary, entry.cli_name, "--workspace", workspace, *base,
                         "--format", "csv", "--table", table, "--quiet")
    assert code == 2 and out == "", (code, out, err)
    assert f"it needs {entry.csv_needs[table]}" in err
