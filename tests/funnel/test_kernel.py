"""The fast funnel kernel (C and numpy) against a brute-force reference, hand cases and chdb.

The reference below enumerates every chain of an entity straight from the definitions in
docs/funnels.md (no greedy scan), so it is independent of the kernel's algorithm.
"""

from __future__ import annotations

import itertools
import os
import random

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelscope.analyses.funnel.kernel import (
    INT64_MIN,
    KernelSpec,
    kernel_backend,
    run_kernel,
)
from funnelscope.errors import SpecError

pytestmark = pytest.mark.usefixtures("names_unchecked")

BACKENDS = ["numpy"] + (["c"] if kernel_backend() == "c" else [])
MIN = 60_000_000  # one minute in µs


# ------------------------------------------------------------------------------ reference


def _order(ev):
    ts, mask, _excl, row = ev
    rank = (mask & -mask).bit_length() - 1 if mask else 32
    return (ts, rank, mask, row)


def _chains(evs, spec, e1s):
    """Every valid chain (tuple of event indexes) starting at one of ``e1s``."""
    k, W = spec.n_steps, spec.window_us
    ts = [e[0] for e in evs]
    found = []

    def ok_strict(i, q):
        return not any(ts[i] < ts[z] < ts[q] for z in range(len(evs)))

    def ok_excl(chain, q, j):
        for x, (a, b) in enumerate(spec.exclusions):
            if b != j:
                continue
            lo, hi = ts[chain[a - 1]], ts[q]
            if any(evs[z][2] >> x & 1 and lo <= ts[z] <= hi for z in range(len(evs))):
                return False
        return True

    def grow(chain):
        found.append(tuple(chain))
        j = len(chain) + 1
        if j > k:
            return
        last = chain[-1]
        for q in range(last + 1, len(evs)):
            if not evs[q][1] >> (j - 1) & 1:
                continue
            if ts[q] - ts[chain[0]] > W:
                continue
            if spec.within_us[j - 1] >= 0 and ts[q] - ts[last] > spec.within_us[j - 1]:
                continue
            if spec.mode == "strict" and not ok_strict(last, q):
                continue
            if not ok_excl(chain, q, j):
                continue
            grow(chain + [q])

    for e in e1s:
        grow([e])
    return found


def _report(evs, chains, k):
    """Level, step times and entry row of the reported chain (first to reach, then latest)."""
    if not chains:
        return 0, [INT64_MIN] * k, -1
    L = max(len(c) for c in chains)
    deep = [c for c in chains if len(c) == L]
    first_end = min(c[-1] for c in deep)
    deep = [c for c in deep if c[-1] == first_end]
    best = tuple(max(c[i] for c in deep) for i in range(L))
    assert best in deep, "valid chains are closed under component-wise max"
    times = [evs[i][0] for i in best] + [INT64_MIN] * (k - L)
    return L, times, evs[best[0]][3]


def _match(masks, k):
    """Largest number of steps given distinct events, by brute force."""
    best = 0
    for r in range(min(k, len(masks)), 0, -1):
        for steps in itertools.combinations(range(k), r):
            for evs in itertools.permutations(range(len(masks)), r):
                if all(masks[e] >> s & 1 for s, e in zip(steps, evs, strict=True)):
                    return r
    return best


def _any(evs, spec, starts):
    k, W = spec.n_steps, spec.window_us
    kmask = (1 << k) - 1
    best, best_s = 0, None
    for s in starts:
        t = evs[s][0]
        lev = _match([e[1] & kmask for e in evs if t <= e[0] <= t + W], k)
        if lev > best:
            best, best_s = lev, s
    if not best:
        return 0, [INT64_MIN] * k, -1
    t = evs[best_s][0]
    inside = sorted({e[0] for e in evs if t <= e[0] <= t + W})
    times = []
    for j in range(1, best + 1):
        tau = next(
            u for u in inside
            if _match([e[1] & kmask for e in evs if t <= e[0] <= u], k) >= j
        )
        times.append(tau)
    return best, times + [INT64_MIN] * (k - best), evs[best_s][3]


def reference(events, spec):
    """{(entity, entry_row): (level, step_ts)} from the definitions; events = [(e, ts, m, x, row)]."""
    k = spec.n_steps
    kmask = (1 << k) - 1
    by = {}
    for e, ts, m, x, r in events:
        by.setdefault(e, []).append((ts, m, x if spec.exclusions else 0, r))
    out = {}
    for e, evs in by.items():
        evs.sort(key=_order)
        s1 = [i for i, ev in enumerate(evs) if ev[1] & 1]
        if spec.count == "totals":
            entries = s1[:1] if spec.first_time else s1
            for p in entries:
                if spec.mode == "any":
                    lev, times, row = _any(evs, spec, [p])
                else:
                    lev, times, row = _report(evs, _chains(evs, spec, [p]), k)
                out[(e, row)] = (lev, times)
            continue
        if spec.mode == "any":
            if spec.first_time:
                starts = s1[:1]
            else:
                seen, starts = set(), []
                for i, ev in enumerate(evs):
                    if ev[1] & kmask and ev[0] not in seen:
                        seen.add(ev[0])
                        starts.append(i)
            lev, times, row = _any(evs, spec, starts)
        else:
            lev, times, row = _report(evs, _chains(evs, spec, s1[:1] if spec.first_time else s1), k)
        if lev >= 1:
            out[(e, row)] = (lev, times)
    return out


# ------------------------------------------------------------------------------ helpers


def _table(events, *, with_row=True, with_excl=True, seed=0, batches=1):
    """Events -> list of shuffled record batches (the kernel must not rely on order)."""
    rows = list(events)
    random.Random(seed).shuffle(rows)
    cols = {
        "entity": pa.array([r[0] for r in rows], pa.int64()),
        "ts": pa.array([r[1] for r in rows], pa.int64()),
        "mask": pa.array([r[2] for r in rows], pa.uint32()),
    }
    if with_excl:
        cols["excl"] = pa.array([r[3] for r in rows], pa.uint32())
    if with_row:
        cols["row"] = pa.array([r[4] for r in rows], pa.int64())
    table = pa.table(cols)
    size = max(1, -(-len(rows) // batches))
    return table.to_batches(max_chunksize=size), rows


def _as_dict(out):
    return {
        (int(e), int(r)): (int(lv), [int(x) for x in t])
        for e, lv, t, r in zip(out.entity, out.level, out.step_ts, out.entry_row, strict=True)
    }


def run_both(events, spec, **kw):
    """Kernel results of every available backend, as reference-shaped dicts."""
    results = {}
    for backend in BACKENDS:
        batches, _ = _table(events, **kw)
        results[backend] = _as_dict(run_kernel(batches, spec, backend=backend, threads=2,
                                               buckets=4))
    return results


def check(events, spec):
    want = reference(events, spec)
    for backend, got in run_both(events, spec).items():
        assert got == want, f"{backend} differs from the reference for {spec}"
    return want


def levels(result):
    return {e: lv for (e, _), (lv, _) in result.items()}


def ev(entity, minute, mask, excl=0, row=None):
    return (entity, minute * MIN, mask, excl, row)


def numbered(events):
    return [(e, t, m, x, i if r is None else r) for i, (e, t, m, x, r) in enumerate(events)]


# ------------------------------------------------------------------------------ hand cases

S1, S2, S3 = 1, 2, 4


def test_ordered_window_is_inclusive():
    events = numbered([ev(1, 0, S1), ev(1, 10, S2), ev(2, 0, S1), ev(2, 11, S2)])
    got = check(events, KernelSpec(2, 10 * MIN))
    assert levels(got) == {1: 2, 2: 1}


def test_latest_start_wins_and_reported_chain():
    # A at 0, A at 5, B at 12, C at 13; W=8: only the start at 5 reaches C.
    events = numbered([ev(1, 0, S1), ev(1, 5, S1), ev(1, 12, S2), ev(1, 13, S3)])
    got = check(events, KernelSpec(3, 8 * MIN))
    assert got == {(1, 1): (3, [5 * MIN, 12 * MIN, 13 * MIN])}


def test_one_event_never_fills_two_steps():
    events = numbered([ev(1, 0, S1 | S2)])
    assert levels(check(events, KernelSpec(2, MIN))) == {1: 1}
    events = numbered([ev(1, 0, S1 | S2), ev(1, 0, S1 | S2)])
    assert levels(check(events, KernelSpec(2, MIN))) == {1: 2}


def test_equal_timestamps_order_by_step():
    # step 2 and step 1 at the same ts: ordered by rank, so the chain S1 -> S2 exists.
    events = numbered([ev(1, 3, S2), ev(1, 3, S1)])
    assert levels(check(events, KernelSpec(2, 0))) == {1: 2}
    # but S2 -> S1 at equal ts with three steps cannot give S1, S2, S1-again order
    events = numbered([ev(1, 3, S3), ev(1, 3, S2), ev(1, 3, S1)])
    assert levels(check(events, KernelSpec(3, 0))) == {1: 3}


def test_entities_without_step_one_are_not_emitted():
    events = numbered([ev(1, 0, S2), ev(1, 1, S3), ev(2, 0, S1)])
    assert levels(check(events, KernelSpec(3, 10 * MIN))) == {2: 1}


def test_within_bounds_the_gap_to_the_previous_step():
    events = numbered([ev(1, 0, S1), ev(1, 2, S2), ev(1, 9, S3), ev(2, 0, S1), ev(2, 2, S2),
                       ev(2, 4, S3)])
    got = check(events, KernelSpec(3, 60 * MIN, within_us=(-1, -1, 5 * MIN)))
    assert levels(got) == {1: 2, 2: 3}


def test_within_prefers_the_latest_previous_step():
    # S2 at 1 and at 6: the one at 6 is within 5 minutes of S3 at 10
    events = numbered([ev(1, 0, S1), ev(1, 1, S2), ev(1, 6, S2), ev(1, 10, S3)])
    got = check(events, KernelSpec(3, 60 * MIN, within_us=(-1, -1, 5 * MIN)))
    assert got == {(1, 0): (3, [0, 6 * MIN, 10 * MIN])}


def test_strict_other_event_breaks_the_chain():
    events = numbered([ev(1, 0, S1), ev(1, 1, 0), ev(1, 2, S2),
                       ev(2, 0, S1), ev(2, 2, S2), ev(2, 2, 0)])
    got = check(events, KernelSpec(2, 60 * MIN, mode="strict"))
    assert levels(got) == {1: 1, 2: 2}
    assert levels(check(events, KernelSpec(2, 60 * MIN))) == {1: 2, 2: 2}


def test_exclusion_in_span_blocks_only_levels_from_b():
    X = 1
    # S1 0, X 1, S2 2, S3 3 with exclusion (1, 3): level 2 still counts, not 3
    events = numbered([ev(1, 0, S1), ev(1, 1, 0, X), ev(1, 2, S2), ev(1, 3, S3)])
    got = check(events, KernelSpec(3, 60 * MIN, exclusions=((1, 3),)))
    assert levels(got) == {1: 2}
    # a fresh start after the exclusion event is clean
    events2 = events + [(1, 2 * MIN, S1, 0, 10), (1, 3 * MIN, S2, 0, 11)]
    got = check(events2, KernelSpec(3, 60 * MIN, exclusions=((1, 3),)))
    assert levels(got) == {1: 3}


def test_exclusion_at_step_timestamps_is_inclusive():
    X = 1
    for count in ("uniques", "totals"):
        for minute in (0, 2):  # at ts(e_a) and at ts(e_b), where it sorts after e_b
            events = numbered([ev(1, 0, S1), ev(1, 2, S2), ev(1, minute, 0, X)])
            got = check(events, KernelSpec(2, 60 * MIN, exclusions=((1, 2),), count=count))
            assert levels(got) == {1: 1}


def test_exclusion_caps_a_chain_entering_its_span_at_the_exclusion_timestamp():
    X = 1
    # S2 and the exclusion share minute 1: the chain S1, S2, S3 is disqualified for step 3
    events = numbered([ev(1, 0, S1), ev(1, 1, S2), ev(1, 1, 0, X), ev(1, 2, S3)])
    got = check(events, KernelSpec(3, 60 * MIN, exclusions=((2, 3),)))
    assert levels(got) == {1: 2}


def test_first_time_only_the_first_step_one_starts():
    events = numbered([ev(1, 0, S1), ev(1, 100, S1), ev(1, 101, S2)])
    assert levels(check(events, KernelSpec(2, 10 * MIN))) == {1: 2}
    assert levels(check(events, KernelSpec(2, 10 * MIN, first_time=True))) == {1: 1}


def test_totals_count_every_entry():
    events = numbered([ev(1, 0, S1), ev(1, 1, S1), ev(1, 2, S2), ev(1, 20, S1)])
    got = check(events, KernelSpec(2, 5 * MIN, count="totals"))
    assert sorted(lv for lv, _ in got.values()) == [1, 2, 2]


def test_any_order():
    events = numbered([ev(1, 0, S3), ev(1, 1, S1), ev(1, 2, S2), ev(2, 0, S2), ev(2, 50, S3)])
    got = check(events, KernelSpec(3, 5 * MIN, mode="any"))
    assert levels(got) == {1: 3, 2: 1}
    assert got[(1, 0)][1] == [0, MIN, 2 * MIN]


def test_any_order_multi_step_events_need_distinct_events():
    events = numbered([ev(1, 0, S1 | S2), ev(1, 1, S1)])
    assert levels(check(events, KernelSpec(2, 5 * MIN, mode="any"))) == {1: 2}
    events = numbered([ev(1, 0, S1 | S2)])
    assert levels(check(events, KernelSpec(2, 5 * MIN, mode="any"))) == {1: 1}


def test_row_column_may_be_absent_and_input_order_does_not_matter():
    events = numbered([ev(1, 0, S1), ev(1, 1, S2), ev(2, 3, S1)])
    for backend in BACKENDS:
        outs = []
        for seed in range(3):
            batches, rows = _table(events, with_row=False, seed=seed, batches=2)
            out = run_kernel(batches, KernelSpec(2, MIN), backend=backend)
            # without a row column the entry row is the position in the stream as fed
            got = {int(e): rows[int(r)][4] for e, r in zip(out.entity, out.entry_row,
                                                          strict=True)}
            outs.append(got)
        assert outs[0] == outs[1] == outs[2] == {1: 0, 2: 2}


def test_the_c_kernel_is_built_when_required():
    """Set FUNNELSCOPE_REQUIRE_C_KERNEL=1 in CI so a failed build cannot hide behind numpy."""
    if os.environ.get("FUNNELSCOPE_REQUIRE_C_KERNEL") != "1":
        pytest.skip("FUNNELSCOPE_REQUIRE_C_KERNEL is not set")
    assert kernel_backend() == "c"


def test_empty_input():
    for backend in BACKENDS:
        out = run_kernel(pa.table({"entity": pa.array([], pa.int64()),
                                   "ts": pa.array([], pa.int64()),
                                   "mask": pa.array([], pa.uint32())}),
                         KernelSpec(3, MIN), backend=backend)
        assert len(out) == 0 and out.step_ts.shape == (0, 3)


def test_spec_errors():
    with pytest.raises(SpecError):
        KernelSpec(0, 1)
    with pytest.raises(SpecError):
        KernelSpec(33, 1)
    with pytest.raises(SpecError):
        KernelSpec(2, -1)
    with pytest.raises(SpecError):
        KernelSpec(3, 1, exclusions=((2, 2),))
    with pytest.raises(SpecError):
        KernelSpec(3, 1, mode="any", exclusions=((1, 2),))
    with pytest.raises(SpecError):
        KernelSpec(3, 1, within_us=(-1, 5))


# ------------------------------------------------------------------------------ property test


@st.composite
def funnel_cases(draw):
    k = draw(st.integers(1, 4))
    mode = draw(st.sampled_from(["ordered", "strict", "any"]))
    nex = 0 if mode == "any" else draw(st.integers(0, 2))
    exclusions = tuple(
        draw(st.tuples(st.integers(1, k - 1), st.integers(2, k)).filter(lambda ab: ab[0] < ab[1]))
        for _ in range(nex if k >= 2 else 0)
    )
    within = (-1,) + tuple(
        draw(st.sampled_from([-1, -1, 0, 1, 3])) if mode != "any" else -1 for _ in range(k - 1)
    )
    spec = KernelSpec(
        n_steps=k,
        window_us=draw(st.sampled_from([0, 1, 2, 4, 100])),
        within_us=within,
        mode=mode,
        exclusions=exclusions,
        first_time=draw(st.booleans()),
        count=draw(st.sampled_from(["uniques", "totals"])),
    )
    full = (1 << k) - 1
    singles = [1 << i for i in range(k)]
    masks = singles * 3 + [full, 1 | (1 << (k - 1))]
    if mode == "strict":
        masks += [0] * k  # foreign events that break strict chains
    n_ex = len(exclusions)
    events = []
    for entity in range(draw(st.integers(1, 3))):
        for _ in range(draw(st.integers(0, 9))):
            m = draw(st.sampled_from(masks))
            x = 0
            if n_ex and draw(st.integers(0, 3)) == 0:
                x = draw(st.integers(1, (1 << n_ex) - 1))
                if draw(st.booleans()):
                    m = 0  # an exclusion-only event
            if m == 0 and x == 0 and mode != "strict":
                m = 1
            events.append((entity * 7919 - 3, draw(st.integers(0, 7)), m, x))
    events = [(e, t, m, x, i) for i, (e, t, m, x) in enumerate(events)]
    return spec, events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(funnel_cases(), st.integers(1, 3))
def test_kernel_equals_reference(case, n_batches):
    spec, events = case
    want = reference(events, spec)
    for backend in BACKENDS:
        batches, _ = _table(events, batches=n_batches, seed=n_batches)
        got = _as_dict(run_kernel(batches, spec, backend=backend, threads=2, buckets=2))
        assert got == want, backend


# ------------------------------------------------------------------------------ chdb


def test_ordered_levels_equal_clickhouse_window_funnel(tmp_path):
    chdb = pytest.importorskip("chdb")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    n, k = 20_000, 4
    user = rng.integers(0, 800, n)
    step = rng.integers(0, k + 2, n)  # k, k+1 are other events
    ts = rng.integers(0, 50_000, n) * 1_000_000  # whole seconds: many equal timestamps
    W = 3_000 * 1_000_000
    keep = step < k
    table = pa.table({"entity": pa.array(user[keep], pa.int64()),
                      "ts": pa.array(ts[keep], pa.int64()),
                      "mask": pa.array((1 << step[keep]).astype(np.uint32))})
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"u": pa.array(user, pa.int64()), "t": pa.array(ts, pa.uint64()),
                             "s": pa.array(step, pa.uint8())}), path)
    conds = ", ".join(f"s = {i}" for i in range(k))
    sql = (f"SELECT u, windowFunnel({W})(t, {conds}) AS lv "
           f"FROM file('{path}', Parquet, 'u Int64, t UInt64, s UInt8') GROUP BY u")
    res = chdb.query(sql, "CSV").data()
    ch = {int(a): int(b) for a, b in (line.split(",") for line in res.strip().splitlines())}
    ch = {u: lv for u, lv in ch.items() if lv >= 1}
    for backend in BACKENDS:
        out = run_kernel(table, KernelSpec(k, W), backend=backend)
        got = dict(zip(out.entity.tolist(), out.level.tolist(), strict=True))
        assert got == ch, backend


def test_c_and_numpy_agree_on_a_larger_random_input():
    if "c" not in BACKENDS:
        pytest.skip("C extension not built")
    rng = np.random.default_rng(3)
    n = 200_000
    table = pa.table({
        "entity": pa.array(rng.integers(0, 5_000, n), pa.int64()),
        "ts": pa.array(rng.integers(0, 10**9, n), pa.int64()),
        "mask": pa.array(rng.choice([1, 2, 4, 8, 16, 3, 0], n).astype(np.uint32)),
    })
    for spec in (KernelSpec(5, 10**8), KernelSpec(5, 10**8, mode="strict"),
                 KernelSpec(5, 10**8, first_time=True),
                 KernelSpec(5, 10**8, within_us=(-1, 10**6, -1, 10**7, 10**5))):
        a = run_kernel(table, spec, backend="c")
        b = run_kernel(table, spec, backend="numpy")
        oa, ob = np.argsort(a.entity), np.argsort(b.entity)
        for name in ("entity", "level", "step_ts", "entry_row"):
            assert np.array_equal(getattr(a, name)[oa], getattr(b, name)[ob]), (spec, name)


# ------------------------------------------------------------------------------ the oracle


def _oracle_feed(events, steps, exclude, mode):
    """Oracle events -> kernel rows (entity code, ts, mask, excl, row) and row -> event.

    row = position in event_id order, so the kernel's tie order (ts, rank, mask, row) is the
    oracle's (ts, rank, mask, event_id).
    """
    by_id = sorted(events, key=lambda e: e.event_id)
    codes = {name: i for i, name in enumerate(sorted({e.entity for e in events}))}
    rows = []
    for r, e in enumerate(by_id):
        mask = sum(1 << j for j, s in enumerate(steps) if s.matches(e))
        excl = sum(1 << i for i, x in enumerate(exclude) if x.matches(e))
        if mode != "strict" and not mask and not excl:
            continue  # what the SQL feeding the kernel filters out
        rows.append((codes[e.entity], e.ts, mask, excl, r))
    return rows, by_id, {v: k for k, v in codes.items()}


def _oracle_spec(steps, window, mode, exclude, first_time, count):
    return KernelSpec(
        n_steps=len(steps), window_us=window,
        within_us=tuple(-1 if s.within_us is None else s.within_us for s in steps),
        mode=mode, exclusions=tuple((x.from_step, x.to_step) for x in exclude),
        first_time=first_time, count=count,
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_kernel_equals_the_oracle(data):
    try:
        from .oracle import funnel_entries, funnel_levels
        from .strategies import funnel_cases as oracle_cases
    except ImportError:  # pragma: no cover - the oracle is another module's job
        pytest.skip("tests/funnel/oracle.py is not there")
    events, steps, window, mode, exclude, first_time = data.draw(oracle_cases())
    count = "uniques" if mode == "any" else data.draw(st.sampled_from(["uniques", "totals"]))
    rows, by_id, names = _oracle_feed(events, steps, exclude, mode)
    spec = _oracle_spec(steps, window, mode, exclude, first_time, count)
    for backend in BACKENDS:
        batches, _ = _table(rows, batches=2, seed=len(rows))
        out = run_kernel(batches, spec, backend=backend, threads=2, buckets=4)
        if count == "uniques":
            want = funnel_levels(events, steps, window, mode, exclude, first_time)
            got = {names[int(e)]: int(lv) for e, lv in zip(out.entity, out.level, strict=True)}
            assert got == want, backend
        if mode == "any":
            continue
        entries = funnel_entries(events, steps, window, mode, count, exclude, first_time)
        want_e = sorted(
            (e.entity, e.entry_event_id, e.level,
             tuple(INT64_MIN if t is None else t for t in e.step_ts))
            for e in entries
        )
        got_e = sorted(
            (names[int(e)], by_id[int(r)].event_id, int(lv), tuple(int(x) for x in t))
            for e, lv, t, r in zip(out.entity, out.level, out.step_ts, out.entry_row,
                                   strict=True)
        )
        assert got_e == want_e, backend


# ------------------------------------------------------------------------------ DuckDB feed


def test_duckdb_stream_into_the_kernel_equals_direct_input():
    import duckdb

    from funnelscope.analyses.funnel.scan import choose_entity_code, run_query_kernel

    rng = np.random.default_rng(11)
    n = 30_000
    con = duckdb.connect()
    events = pa.table({
        "user_id": pa.array([f"u{i}" for i in rng.integers(0, 700, n)]),
        "event": pa.array(rng.choice(["a", "b", "c", "x"], n)),
        "ts": pa.array(rng.integers(0, 10**7, n), pa.int64()),
    })
    con.register("events", events)
    code = choose_entity_code(con, "SELECT * FROM events", "user_id")
    assert code.kind == "hash"
    query = (f"SELECT {code.expr} AS entity, ts, CAST(CASE event WHEN 'a' THEN 1 WHEN 'b' "
             "THEN 2 WHEN 'c' THEN 4 ELSE 0 END AS UINTEGER) AS mask FROM events "
             "WHERE event IN ('a', 'b', 'c')")
    spec = KernelSpec(3, 10**6)
    direct = run_kernel(con.execute(query).to_arrow_table(), spec)
    for prefetch in (0, 2):
        streamed = run_query_kernel(con, query, spec, batch_rows=1000, prefetch=prefetch)
        a, b = np.argsort(direct.entity), np.argsort(streamed.entity)
        assert np.array_equal(direct.entity[a], streamed.entity[b])
        assert np.array_equal(direct.level[a], streamed.level[b])
        assert np.array_equal(direct.entry_row[a], streamed.entry_row[b])
    # integer ids are their own code
    con.register("ints", pa.table({"user_id": pa.array([5, 7], pa.int64())}))
    assert choose_entity_code(con, "SELECT * FROM ints", "user_id").kind == "integer"


def test_hash_collisions_fall_back_to_a_dense_code(monkeypatch):
    import duckdb

    from funnelscope.analyses.funnel import scan

    con = duckdb.connect()
    con.register("ev", pa.table({"user_id": pa.array(["a", "b", "c"])}))
    real = scan.entity_code_expr
    # make every id hash to one code: the check must notice and choose the dense code
    monkeypatch.setattr(scan, "entity_code_expr",
                        lambda col, kind: "CAST(1 AS BIGINT)" if kind == "hash" else real(col, kind))
    assert scan.choose_entity_code(con, "SELECT * FROM ev", "user_id").kind == "dense"


def test_errors_in_duckdb_reach_the_caller():
    import duckdb

    from funnelscope.analyses.funnel.scan import run_query_kernel

    con = duckdb.connect()
    with pytest.raises(duckdb.Error):
        run_query_kernel(con, "SELECT CAST('x' AS BIGINT) AS entity, 1 AS ts, 1 AS mask",
                         KernelSpec(1, 1))


def test_duckdb_feed_with_a_repeated_step_name_gives_the_same_funnel(tmp_path):
    import pyarrow.parquet as pq

    import funnelscope as fs
    from funnelscope.analyses.funnel import duckdb_feed
    from funnelscope.analyses.funnel.scan import fetch_batches, run_query_kernel
    from funnelscope.analyses.funnel.spec import make_spec

    rng = np.random.default_rng(5)
    n = 20_000
    events = pa.table({
        "user_id": pa.array(rng.integers(0, 500, n), pa.int64()),
        "event": pa.array(rng.choice(["view", "pay", "other"], n)),
        "ts": pa.array(rng.integers(0, 10**7, n), pa.timestamp("us", tz="UTC")),
    })
    path = tmp_path / "events.parquet"
    pq.write_table(events, path)
    ws = fs.connect(events=str(path))
    steps = ["view", "pay", "view"]  # a repeated name gets both bits
    query = duckdb_feed.kernel_query(ws, make_spec(steps, "1s"), duckdb_feed.Source.of(ws),
                                     by_property=False)
    spec = KernelSpec(3, 10**6)
    got = run_kernel(fetch_batches(ws.duckdb, query), spec)
    streamed = run_query_kernel(ws.duckdb, query, spec, stream=True, batch_rows=999)
    assert levels(_as_dict(streamed)) == levels(_as_dict(got))
    uid = events["user_id"].to_pylist()
    name = events["event"].to_pylist()
    ts = events["ts"].cast(pa.int64()).to_pylist()
    masks = {"view": 5, "pay": 2}
    ref = [(u, t, masks[e]) for u, e, t in zip(uid, name, ts, strict=True) if e in masks]
    want = reference([(u, t, m, 0, i) for i, (u, t, m) in enumerate(ref)], spec)
    assert levels(_as_dict(got)) == levels(want)


def test_bucket_count_follows_the_input_size_and_never_changes_the_answer():
    from funnelscope.analyses.funnel.kernel import buckets_for
    from funnelscope.analyses.funnel.scan import ReleasingBatches

    assert buckets_for(None) == 256 and buckets_for(4_100_000) == 256
    assert buckets_for(41_000_000) == 1024 and buckets_for(10**10) == 4096
    rng = np.random.default_rng(11)
    n = 30_000
    table = pa.table({"entity": pa.array(rng.integers(0, 2_000, n), pa.int64()),
                      "ts": pa.array(rng.integers(0, 10**6, n), pa.int64()),
                      "mask": pa.array(rng.choice([1, 2, 4, 3], n).astype(np.uint32))})
    spec = KernelSpec(3, 50_000)
    feed = ReleasingBatches(table.to_batches(max_chunksize=4_000))
    assert feed.num_rows == n
    base = _as_dict(run_kernel(feed, spec))
    assert list(feed) == []  # handed over once
    for buckets in (1, 64, 4096):
        assert _as_dict(run_kernel(table, spec, buckets=buckets)) == base
