"""The loader's text normalisation (``ingest._text``) equals ``NULLIF(TRIM(x), '')`` on every
input: its shortcut (values that need no trim are returned as they are) must never change a
value. Oracle: DuckDB's own ``TRIM`` on the same values, and Python's definition of what TRIM
strips (the Unicode space separators, category Zs)."""

from __future__ import annotations

import unicodedata

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelscope.data.ingest import _text

ZS = [chr(i) for i in range(0x110000) if unicodedata.category(chr(i)) == "Zs"]
EDGES = ["", " ", "a", " a", "a ", "\ta\t", "\u00a0x", "x\u3000", "\u3000", "支付", " 支付",
         "支付\u2003", "~", "\x7f", "!", "a b", "é", "\x01", "a\u00a0", "\u2028a", "\n"]


def _both(values: list[str | None]) -> list[tuple]:
    con = duckdb.connect()
    con.register("t", pa.table({"v": pa.array(values, pa.string())}))
    return con.execute(
        f"SELECT {_text('v')}, NULLIF(TRIM(v), '') FROM t"  # noqa: S608 - test-built SQL
    ).fetchall()


def test_duckdb_trim_strips_exactly_the_space_separators():
    con = duckdb.connect()
    stripped = [c for c in map(chr, range(1, 0x3100)) if not 0xD800 <= ord(c) <= 0xDFFF
                and con.execute("SELECT length(trim(? || 'a'))", [c]).fetchone()[0] == 1]
    assert stripped == [c for c in ZS if ord(c) < 0x3100]


@pytest.mark.parametrize("value", EDGES + [None] + [z + "a" for z in ZS] + ["a" + z for z in ZS])
def test_edges_equal_trim(value):
    ours, trimmed = _both([value])[0]
    assert ours == trimmed


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(), st.text(alphabet=st.sampled_from(
    ZS[:6] + [" ", "\t", "a", "Z", "0", "é", "支", "~", "\x7f", "!"]))), max_size=40))
def test_random_text_equals_trim(values):
    for ours, trimmed in _both(values):
        assert ours == trimmed


def test_non_text_sources_are_cast_first():
    con = duckdb.connect()
    got = con.execute(f"SELECT {_text('x')} FROM (VALUES (42), (-7)) t(x)").fetchall()  # noqa: S608
    assert got == [("42",), ("-7",)]
