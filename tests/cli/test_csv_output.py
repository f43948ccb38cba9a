"""CSV for spreadsheets (funnelscope.tabular.to_csv) and the CLI's ``--format csv``.

Oracles: OWASP's CSV-injection rule (text starting with = + - @ tab CR gets a leading quote;
numbers never change), a round trip through pandas' and Python's CSV readers, and plain facts
(a cut table reports its real length).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelscope.tabular import FORMULA_STARTS, escape_cell, to_csv


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_formula_text_is_escaped_and_numbers_are_not():
    df = pd.DataFrame({
        "step": ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\ry", "view", "北京", None],
        "entities": [-5, 1, 2, 3, 4, 5, 6, 7, 8],
        "rate": [-0.5, np.nan, 0.1, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    text, truncated = to_csv(df)
    assert truncated is None
    rows = read(text)
    assert rows[0] == ["step", "entities", "rate"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "'\ry",
                                         "view", "北京", ""]
    assert [r[1] for r in rows[1:]][:2] == ["-5", "1"]  # negative numbers stay numbers
    assert rows[1][2] == "-0.5" and rows[2][2] == ""


def test_column_names_and_categories_and_string_dtypes_are_escaped():
    df = pd.DataFrame({"=evil": pd.Categorical(["-a", "b"]),
                       "s": pd.array(["@x", None], dtype="string")})
    rows = read(to_csv(df)[0])
    assert rows == [["'=evil", "s"], ["'-a", "'@x"], ["b", ""]]


def test_records_header_always_and_truncation():
    records = [{"name": f"r{i}", "n": i} for i in range(5)]
    text, total = to_csv(records, max_rows=2)
    assert read(text) == [["name", "n"], ["r0", "0"], ["r1", "1"]] and total == 5
    assert to_csv(records, max_rows=5)[1] is None and to_csv(records)[1] is None
    text, total = to_csv(pd.DataFrame({"a": pd.Series([], dtype=object)}))
    assert text == "a\n" and total is None  # a header even without rows
    assert to_csv(records, max_rows=0) == ("name,n\n", 5)
    with pytest.raises(ValueError):
        to_csv(records, max_rows=-1)


def test_awkward_cells_round_trip():
    records = [{"a": "x,y", "b": 'say "hi"', "c": "two\nlines", "d": "a\rb", "e": " pad "},
               {"a": "", "b": None, "c": "a\r\nb", "d": "ü", "e": "x"}]
    text, _ = to_csv(records)
    assert text.endswith("\n") and "\r\n" not in text.replace('"a\r\nb"', "")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert back.to_dict("records") == [
        {"a": "x,y", "b": 'say "hi"', "c": "two\nlines", "d": "a\rb", "e": " pad "},
        {"a": "", "b": "", "c": "a\r\nb", "d": "ü", "e": "x"}]
    assert read(to_csv([{"a": None}, {"a": "x"}])[0]) == [["a"], [""], ["x"]]  # no lost row


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(st.text(max_size=8), st.integers(-10**6, 10**6),
                          st.floats(allow_nan=False, allow_infinity=False)), min_size=1,
                max_size=6))
def test_every_cell_round_trips_escaped(values):
    text, _ = to_csv([{"v": v} for v in values])
    cells = [row[0] for row in read(text)[1:]]
    assert len(cells) == len(values)
    for cell, v in zip(cells, values, strict=True):
        if isinstance(v, str):
            assert cell == escape_cell(v)
            assert not cell.startswith(FORMULA_STARTS)
        else:
            assert float(cell) == v  # numbers unchanged, even negative ones


def test_cli_csv_is_escaped_utf8_and_never_cut(capsys, monkeypatch):
    from funnelscope.cli.output import print_csv

    rows = [{"name": "=HYPERLINK(\"http://x\")", "city": "上海", "n": -1}] * 30_000
    capsys.readouterr()
    print_csv(rows)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 30_001  # header + every row: the CLI never truncates
    assert lines[1] == "\"'=HYPERLINK(\"\"http://x\"\")\",上海,-1"
    print_csv(pd.DataFrame(rows[:2]))
    assert capsys.readouterr().out.splitlines()[1:] == lines[1:3]


def test_cli_writes_utf8_bytes_whatever_the_locale(monkeypatch):
    import sys

    from funnelscope.cli.output import print_csv

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="latin-1")  # a locale that cannot hold 中文
    monkeypatch.setattr(sys, "stdout", stream)
    print_csv([{"城市": "北京", "n": 1}])
    stream.flush()
    assert raw.getvalue().decode("utf-8") == "城市,n\n北京,1\n"
