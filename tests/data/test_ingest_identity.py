"""``read = loaded + duplicates + conflicts + rejected``, for random mixes of good, bad,
duplicate and conflicting rows.

Hypothesis draws two batches of event rows (the second partly repeating the first) and loads
them one after the other. A plain-Python oracle applies the documented rules (trim ids and
names; the first failing check in column order; key = event_id if present else full content;
first occurrence wins, across loads too; a known key with other content is a conflict) and must
agree with the workspace on every count, every loaded row and every quarantined row.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelscope.data.ingest import load_into_duckdb

H10 = int(datetime(2024, 1, 1, 10, tzinfo=UTC).timestamp()) * 1_000_000
H02 = int(datetime(2024, 1, 1, 2, tzinfo=UTC).timestamp()) * 1_000_000
TIMES = {  # text -> epoch µs (None: unreadable; "" / None: empty)
    "2024-01-01 10:00:00": H10, "2024-01-01T10:00:00Z": H10, " 2024-01-01 02:00:00 ": H02,
    "2024-01-01T10:00:00+08:00": H02, str(H10 // 1_000_000): H10, str(H10 // 1000): H10,
    "soon": None, "2024-02-30 00:00:00": None, "": None,
}
row_strategy = st.tuples(
    st.sampled_from([None, "", "e1", " e1", "e2", "e3", "事件4"]),  # event_id
    st.sampled_from([None, "", "   ", "u1", " u1 ", "u2", "用户"]),  # user_id
    st.sampled_from([None, "", "view", "支付", " view"]),  # event
    st.sampled_from([None, *TIMES]),  # ts
    st.sampled_from([None, "", "free", "pro ", "企业"]),  # plan (a text property)
)
COLUMNS = ("event_id", "user_id", "event", "ts", "plan")


def blank(v: str | None) -> bool:
    return v is None or v.strip() == ""


def first_failure(row) -> str | None:
    """The documented check order: user_id, event, ts (empty, then unreadable)."""
    _, user, event, ts, _ = row
    if blank(user):
        return "user_id"
    if blank(event):
        return "event"
    if blank(ts) or TIMES[ts] is None:
        return "ts"
    return None


def canonical(row):
    eid, user, event, ts, plan = row
    return (None if blank(eid) else eid.strip(), user.strip(), event.strip(), TIMES[ts],
            plan or None)


def key(row):
    c = canonical(row)
    return ("id", c[0]) if c[0] is not None else ("content", *c[1:])


def oracle(batches):
    """Per load: (read, loaded, duplicates, conflicts, [(row, column)]); the rows in the table;
    and the (load, row, column) recorded in _rejected: a rejection or conflict is recorded once
    per source, row number and raw content (every batch here has the same source, <Table>)."""
    kept, table, reports, recorded, seen = {}, [], [], [], set()
    for load_id, rows in enumerate(batches, start=1):
        loaded, dups, conflicts, bad = 0, 0, 0, []
        for i, r in enumerate(rows, start=1):
            fail = first_failure(r)
            if not fail and key(r) in kept:
                if kept[key(r)] == canonical(r):
                    dups += 1
                    continue
                conflicts += 1
                fail = "event_id"
            if fail:
                bad.append((i, fail))
                if (i, r) not in seen:
                    seen.add((i, r))
                    recorded.append((load_id, i, fail))
            else:
                kept[key(r)] = canonical(r)
                table.append(canonical(r))
                loaded += 1
        reports.append((len(rows), loaded, dups, conflicts, bad))
    return reports, table, recorded


def as_arrow(rows) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in COLUMNS]
    return pa.table({c: pa.array(list(v), pa.string()) for c, v in zip(COLUMNS, cols, strict=True)})


@st.composite
def two_batches(draw):
    first = draw(st.lists(row_strategy, max_size=25))
    repeats = draw(st.lists(st.sampled_from(first), max_size=10)) if first else []
    fresh = draw(st.lists(row_strategy, max_size=15))
    second = draw(st.permutations(repeats + fresh))
    return [first, second]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_batches())
def test_counts_rows_and_rejections_agree_with_a_plain_python_oracle(batches):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    expected, table, recorded = oracle(batches)
    for rows, (read, loaded, dups, conflicts, bad) in zip(batches, expected, strict=True):
        report = load_into_duckdb(con, as_arrow(rows), "events")
        assert report.read == (report.loaded + report.duplicates + report.conflicts
                               + report.rejected)
        assert (report.read, report.loaded, report.duplicates, report.conflicts) == (
            read, loaded, dups, conflicts)
        assert [(r.row, r.column) for r in report.rejections] == bad
    got = con.execute(
        "SELECT event_id, user_id, event, epoch_us(ts), plan FROM events ORDER BY _load, rowid"
    ).fetchall()
    assert got == table
    assert con.execute('SELECT sum("read") - sum(loaded + duplicates + rejected + conflicts) '
                       'FROM _loads').fetchone()[0] == 0
    stored = con.execute('SELECT load_id, "row", "column" FROM _rejected ORDER BY load_id, "row"'
                         ).fetchall()
    assert stored == recorded
