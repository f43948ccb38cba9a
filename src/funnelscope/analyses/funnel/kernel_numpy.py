"""Pure numpy/Python funnel kernel: the fallback when the C extension is not built.

Same input, semantics and output as ``kernel.run_kernel`` (see that module), held equal to the
C kernel by tests/funnel/test_kernel.py. Unique entities in ordered or strict mode without
exclusions (the default funnel) run vectorised in numpy; every other case walks each entity's
events in Python with the same greedy scan as the C code, which is correct but slow (about a
microsecond per event and step).
"""

from __future__ import annotations

import numpy as np

INT64_MIN = np.iinfo(np.int64).min


def _rank(mask: np.ndarray) -> np.ndarray:
    """Index (0-based) of the lowest set bit of each mask; 32 for mask 0."""
    m = mask.astype(np.uint64)
    low = m & (~m + np.uint64(1))  # isolate lowest set bit
    out = np.full(len(m), 32, np.int64)
    nz = low != 0
    out[nz] = np.log2(low[nz].astype(np.float64)).astype(np.int64)
    return out


def run(cols: dict[str, np.ndarray], spec):
    """Run ``spec`` over numpy columns entity, ts, mask, excl, row (any order)."""
    from funnelscope.analyses.funnel.kernel import KernelOutput

    ent, ts, mask = cols["entity"], cols["ts"], cols["mask"]
    excl, row = cols["excl"], cols["row"]
    mask = mask & np.uint32((1 << spec.n_steps) - 1)  # bits beyond step k mean nothing
    order = np.lexsort((row, mask, _rank(mask), ts, ent))
    ent, ts, mask, excl, row = ent[order], ts[order], mask[order], excl[order], row[order]
    if not spec.exclusions:
        excl = np.zeros(len(ent), np.uint32)
    k = spec.n_steps
    if len(ent) == 0:
        return KernelOutput(
            np.empty(0, np.int64), np.empty(0, np.int8), np.empty((0, k), np.int64),
            np.empty(0, np.int64),
        )
    if spec.mode in ("ordered", "strict") and not spec.exclusions and spec.count == "uniques":
        return _vectorised(ent, ts, mask, row, spec)
    return _loop(ent, ts, mask, excl, row, spec)


# ------------------------------------------------------------------------------ vectorised


def _vectorised(ent, ts, mask, row, spec):
    """Ordered/strict uniques without exclusions, level by level with forward fills."""
    from funnelscope.analyses.funnel.kernel import KernelOutput

    n, k, W = len(ent), spec.n_steps, spec.window_us
    idx = np.arange(n, dtype=np.int64)
    new_ent = np.ones(n, bool)
    new_ent[1:] = ent[1:] != ent[:-1]
    gstart = np.maximum.accumulate(np.where(new_ent, idx, 0))
    prev_distinct = None
    if spec.mode == "strict":
        new_ts = new_ent.copy()
        new_ts[1:] |= ts[1:] != ts[:-1]
        # ts of the previous distinct timestamp group of the same entity (INT64_MIN if none)
        grp_first = np.maximum.accumulate(np.where(new_ts, idx, 0))
        before = grp_first - 1
        prev_distinct = np.where(
            (before >= 0) & (before >= gstart), ts[np.maximum(before, 0)], INT64_MIN
        )
    valid = mask & np.uint32(1)
    valid = valid.astype(bool)
    if spec.first_time:
        s1 = np.where(valid, idx, n)
        first = np.minimum.reduceat(s1, np.flatnonzero(new_ent))
        first_of = np.repeat(first, np.diff(np.append(np.flatnonzero(new_ent), n)))
        valid &= idx == first_of
    start = np.where(valid, ts, 0)
    valids, parents = [valid], [None]
    for j in range(2, k + 1):
        latest = np.maximum.accumulate(np.where(valid, idx, -1))
        src = np.empty(n, np.int64)
        src[0] = -1
        src[1:] = latest[:-1]
        has = ((mask >> np.uint32(j - 1)) & np.uint32(1)).astype(bool) & (src >= gstart)
        s = np.maximum(src, 0)
        ok = has & (ts - start[s] <= W)
        within = spec.within_us[j - 1]
        if within >= 0:
            ok &= ts - ts[s] <= within
        if prev_distinct is not None:
            ok &= (ts[s] == ts) | (ts[s] == prev_distinct)
        valid = ok
        start = np.where(ok, start[s], 0)
        valids.append(ok)
        parents.append(s)
    lev_at = np.zeros(n, np.int64)
    for j in range(1, k + 1):
        lev_at[valids[j - 1]] = np.maximum(lev_at[valids[j - 1]], j)
    starts = np.flatnonzero(new_ent)
    ent_level = np.maximum.reduceat(lev_at, starts)
    level_of = np.repeat(ent_level, np.diff(np.append(starts, n)))
    hit = np.zeros(n, bool)
    for j in range(1, k + 1):
        hit |= valids[j - 1] & (level_of == j)
    first_hit = np.minimum.reduceat(np.where(hit, idx, n), starts)
    keep = ent_level >= 1
    e_idx, e_lev = first_hit[keep], ent_level[keep]
    m = len(e_idx)
    step_ts = np.full((m, k), INT64_MIN, np.int64)
    entry = np.zeros(m, np.int64)
    cur = e_idx.copy()
    for j in range(k, 0, -1):
        on = e_lev >= j
        at = e_lev == j
        cur = np.where(at, e_idx, cur)
        step_ts[on, j - 1] = ts[cur[on]]
        if j == 1:
            entry[on] = row[cur[on]]
        else:
            cur = np.where(on, parents[j - 1][cur], cur)
    return KernelOutput(ent[starts][keep], e_lev.astype(np.int8), step_ts, entry)


# ------------------------------------------------------------------------------ loop


def _loop(ent, ts, mask, excl, row, spec):
    from funnelscope.analyses.funnel.kernel import KernelOutput

    n, k = len(ent), spec.n_steps
    bounds = np.flatnonzero(np.r_[True, ent[1:] != ent[:-1], True])
    ts_l, mask_l, excl_l, row_l = ts.tolist(), mask.tolist(), excl.tolist(), row.tolist()
    out_e, out_l, out_t, out_r = [], [], [], []
    scan = _any_scan if spec.mode == "any" else _chain_scan
    classes = _classes(spec)
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        evs = (ts_l[a:b], mask_l[a:b], excl_l[a:b], row_l[a:b])
        e = int(ent[a])
        if spec.count == "uniques":
            lev, st, r = scan(spec, classes, evs, -1)
            if lev >= 1:
                out_e.append(e), out_l.append(lev), out_t.append(st), out_r.append(r)
        else:
            for p in range(b - a):
                if not evs[1][p] & 1:
                    continue
                lev, st, r = scan(spec, classes, evs, p)
                out_e.append(e), out_l.append(lev), out_t.append(st), out_r.append(r)
                if spec.first_time:
                    break
    del n
    return KernelOutput(
        np.asarray(out_e, np.int64),
        np.asarray(out_l, np.int8),
        np.asarray(out_t, np.int64).reshape(len(out_e), k),
        np.asarray(out_r, np.int64),
    )


def _classes(spec):
    """Cap classes: sorted distinct exclusion to_steps, then k+1 (see funnelc.c)."""
    k = spec.n_steps
    B = sorted({b for _, b in spec.exclusions}) + [k + 1]
    ci = [next(c for c, v in enumerate(B) if v > j) if j <= k else len(B) for j in range(k + 2)]
    return B, ci


def _chain_scan(spec, classes, evs, p):
    """Greedy chain scan of one entity (mirror of chain_scan in funnelc.c)."""
    ts, mask, excl, row = evs
    n, k, W = len(ts), spec.n_steps, spec.window_us
    B, ci = classes
    ncls = len(B)
    strict = spec.mode == "strict"
    within = [-1, -1] + list(spec.within_us[1:])  # within[j] bounds the gap into level j
    held: dict[tuple[int, int], tuple[int, int, int, list[int]]] = {}  # (j,c)->start,last,row,chain
    cap = [k + 1] * (k + 2)
    best, out_ts, out_row = 0, [INT64_MIN] * k, -1
    first_s1 = -1
    if p < 0 and spec.first_time:
        first_s1 = next((q for q in range(n) if mask[q] & 1), -1)
        if first_s1 < 0:
            return 0, out_ts, -1
    i, stop = 0, None
    anchor = p if p >= 0 else first_s1
    if anchor >= 0:
        i = anchor
        while i > 0 and ts[i - 1] == ts[anchor]:
            i -= 1
        if p >= 0:
            stop = ts[p] + W
    prev_g = cur_g = None
    while i < n:
        t = ts[i]
        if cur_g is None or t != cur_g:
            if stop is not None and t > stop:
                break
            prev_g, cur_g = cur_g, t
            if spec.exclusions:
                g1 = i
                gx = 0
                while g1 < n and ts[g1] == t:
                    gx |= excl[g1]
                    g1 += 1
                cap = [k + 1] * (k + 2)
                for x, (ea, eb) in enumerate(spec.exclusions):
                    if gx >> x & 1:
                        for j in range(ea, eb):
                            cap[j] = min(cap[j], eb)
                for j in range(1, k + 1):
                    if cap[j] <= k:
                        for c in range(ci[j], ncls):
                            if B[c] > cap[j]:
                                held.pop((j, c), None)
        if p >= 0 and i < p:
            i += 1
            continue
        m = mask[i]
        for j in range(min(k, 32), 1, -1):
            if not m >> (j - 1) & 1:
                continue
            first = True
            for c in range(ci[j], ncls):
                src = held.get((j - 1, c))
                if src is None:
                    break
                s_start, s_last, s_row, s_chain = src
                if t - s_start > W:
                    break
                if within[j] >= 0 and t - s_last > within[j]:
                    break
                if strict and s_last != t and s_last != prev_g:
                    break
                if first:
                    first = False
                    if j > best:
                        best = j
                        out_ts = s_chain + [t] + [INT64_MIN] * (k - j)
                        out_row = s_row
                if B[c] > cap[j]:
                    continue
                held[(j, c)] = (s_start, t, s_row, s_chain + [t])
        if m & 1:
            may = (i == p) if p >= 0 else (first_s1 < 0 or i == first_s1)
            if may:
                if best < 1:
                    best, out_ts, out_row = 1, [t] + [INT64_MIN] * (k - 1), row[i]
                for c in range(ncls):
                    if B[c] <= cap[1]:
                        held[(1, c)] = (t, t, row[i], [t])
        if best == k:
            break
        if p < 0 and first_s1 >= 0 and t - ts[first_s1] > W:
            break
        i += 1
    return best, out_ts, out_row


def _max_match(masks: list[int], k: int) -> int:
    """Largest set of steps given distinct events (each event = its mask of steps)."""
    kmask = (1 << k) - 1
    masks = [m & kmask for m in masks if m & kmask]
    if all(m & (m - 1) == 0 for m in masks):
        u = 0
        for m in masks:
            u |= m
        return bin(u).count("1")
    owner = [-1] * k  # step -> event index

    def augment(e, seen):
        for s in range(k):
            if masks[e] >> s & 1 and not seen[s]:
                seen[s] = True
                if owner[s] < 0 or augment(owner[s], seen):
                    owner[s] = e
                    return True
        return False

    size = 0
    for e in range(len(masks)):
        if size == k:
            break
        size += augment(e, [False] * k)
    return size


def _any_scan(spec, classes, evs, p):
    """any mode of one entity (mirror of any_scan in funnelc.c)."""
    ts, mask, _excl, row = evs
    n, k, W = len(ts), spec.n_steps, spec.window_us
    kmask = (1 << k) - 1
    if p >= 0:
        starts = [p]
    elif spec.first_time:
        q = next((q for q in range(n) if mask[q] & 1), -1)
        if q < 0:
            return 0, [INT64_MIN] * k, -1
        starts = [q]
    else:
        starts, seen = [], set()
        for q in range(n):
            if mask[q] & kmask and ts[q] not in seen:
                seen.add(ts[q])
                starts.append(q)
    best, best_s = 0, -1
    for s in starts:
        t = ts[s]
        lev = _max_match([mask[q] for q in range(n) if t <= ts[q] <= t + W], k)
        if lev > best:
            best, best_s = lev, s
        if best == k:
            break
    out = [INT64_MIN] * k
    if best == 0:
        return 0, out, -1
    t = ts[best_s]
    inside = [q for q in range(n) if t <= ts[q] <= t + W and mask[q] & kmask]
    got = 0
    for z in range(len(inside)):
        lev = _max_match([mask[q] for q in inside[: z + 1]], k)
        while got < min(lev, best):
            out[got] = ts[inside[z]]
            got += 1
        if got >= best:
            break
    return best, out, row[best_s]
