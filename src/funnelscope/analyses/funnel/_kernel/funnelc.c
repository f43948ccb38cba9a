/*
 * funnelc: the fast local funnel kernel of funnelscope.
 *
 * Events arrive in any order, in batches (zero-copy buffers of Arrow columns). `add` hashes each
 * event's entity into one of P buckets and appends a 32-byte record to that bucket. `run` then
 * processes the buckets on worker threads (GIL released): per bucket it maps entities to dense
 * local ids with an open-addressing table, groups the bucket's events by entity with a counting
 * sort, sorts each entity's events by (ts, rank, mask), and walks them once with the greedy
 * chain scan below. There is never a global sort, and a bucket's records are freed as soon as
 * it is done.
 *
 * Semantics: docs/funnels.md (funnelscope funnel semantics), exactly:
 *   - event order inside an entity: (ts, rank, mask, row), rank = lowest matching step; the
 *     row only orders interchangeable events, so that the reported entry row is deterministic;
 *   - ordered / strict: greedy scan keeping, per level and per "cap class", the chain with the
 *     latest events (component-wise latest; the valid chains form a lattice under
 *     component-wise max, so one held chain per class dominates all others);
 *   - exclusions (a, b): judged by timestamp, ts(e_a) <= ts(x) <= ts(e_b). While the scan is
 *     inside a timestamp group that holds an exclusion event, every chain that is (or gets) at a
 *     level in [a, b-1] is capped at b: it still counts for levels < b but can never reach b.
 *     Cap classes: class c holds the best chain whose cap is >= B[c] (B = sorted distinct b
 *     values, then k+1); classes are nested, so class ci(j) (smallest B > j) is the best source
 *     for reaching level j;
 *   - strict: a chain may be extended at ts t only if its last event has ts t or the entity's
 *     previous distinct timestamp before t;
 *   - any: max over window starts t (ts of a step event) of the maximum bipartite matching
 *     between steps and distinct events with ts in [t, t + W];
 *   - uniques: one row per entity reaching level >= 1; totals: one row per step-1 event (entry).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TS_NONE INT64_MIN
#define MAXK 32

/* ---------------------------------------------------------------- records */

/* Partition records. Compact (24 bytes) when the row is the stream position (< 2^32) and no
 * exclusion bits are needed; wide (32 bytes) otherwise. */
typedef struct {
    int64_t ent;
    int64_t ts;
    uint32_t mask;
    uint32_t row;
} crec_t;

typedef struct {
    int64_t ent;
    int64_t ts;
    int64_t row;
    uint32_t mask;
    uint32_t excl;
} wrec_t;

/* ---------------------------------------------------------------- memory */

/* Big buffers come from mmap'd slabs advised as transparent huge pages: first-touch page
 * faults dominate a memory-bound kernel on virtual machines, and huge pages cut them ~500x. */
#include <sys/mman.h>
#define SLAB_BYTES ((size_t)32 << 20)
#define HUGE_BYTES ((size_t)2 << 20)

static int use_huge_pages = 0; /* 0: plain pages, 1: MADV_HUGEPAGE, 2: MAP_POPULATE */

static void *map_bytes(size_t bytes) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_POPULATE
    if (use_huge_pages == 2 && bytes >= HUGE_BYTES) flags |= MAP_POPULATE;
#endif
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    if (use_huge_pages == 1 && bytes >= HUGE_BYTES) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

typedef struct {
    void **slabs;
    size_t *sizes;
    int n, cap;
    char *cur;
    size_t left;
} arena_t;

static void *arena_alloc(arena_t *a, size_t bytes) {
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes > a->left) {
        size_t sz = SLAB_BYTES;
        if (bytes > sz) sz = (bytes + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
        if (a->n == a->cap) {
            int nc = a->cap ? a->cap * 2 : 16;
            void **s = (void **)realloc(a->slabs, sizeof(void *) * (size_t)nc);
            if (!s) return NULL;
            a->slabs = s;
            size_t *z = (size_t *)realloc(a->sizes, sizeof(size_t) * (size_t)nc);
            if (!z) return NULL;
            a->sizes = z;
            a->cap = nc;
        }
        char *p = (char *)map_bytes(sz);
        if (!p) return NULL;
        a->slabs[a->n] = p;
        a->sizes[a->n] = sz;
        a->n++;
        a->cur = p;
        a->left = sz;
    }
    void *r = a->cur;
    a->cur += bytes;
    a->left -= bytes;
    return r;
}

static void arena_free(arena_t *a) {
    for (int i = 0; i < a->n; i++) munmap(a->slabs[i], a->sizes[i]);
    free(a->slabs);
    free(a->sizes);
    memset(a, 0, sizeof(*a));
}

/* A bucket is a list of chunks of records; chunk i holds min(256 << i, 8192) records. */
#define CHUNK_MAX 8192
static inline int64_t chunk_cap(int i) { return i >= 5 ? CHUNK_MAX : ((int64_t)256 << i); }

typedef struct {
    char **chunks;
    int nchunks, capchunks;
    int64_t fill; /* records in the last chunk */
    int64_t n;
} bucket_t;

typedef struct {
    int64_t ts;
    uint64_t key; /* (rank << 32) | mask: the tie order after ts */
    int64_t row;
    uint32_t excl;
    uint32_t pad;
} ev_t; /* an entity's event after grouping, 32 bytes */

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t order_key(uint32_t mask) {
    uint64_t rank = mask ? (uint64_t)__builtin_ctz(mask) : 32u;
    return (rank << 32) | (uint64_t)mask;
}

static inline int ev_less(const ev_t *a, const ev_t *b) {
    if (a->ts != b->ts) return a->ts < b->ts;
    if (a->key != b->key) return a->key < b->key;
    return a->row < b->row;
}

/* Introsort-free quicksort (median of three, Hoare) with insertion sort for small runs. */
#define DEFINE_SORT(NAME, T, LESS)                                                        \
    static void NAME(T *a, int64_t n) {                                                   \
        while (n > 24) {                                                                  \
            int64_t mid = n / 2;                                                          \
            T *x = &a[0], *y = &a[mid], *z = &a[n - 1];                                   \
            T p;                                                                          \
            if (LESS(x, y)) {                                                             \
                if (LESS(y, z)) p = *y;                                                   \
                else if (LESS(x, z)) p = *z;                                              \
                else p = *x;                                                              \
            } else {                                                                      \
                if (LESS(x, z)) p = *x;                                                   \
                else if (LESS(y, z)) p = *z;                                              \
                else p = *y;                                                              \
            }                                                                             \
            int64_t i = -1, j = n;                                                        \
            for (;;) {                                                                    \
                do i++; while (LESS(&a[i], &p));                                          \
                do j--; while (LESS(&p, &a[j]));                                          \
                if (i >= j) break;                                                        \
                T t = a[i]; a[i] = a[j]; a[j] = t;                                        \
            }                                                                             \
            int64_t left = j + 1;                                                         \
            if (left < n - left) { NAME(a, left); a += left; n -= left; }                 \
            else { NAME(a + left, n - left); n = left; }                                  \
        }                                                                                 \
        for (int64_t i = 1; i < n; i++) {                                                 \
            T t = a[i];                                                                   \
            int64_t j = i - 1;                                                            \
            while (j >= 0 && LESS(&t, &a[j])) { a[j + 1] = a[j]; j--; }                   \
            a[j + 1] = t;                                                                 \
        }                                                                                 \
    }

DEFINE_SORT(ev_sort, ev_t, ev_less)

/* Compact events (16 bytes) for the common case: row < 2^32, no exclusions, k <= 26.
 * key = rank << 58 | mask << 32 | row, so (ts, key) is exactly the (ts, rank, mask, row)
 * order. Sorted in this form, then expanded into ev_t for the scan. */
typedef struct {
    int64_t ts;
    uint64_t key;
} ev16_t;

#define EV16_MAX_K 26

static inline int ev16_less(const ev16_t *a, const ev16_t *b) {
    return a->ts < b->ts || (a->ts == b->ts && a->key < b->key);
}

static inline uint64_t ev16_key(uint32_t mask, uint32_t row) {
    uint64_t rank = mask ? (uint64_t)__builtin_ctz(mask) : 32u;
    return (rank << 58) | ((uint64_t)mask << 32) | (uint64_t)row;
}

DEFINE_SORT(ev16_sort, ev16_t, ev16_less)

/* ---------------------------------------------------------------- spec */

typedef struct {
    int k;
    int64_t W;
    int64_t within[MAXK + 2]; /* within[j]: max gap into level j (j >= 2), -1 = none */
    int mode;                 /* 0 ordered, 1 strict, 2 any */
    int nexcl;
    int ea[MAXK], eb[MAXK];   /* exclusion i: (from step a, to step b), 1-based */
    int first_time;
    int totals;
    /* cap classes */
    int ncls;
    int B[MAXK + 2];          /* class c holds chains with cap >= B[c]; B[ncls-1] = k+1 */
    int ci[MAXK + 2];         /* ci[j]: first class with B > j */
} spec_t;

/* ---------------------------------------------------------------- per-thread scratch */

typedef struct {
    /* grouping */
    int64_t *hkeys; uint32_t *hvals; int64_t hcap;
    uint32_t *ids; int64_t ids_cap;
    int64_t *off; int64_t off_cap;
    int64_t *ents; int64_t ents_cap;
    ev_t *ev; int64_t ev_cap;
    ev16_t *ev16; int64_t ev16_cap;
    /* chain scan state, (k+1) levels x ncls classes */
    uint8_t *valid;
    int64_t *start, *last, *e1row, *chain; /* chain: [(j*ncls+c)*k + i] */
    int capB[MAXK + 2];
    /* any mode */
    uint32_t *amask; int64_t *acnt; int64_t acap;
} scratch_t;

typedef struct {
    int64_t n;
    int64_t *ent;
    int8_t *level;
    int64_t *step_ts; /* n * k */
    int64_t *row;
} bout_t;

static int grow(void **p, int64_t *cap, int64_t need, size_t elsize) {
    if (need <= *cap) return 0;
    int64_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, (size_t)nc * elsize);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* ---------------------------------------------------------------- ordered / strict scan */

static inline void snapshot(const spec_t *sp, const scratch_t *s, int src, int j, int64_t t,
                            int64_t *out_ts, int64_t *out_row, int64_t row_if_first) {
    int k = sp->k;
    if (j == 1) {
        out_ts[0] = t;
        *out_row = row_if_first;
    } else {
        memcpy(out_ts, s->chain + (int64_t)src * k, sizeof(int64_t) * (size_t)(j - 1));
        out_ts[j - 1] = t;
        *out_row = s->e1row[src];
    }
    for (int i = j; i < k; i++) out_ts[i] = TS_NONE;
}

/* Compute the exclusion caps of the timestamp group [g0, g1) and clear capped classes. */
static void apply_group_excl(const spec_t *sp, scratch_t *s, const ev_t *ev, int64_t g0,
                             int64_t g1) {
    int k = sp->k, ncls = sp->ncls;
    uint32_t gx = 0;
    for (int64_t q = g0; q < g1; q++) gx |= ev[q].excl;
    for (int j = 1; j <= k; j++) s->capB[j] = k + 1;
    if (!gx) return;
    for (int x = 0; x < sp->nexcl; x++) {
        if (!((gx >> x) & 1u)) continue;
        for (int j = sp->ea[x]; j < sp->eb[x]; j++)
            if (sp->eb[x] < s->capB[j]) s->capB[j] = sp->eb[x];
    }
    for (int j = 1; j <= k; j++) {
        if (s->capB[j] > k) continue;
        for (int c = sp->ci[j]; c < ncls; c++)
            if (sp->B[c] > s->capB[j]) s->valid[j * ncls + c] = 0;
    }
}

/*
 * Greedy chain scan over one entity's sorted events ev[0..n).
 * p < 0: any step-1 event may start a chain (first_time: only the first one);
 * p >= 0: only event p starts a chain (a totals entry), and the scan stops past ts(p) + W.
 * Returns the level; fills out_ts[0..k) and *out_row for the reported chain.
 */
static int chain_scan(const spec_t *sp, scratch_t *s, const ev_t *ev, int64_t n, int64_t p,
                      int64_t *out_ts, int64_t *out_row) {
    const int k = sp->k, ncls = sp->ncls;
    const int64_t W = sp->W;
    const int strict = sp->mode == 1, has_excl = sp->nexcl > 0;
    memset(s->valid, 0, (size_t)(k + 1) * (size_t)ncls);
    for (int j = 1; j <= k; j++) s->capB[j] = k + 1;
    int best = 0;
    int64_t first_s1 = -1;
    if (p < 0 && sp->first_time) {
        for (int64_t q = 0; q < n; q++)
            if (ev[q].key & 1u) { first_s1 = q; break; }
        if (first_s1 < 0) return 0;
    }
    int64_t i = 0, stop_ts = INT64_MAX;
    if (p >= 0) {
        i = p;
        while (i > 0 && ev[i - 1].ts == ev[p].ts) i--; /* group start, for exclusions */
        stop_ts = (ev[p].ts > INT64_MAX - W) ? INT64_MAX : ev[p].ts + W;
    } else if (first_s1 >= 0) {
        i = first_s1;
        while (i > 0 && ev[i - 1].ts == ev[first_s1].ts) i--;
    }
    int64_t prev_gts = TS_NONE, cur_gts = TS_NONE;
    int started = 0;
    for (; i < n; i++) {
        const int64_t t = ev[i].ts;
        if (!started || t != cur_gts) {
            if (t > stop_ts) break;
            if (started) prev_gts = cur_gts;
            started = 1;
            cur_gts = t;
            if (has_excl) {
                int64_t g1 = i + 1;
                while (g1 < n && ev[g1].ts == t) g1++;
                apply_group_excl(sp, s, ev, i, g1);
            }
        }
        if (p >= 0 && i < p) continue;
        uint32_t m = (uint32_t)ev[i].key;
        if (!m) continue;
        uint32_t hi = m & ~1u;
        while (hi) {
            int j = 32 - __builtin_clz(hi); /* level reached by this bit: bit j-1 */
            hi &= ~(1u << (j - 1));
            if (j > k) continue;
            int first = 1;
            for (int c = sp->ci[j]; c < ncls; c++) {
                int src = (j - 1) * ncls + c;
                if (!s->valid[src]) break;
                if (t - s->start[src] > W) break;
                int64_t lst = s->last[src];
                if (sp->within[j] >= 0 && t - lst > sp->within[j]) break;
                if (strict && lst != t && lst != prev_gts) break;
                if (first) {
                    first = 0;
                    if (j > best) {
                        best = j;
                        snapshot(sp, s, src, j, t, out_ts, out_row, 0);
                    }
                }
                if (sp->B[c] > s->capB[j]) continue;
                int dst = j * ncls + c;
                s->valid[dst] = 1;
                s->start[dst] = s->start[src];
                s->last[dst] = t;
                s->e1row[dst] = s->e1row[src];
                int64_t *dc = s->chain + (int64_t)dst * k;
                memcpy(dc, s->chain + (int64_t)src * k, sizeof(int64_t) * (size_t)(j - 1));
                dc[j - 1] = t;
            }
        }
        if (m & 1u) {
            int may_start = p >= 0 ? (i == p) : (first_s1 < 0 || i == first_s1);
            if (may_start) {
                if (best < 1) {
                    best = 1;
                    snapshot(sp, s, 0, 1, t, out_ts, out_row, ev[i].row);
                }
                for (int c = 0; c < ncls; c++) {
                    if (sp->B[c] > s->capB[1]) continue;
                    int dst = ncls + c;
                    s->valid[dst] = 1;
                    s->start[dst] = t;
                    s->last[dst] = t;
                    s->e1row[dst] = ev[i].row;
                    s->chain[(int64_t)dst * k] = t;
                }
            }
            if (p >= 0 && i == p && k == 1) break;
        }
        if (best == k) break;
        if (p < 0 && first_s1 >= 0 && i >= first_s1 && t > ev[first_s1].ts &&
            t - ev[first_s1].ts > W)
            break;
    }
    return best;
}

/* ---------------------------------------------------------------- any mode */

/* Maximum matching between steps (bits of masks) and events; masks[d] occurs cnt[d] times.
 * Returns -1 when out of memory. */
static int max_match(const uint32_t *masks, const int64_t *cnt, int D, int k) {
    const uint32_t kmask = k < 32 ? ((1u << k) - 1) : 0xffffffffu;
    int single = 1, need = 0;
    uint32_t u = 0;
    for (int d = 0; d < D; d++) {
        if (cnt[d] <= 0) continue;
        uint32_t m = masks[d] & kmask;
        u |= m;
        int pc = __builtin_popcount(m);
        if (pc > 1) single = 0;
        need += (int)(cnt[d] < pc ? cnt[d] : pc);
    }
    if (single) return __builtin_popcount(u);
    /* Kuhn's algorithm: each distinct mask gives min(count, popcount) interchangeable events */
    uint32_t local[256];
    uint32_t *slots = need <= 256 ? local : (uint32_t *)malloc(sizeof(uint32_t) * (size_t)need);
    if (!slots) return -1;
    int nslot = 0;
    for (int d = 0; d < D; d++) {
        if (cnt[d] <= 0) continue;
        uint32_t m = masks[d] & kmask;
        int pc = __builtin_popcount(m);
        int rep = (int)(cnt[d] < pc ? cnt[d] : pc);
        for (int q = 0; q < rep; q++) slots[nslot++] = m;
    }
    int match_step[MAXK]; /* step -> slot holding it, or -1 */
    for (int q = 0; q < MAXK; q++) match_step[q] = -1;
    int size = 0;
    for (int e = 0; e < nslot && size < k; e++) {
        uint32_t visited = 0, rem[MAXK + 2];
        int slot_at[MAXK + 2], via[MAXK + 2];
        int top = 0, found = 0;
        slot_at[0] = e;
        rem[0] = slots[e];
        while (top >= 0) {
            uint32_t cand = rem[top] & ~visited;
            if (!cand) { top--; continue; }
            int st = __builtin_ctz(cand);
            visited |= 1u << st;
            rem[top] = cand & ~(1u << st);
            via[top] = st;
            if (match_step[st] < 0) {
                for (int l = top; l >= 0; l--) match_step[via[l]] = slot_at[l];
                found = 1;
                break;
            }
            top++;
            slot_at[top] = match_step[st];
            rem[top] = slots[match_step[st]];
        }
        size += found;
    }
    if (slots != local) free(slots);
    return size;
}

typedef struct {
    uint32_t *m;
    int64_t *c;
    int D;
} mtab_t;

static inline void mtab_add(mtab_t *t, uint32_t m, int64_t d) {
    for (int q = 0; q < t->D; q++)
        if (t->m[q] == m) { t->c[q] += d; return; }
    t->m[t->D] = m;
    t->c[t->D] = d;
    t->D++;
}

/*
 * any mode over one entity's sorted events. p < 0: every distinct step-event ts is a window
 * start (first_time: only the first step-1 event's ts); p >= 0: window start ts(p), entry row p.
 * Reported times: out_ts[j-1] = the first ts in the chosen window at which j steps are complete.
 */
static int any_scan(const spec_t *sp, scratch_t *s, const ev_t *ev, int64_t n, int64_t p,
                    int64_t *out_ts, int64_t *out_row) {
    const int k = sp->k;
    const int64_t W = sp->W;
    const uint32_t kmask = k < 32 ? ((1u << k) - 1) : 0xffffffffu;
    if (grow((void **)&s->amask, &s->acap, n + 1, sizeof(uint32_t))) return -1;
    int64_t *nc = (int64_t *)realloc(s->acnt, sizeof(int64_t) * (size_t)s->acap);
    if (!nc) return -1;
    s->acnt = nc;
    mtab_t tab = {s->amask, s->acnt, 0};
    int64_t lo = 0, hi = n; /* candidate window-start indexes */
    if (p >= 0) {
        lo = p; hi = p + 1;
    } else if (sp->first_time) {
        int64_t q = 0;
        while (q < n && !((uint32_t)ev[q].key & 1u)) q++;
        if (q == n) return 0;
        lo = q; hi = q + 1;
    }
    int64_t l = lo;
    while (l > 0 && ev[l - 1].ts == ev[lo].ts) l--;
    int64_t r = l; /* window = events [l, r) */
    int best = 0;
    int64_t best_s = -1, last_t = TS_NONE;
    int have_last = 0;
    for (int64_t st = lo; st < hi; st++) {
        if (!((uint32_t)ev[st].key & kmask)) continue;
        const int64_t t = ev[st].ts;
        if (have_last && t == last_t) continue;
        have_last = 1;
        last_t = t;
        const int64_t tend = (t > INT64_MAX - W) ? INT64_MAX : t + W;
        while (r < n && ev[r].ts <= tend) {
            uint32_t mm = (uint32_t)ev[r].key & kmask;
            if (mm) mtab_add(&tab, mm, 1);
            r++;
        }
        while (l < r && ev[l].ts < t) {
            uint32_t mm = (uint32_t)ev[l].key & kmask;
            if (mm) mtab_add(&tab, mm, -1);
            l++;
        }
        int lev = max_match(tab.m, tab.c, tab.D, k);
        if (lev < 0) return -1;
        if (lev > best) { best = lev; best_s = st; }
        if (best == k) break;
    }
    if (best == 0) return 0;
    const int64_t t = ev[best_s].ts;
    const int64_t tend = (t > INT64_MAX - W) ? INT64_MAX : t + W;
    int64_t q = best_s;
    while (q > 0 && ev[q - 1].ts == t) q--;
    mtab_t t2 = {s->amask, s->acnt, 0};
    int got = 0;
    for (; q < n && ev[q].ts <= tend && got < best; q++) {
        uint32_t mm = (uint32_t)ev[q].key & kmask;
        if (!mm) continue;
        mtab_add(&t2, mm, 1);
        int lev = max_match(t2.m, t2.c, t2.D, k);
        if (lev < 0) return -1;
        while (got < lev && got < best) out_ts[got++] = ev[q].ts;
    }
    for (int z = got; z < k; z++) out_ts[z] = TS_NONE;
    *out_row = ev[best_s].row;
    return best;
}

/* ---------------------------------------------------------------- bucket processing */

typedef struct {
    bucket_t *bk;
    int wide;
    int nb;
    bout_t *outs;
    spec_t sp;
    int next; /* atomic bucket counter */
    int failed;
    arena_t *out_arenas;  /* one per worker */
    int narenas;
} job_t;

static int alloc_state(const spec_t *sp, scratch_t *s) {
    size_t cells = (size_t)(sp->k + 1) * (size_t)sp->ncls;
    s->valid = (uint8_t *)calloc(cells, 1);
    s->start = (int64_t *)calloc(cells, sizeof(int64_t));
    s->last = (int64_t *)calloc(cells, sizeof(int64_t));
    s->e1row = (int64_t *)calloc(cells, sizeof(int64_t));
    s->chain = (int64_t *)calloc(cells * (size_t)sp->k, sizeof(int64_t));
    return (s->valid && s->start && s->last && s->e1row && s->chain) ? 0 : -1;
}

static void free_scratch(scratch_t *s) {
    free(s->hkeys); free(s->hvals); free(s->ids); free(s->off); free(s->ents); free(s->ev);
    free(s->ev16);
    free(s->valid); free(s->start); free(s->last); free(s->e1row); free(s->chain);
    free(s->amask); free(s->acnt);
}

static int process_bucket(job_t *job, scratch_t *s, arena_t *oa, int b) {
    const spec_t *sp = &job->sp;
    const int k = sp->k;
    bucket_t *bk = &job->bk[b];
    const int64_t n = bk->n;
    bout_t *o = &job->outs[b];
    memset(o, 0, sizeof(*o));
    if (n == 0) return 0;
    const int wide = job->wide;
    /* 1. entity -> dense local id (first appearance order) */
    int64_t hcap = 16;
    while (hcap < 2 * n) hcap *= 2;
    if (hcap > s->hcap) {
        free(s->hkeys); free(s->hvals);
        s->hkeys = (int64_t *)malloc(sizeof(int64_t) * (size_t)hcap);
        s->hvals = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)hcap);
        if (!s->hkeys || !s->hvals) { s->hcap = 0; return -1; }
        s->hcap = hcap;
    }
    memset(s->hvals, 0, sizeof(uint32_t) * (size_t)hcap);
    if (grow((void **)&s->ids, &s->ids_cap, n, sizeof(uint32_t))) return -1;
    if (grow((void **)&s->ents, &s->ents_cap, n, sizeof(int64_t))) return -1;
    if (grow((void **)&s->off, &s->off_cap, n + 2, sizeof(int64_t))) return -1;
    const uint64_t hm = (uint64_t)hcap - 1;
    int64_t u = 0, n_s1 = 0, i = 0;
    int64_t *cnt = s->off + 1;
    for (int c = 0; c < bk->nchunks; c++) {
        int64_t m = c == bk->nchunks - 1 ? bk->fill : chunk_cap(c);
        const char *base = bk->chunks[c];
        for (int64_t r = 0; r < m; r++, i++) {
            int64_t e;
            uint32_t mask;
            if (wide) { const wrec_t *w = (const wrec_t *)base + r; e = w->ent; mask = w->mask; }
            else { const crec_t *w = (const crec_t *)base + r; e = w->ent; mask = w->mask; }
            uint64_t h = mix64((uint64_t)e) & hm;
            uint32_t id;
            for (;;) {
                uint32_t v = s->hvals[h];
                if (v == 0) {
                    id = (uint32_t)u;
                    s->hvals[h] = (uint32_t)(++u);
                    s->hkeys[h] = e;
                    s->ents[id] = e;
                    cnt[id] = 0;
                    break;
                }
                if (s->hkeys[h] == e) { id = v - 1; break; }
                h = (h + 1) & hm;
            }
            s->ids[i] = id;
            cnt[id]++;
            n_s1 += mask & 1u;
        }
    }
    /* 2. counting sort by local id into ev[] (or ev16[] in the compact case) */
    s->off[0] = 0;
    for (int64_t q = 0; q < u; q++) s->off[q + 1] += s->off[q];
    const int c16 = !wide && k <= EV16_MAX_K;
    const uint32_t kmask = k < 32 ? ((1u << k) - 1) : 0xffffffffu;
    if (c16) {
        if (grow((void **)&s->ev16, &s->ev16_cap, n, sizeof(ev16_t))) return -1;
    } else if (grow((void **)&s->ev, &s->ev_cap, n, sizeof(ev_t))) {
        return -1;
    }
    {
        int64_t *cur = (int64_t *)malloc(sizeof(int64_t) * (size_t)(u + 1));
        if (!cur) return -1;
        memcpy(cur, s->off, sizeof(int64_t) * (size_t)u);
        i = 0;
        for (int c = 0; c < bk->nchunks; c++) {
            int64_t m = c == bk->nchunks - 1 ? bk->fill : chunk_cap(c);
            const char *base = bk->chunks[c];
            if (c16) {
                const crec_t *w = (const crec_t *)base;
                for (int64_t r = 0; r < m; r++, i++) {
                    ev16_t *e = &s->ev16[cur[s->ids[i]]++];
                    e->ts = w[r].ts;
                    e->key = ev16_key(w[r].mask & kmask, w[r].row);
                }
                continue;
            }
            for (int64_t r = 0; r < m; r++, i++) {
                ev_t *e = &s->ev[cur[s->ids[i]]++];
                if (wide) {
                    const wrec_t *w = (const wrec_t *)base + r;
                    e->ts = w->ts; e->key = order_key(w->mask & kmask); e->row = w->row;
                    e->excl = w->excl;
                } else {
                    const crec_t *w = (const crec_t *)base + r;
                    e->ts = w->ts; e->key = order_key(w->mask & kmask); e->row = (int64_t)w->row;
                    e->excl = 0;
                }
                e->pad = 0;
            }
        }
        free(cur);
    }
    int64_t maxm = 0;
    if (c16) {
        for (int64_t q = 0; q < u; q++)
            if (s->off[q + 1] - s->off[q] > maxm) maxm = s->off[q + 1] - s->off[q];
        if (grow((void **)&s->ev, &s->ev_cap, maxm, sizeof(ev_t))) return -1;
    }
    /* 3. outputs */
    int64_t nout = sp->totals ? (sp->first_time ? u : n_s1) : u;
    o->ent = (int64_t *)arena_alloc(oa, sizeof(int64_t) * (size_t)(nout + 1));
    o->level = (int8_t *)arena_alloc(oa, (size_t)(nout + 1));
    o->step_ts = (int64_t *)arena_alloc(oa, sizeof(int64_t) * (size_t)(nout + 1) * (size_t)k);
    o->row = (int64_t *)arena_alloc(oa, sizeof(int64_t) * (size_t)(nout + 1));
    if (!o->ent || !o->level || !o->step_ts || !o->row) return -1;
    int64_t w = 0;
    /* 4. per entity: sort, scan */
    for (int64_t q = 0; q < u; q++) {
        int64_t m = s->off[q + 1] - s->off[q];
        ev_t *ev;
        if (c16) {
            ev16_t *e16 = s->ev16 + s->off[q];
            if (m > 1) ev16_sort(e16, m);
            ev = s->ev;
            for (int64_t z = 0; z < m; z++) {
                uint32_t mask = (uint32_t)(e16[z].key >> 32) & ((1u << EV16_MAX_K) - 1);
                ev[z].ts = e16[z].ts;
                ev[z].key = order_key(mask);
                ev[z].row = (int64_t)(uint32_t)e16[z].key;
                ev[z].excl = 0;
            }
        } else {
            ev = s->ev + s->off[q];
            if (m > 1) ev_sort(ev, m);
        }
        if (!sp->totals) {
            int64_t row = -1;
            int lev = sp->mode == 2 ? any_scan(sp, s, ev, m, -1, o->step_ts + w * k, &row)
                                    : chain_scan(sp, s, ev, m, -1, o->step_ts + w * k, &row);
            if (lev < 0) return -1;
            if (lev >= 1) {
                o->ent[w] = s->ents[q];
                o->level[w] = (int8_t)lev;
                o->row[w] = row;
                w++;
            }
        } else {
            /* ordered/strict entries never use events after the last one that can extend a
             * chain (matches a step >= 2): cut the scan there (a burst of step-1 events would
             * otherwise rescan its whole window per entry) */
            int64_t m_eff = m;
            if (sp->mode != 2) {
                while (m_eff > 0 && !((uint32_t)ev[m_eff - 1].key & kmask & ~1u)) m_eff--;
                /* keep whole timestamp groups: exclusions act on their group */
                while (m_eff > 0 && m_eff < m && ev[m_eff].ts == ev[m_eff - 1].ts) m_eff++;
            }
            for (int64_t pidx = 0; pidx < m; pidx++) {
                if (!((uint32_t)ev[pidx].key & 1u)) continue;
                int64_t row = -1;
                int64_t mm = m_eff;
                if (pidx >= m_eff) { /* nothing can extend: e1's own group is enough */
                    mm = pidx + 1;
                    while (mm < m && ev[mm].ts == ev[pidx].ts) mm++;
                }
                int lev = sp->mode == 2 ? any_scan(sp, s, ev, m, pidx, o->step_ts + w * k, &row)
                                        : chain_scan(sp, s, ev, mm, pidx, o->step_ts + w * k, &row);
                if (lev < 0) return -1;
                o->ent[w] = s->ents[q];
                o->level[w] = (int8_t)lev;
                o->row[w] = row;
                w++;
                if (sp->first_time) break;
            }
        }
    }
    o->n = w;
    return 0;
}

typedef struct {
    job_t *job;
    int idx;
} warg_t;

static void *worker(void *arg) {
    warg_t *wa = (warg_t *)arg;
    job_t *job = wa->job;
    arena_t *oa = &job->out_arenas[wa->idx];
    scratch_t s;
    memset(&s, 0, sizeof(s));
    if (alloc_state(&job->sp, &s)) {
        __atomic_store_n(&job->failed, 1, __ATOMIC_SEQ_CST);
        free_scratch(&s);
        return NULL;
    }
    for (;;) {
        int b = __atomic_fetch_add(&job->next, 1, __ATOMIC_SEQ_CST);
        if (b >= job->nb) break;
        if (__atomic_load_n(&job->failed, __ATOMIC_SEQ_CST)) break;
        if (process_bucket(job, &s, oa, b)) {
            __atomic_store_n(&job->failed, 1, __ATOMIC_SEQ_CST);
            break;
        }
    }
    free_scratch(&s);
    return NULL;
}

/* ---------------------------------------------------------------- Block: owned memory */

typedef struct {
    PyObject_HEAD
    char *ptr;
    Py_ssize_t len, maplen;
} Block;

static void block_dealloc(Block *self) {
    if (self->ptr) munmap(self->ptr, (size_t)self->maplen);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int block_getbuffer(Block *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->ptr, self->len, 0, flags);
}

static PyBufferProcs block_as_buffer = {(getbufferproc)block_getbuffer, NULL};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "funnelscope.analyses.funnel._kernel._funnelc.Block",
    .tp_basicsize = sizeof(Block),
    .tp_dealloc = (destructor)block_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A writable buffer of kernel output (wrap with numpy.frombuffer).",
    .tp_as_buffer = &block_as_buffer,
};

static Block *block_new(Py_ssize_t len) {
    Block *b = PyObject_New(Block, &BlockType);
    if (!b) return NULL;
    size_t pg = 4096;
    size_t ml = ((size_t)(len > 0 ? len : 1) + pg - 1) & ~(pg - 1);
    b->ptr = (char *)map_bytes(ml);
    b->len = len;
    b->maplen = (Py_ssize_t)ml;
    if (!b->ptr) {
        b->ptr = NULL;
        Py_DECREF(b);
        PyErr_NoMemory();
        return NULL;
    }
    return b;
}

/* ---------------------------------------------------------------- Python type */

typedef struct {
    PyObject_HEAD
    int nb;
    int shift;
    int wide; /* -1 until the first add() fixes the record layout */
    bucket_t *bk;
    arena_t arena;
    int64_t total;
    bout_t *outs;
    arena_t *out_arenas;
    int narenas;
    int k;
    int done;
    int busy; /* add/run in progress with the GIL released: one caller at a time */
} Partitioner;

static void part_free_outs(Partitioner *self) {
    free(self->outs);
    self->outs = NULL;
    for (int q = 0; q < self->narenas; q++) arena_free(&self->out_arenas[q]);
    free(self->out_arenas);
    self->out_arenas = NULL;
    self->narenas = 0;
}

static void part_free_buckets(Partitioner *self) {
    if (self->bk) {
        for (int b = 0; b < self->nb; b++) free(self->bk[b].chunks);
        free(self->bk);
        self->bk = NULL;
    }
    arena_free(&self->arena);
}

static void part_dealloc(Partitioner *self) {
    part_free_buckets(self);
    part_free_outs(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int part_init(Partitioner *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"buckets", NULL};
    int nb = 256;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|i", kwlist, &nb)) return -1;
    if (nb < 1 || nb > (1 << 20) || (nb & (nb - 1))) {
        PyErr_SetString(PyExc_ValueError, "buckets must be a power of two in [1, 2**20]");
        return -1;
    }
    self->nb = nb;
    self->shift = 64 - __builtin_ctz((unsigned)nb);
    self->wide = -1;
    self->bk = (bucket_t *)calloc((size_t)nb, sizeof(bucket_t));
    if (!self->bk) { PyErr_NoMemory(); return -1; }
    return 0;
}

static int get_buf(PyObject *o, Py_buffer *v, const char *name, size_t el, Py_ssize_t *n) {
    if (PyObject_GetBuffer(o, v, PyBUF_SIMPLE) < 0) return -1;
    if (v->len % (Py_ssize_t)el) {
        PyBuffer_Release(v);
        PyErr_Format(PyExc_ValueError, "%s buffer length is not a multiple of %zu", name, el);
        return -1;
    }
    Py_ssize_t m = v->len / (Py_ssize_t)el;
    if (*n < 0) *n = m;
    else if (m != *n) {
        PyBuffer_Release(v);
        PyErr_Format(PyExc_ValueError, "%s has %zd values, expected %zd", name, m, *n);
        return -1;
    }
    return 0;
}

/* Room for one more record in bucket b: returns the record slot or NULL (out of memory). */
static inline char *bucket_slot(Partitioner *self, bucket_t *bk, size_t recsz) {
    if (bk->nchunks == 0 || bk->fill == chunk_cap(bk->nchunks - 1)) {
        if (bk->nchunks == bk->capchunks) {
            int nc = bk->capchunks ? bk->capchunks * 2 : 8;
            char **q = (char **)realloc(bk->chunks, sizeof(char *) * (size_t)nc);
            if (!q) return NULL;
            bk->chunks = q;
            bk->capchunks = nc;
        }
        char *c = (char *)arena_alloc(&self->arena, recsz * (size_t)chunk_cap(bk->nchunks));
        if (!c) return NULL;
        bk->chunks[bk->nchunks++] = c;
        bk->fill = 0;
    }
    char *r = bk->chunks[bk->nchunks - 1] + recsz * (size_t)bk->fill;
    bk->fill++;
    bk->n++;
    return r;
}

/* add(entity, ts, mask, excl_or_None, row_or_None, row0): append a batch (C-contiguous
 * buffers of int64, int64, uint32, uint32, int64). Without row, row = row0 + position.
 * The first call fixes the record layout: pass excl/row on every call or on none. */
static PyObject *part_add(Partitioner *self, PyObject *args) {
    PyObject *oe, *ot, *om, *ox, *orow;
    long long row0;
    if (!PyArg_ParseTuple(args, "OOOOOL", &oe, &ot, &om, &ox, &orow, &row0)) return NULL;
    if (self->done) { PyErr_SetString(PyExc_RuntimeError, "partitioner already ran"); return NULL; }
    Py_buffer be, bt, bm, bx, br;
    int hx = ox != Py_None, hr = orow != Py_None;
    int wide = hx || hr;
    if (self->wide < 0) self->wide = wide;
    if (self->wide != wide) {
        PyErr_SetString(PyExc_ValueError, "pass excl/row on every add() call or on none");
        return NULL;
    }
    Py_ssize_t n = -1;
    if (get_buf(oe, &be, "entity", 8, &n) < 0) return NULL;
    if (get_buf(ot, &bt, "ts", 8, &n) < 0) { PyBuffer_Release(&be); return NULL; }
    if (get_buf(om, &bm, "mask", 4, &n) < 0) {
        PyBuffer_Release(&be); PyBuffer_Release(&bt); return NULL;
    }
    if (hx && get_buf(ox, &bx, "excl", 4, &n) < 0) {
        PyBuffer_Release(&be); PyBuffer_Release(&bt); PyBuffer_Release(&bm); return NULL;
    }
    if (hr && get_buf(orow, &br, "row", 8, &n) < 0) {
        PyBuffer_Release(&be); PyBuffer_Release(&bt); PyBuffer_Release(&bm);
        if (hx) PyBuffer_Release(&bx);
        return NULL;
    }
    if (!wide && (row0 < 0 || (int64_t)row0 + (int64_t)n > (int64_t)UINT32_MAX)) {
        PyBuffer_Release(&be); PyBuffer_Release(&bt); PyBuffer_Release(&bm);
        PyErr_SetString(PyExc_OverflowError,
                        "more than 2**32 events without a row column: pass a row column");
        return NULL;
    }
    if (self->busy) {
        PyBuffer_Release(&be); PyBuffer_Release(&bt); PyBuffer_Release(&bm);
        if (hx) PyBuffer_Release(&bx);
        if (hr) PyBuffer_Release(&br);
        PyErr_SetString(PyExc_RuntimeError, "Partitioner is in use by another thread");
        return NULL;
    }
    self->busy = 1;
    const int64_t *E = (const int64_t *)be.buf, *T = (const int64_t *)bt.buf;
    const uint32_t *M = (const uint32_t *)bm.buf;
    const uint32_t *X = hx ? (const uint32_t *)bx.buf : NULL;
    const int64_t *R = hr ? (const int64_t *)br.buf : NULL;
    int err = 0;
    Py_BEGIN_ALLOW_THREADS
    const int shift = self->shift;
    const int nb = self->nb;
    bucket_t *bks = self->bk;
    if (!wide) {
        for (Py_ssize_t i = 0; i < n; i++) {
            int b = nb == 1 ? 0 : (int)(mix64((uint64_t)E[i]) >> shift);
            crec_t *r = (crec_t *)bucket_slot(self, &bks[b], sizeof(crec_t));
            if (!r) { err = 1; break; }
            r->ent = E[i];
            r->ts = T[i];
            r->mask = M[i];
            r->row = (uint32_t)((int64_t)row0 + (int64_t)i);
        }
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            int b = nb == 1 ? 0 : (int)(mix64((uint64_t)E[i]) >> shift);
            wrec_t *r = (wrec_t *)bucket_slot(self, &bks[b], sizeof(wrec_t));
            if (!r) { err = 1; break; }
            r->ent = E[i];
            r->ts = T[i];
            r->row = R ? R[i] : (int64_t)row0 + (int64_t)i;
            r->mask = M[i];
            r->excl = X ? X[i] : 0u;
        }
    }
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyBuffer_Release(&be); PyBuffer_Release(&bt); PyBuffer_Release(&bm);
    if (hx) PyBuffer_Release(&bx);
    if (hr) PyBuffer_Release(&br);
    if (err) return PyErr_NoMemory();
    self->total += n;
    Py_RETURN_NONE;
}

static int seq_ints(PyObject *o, int64_t *out, int maxn, const char *name) {
    PyObject *f = PySequence_Fast(o, name);
    if (!f) return -1;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(f);
    if (m > maxn) { Py_DECREF(f); PyErr_Format(PyExc_ValueError, "%s too long", name); return -1; }
    for (Py_ssize_t i = 0; i < m; i++) {
        out[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(f, i));
        if (out[i] == -1 && PyErr_Occurred()) { Py_DECREF(f); return -1; }
    }
    Py_DECREF(f);
    return (int)m;
}

/* run(k, window, within, mode, excl_from, excl_to, first_time, totals, threads) -> rows */
static PyObject *part_run(Partitioner *self, PyObject *args) {
    int k, mode, first_time, totals, nthreads;
    long long W;
    PyObject *owithin, *oea, *oeb;
    if (!PyArg_ParseTuple(args, "iLOiOOppi", &k, &W, &owithin, &mode, &oea, &oeb, &first_time,
                          &totals, &nthreads))
        return NULL;
    if (self->done) { PyErr_SetString(PyExc_RuntimeError, "partitioner already ran"); return NULL; }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Partitioner is in use by another thread");
        return NULL;
    }
    if (k < 1 || k > MAXK) { PyErr_SetString(PyExc_ValueError, "k must be in 1..32"); return NULL; }
    if (W < 0) { PyErr_SetString(PyExc_ValueError, "window must be >= 0"); return NULL; }
    if (mode < 0 || mode > 2) { PyErr_SetString(PyExc_ValueError, "bad mode"); return NULL; }
    job_t job;
    memset(&job, 0, sizeof(job));
    spec_t *sp = &job.sp;
    sp->k = k; sp->W = W; sp->mode = mode; sp->first_time = first_time; sp->totals = totals;
    int64_t tmp[MAXK + 1];
    int m = seq_ints(owithin, tmp, MAXK, "within");
    if (m < 0) return NULL;
    if (m != k) { PyErr_SetString(PyExc_ValueError, "within must have k values"); return NULL; }
    for (int j = 0; j <= MAXK + 1; j++) sp->within[j] = -1;
    for (int j = 2; j <= k; j++) sp->within[j] = tmp[j - 1];
    int64_t ta[MAXK], tb[MAXK];
    int na = seq_ints(oea, ta, MAXK, "excl_from"), nbx = seq_ints(oeb, tb, MAXK, "excl_to");
    if (na < 0 || nbx < 0) return NULL;
    if (na != nbx) { PyErr_SetString(PyExc_ValueError, "excl_from/excl_to lengths differ"); return NULL; }
    if (na > 0 && self->wide == 0) {
        PyErr_SetString(PyExc_ValueError, "exclusions need the excl column in add()");
        return NULL;
    }
    sp->nexcl = na;
    int used[MAXK + 2] = {0};
    for (int x = 0; x < na; x++) {
        if (ta[x] < 1 || tb[x] <= ta[x] || tb[x] > k) {
            PyErr_SetString(PyExc_ValueError, "exclusion needs 1 <= from < to <= k");
            return NULL;
        }
        sp->ea[x] = (int)ta[x];
        sp->eb[x] = (int)tb[x];
        used[tb[x]] = 1;
    }
    sp->ncls = 0;
    for (int b = 2; b <= k; b++) if (used[b]) sp->B[sp->ncls++] = b;
    sp->B[sp->ncls++] = k + 1;
    for (int j = 0; j <= k + 1; j++) {
        int c = 0;
        while (c < sp->ncls && sp->B[c] <= j) c++;
        sp->ci[j] = c;
    }
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    if (nthreads > self->nb) nthreads = self->nb;
    job.bk = self->bk; job.nb = self->nb; job.wide = self->wide > 0;
    job.outs = (bout_t *)calloc((size_t)self->nb, sizeof(bout_t));
    job.out_arenas = (arena_t *)calloc((size_t)nthreads, sizeof(arena_t));
    if (!job.outs || !job.out_arenas) { free(job.outs); free(job.out_arenas); return PyErr_NoMemory(); }
    job.narenas = nthreads;
    self->outs = job.outs;
    self->out_arenas = job.out_arenas;
    self->narenas = nthreads;
    self->k = k;
    self->done = 1;
    Py_BEGIN_ALLOW_THREADS
    warg_t wa[64];
    for (int q = 0; q < nthreads; q++) { wa[q].job = &job; wa[q].idx = q; }
    if (nthreads == 1) {
        worker(&wa[0]);
    } else {
        pthread_t th[64];
        int started = 0;
        for (int q = 1; q < nthreads; q++) {
            if (pthread_create(&th[q], NULL, worker, &wa[q]) == 0) started = q;
            else break;
        }
        worker(&wa[0]);
        for (int q = 1; q <= started; q++) pthread_join(th[q], NULL);
    }
    Py_END_ALLOW_THREADS
    part_free_buckets(self);
    if (job.failed) { part_free_outs(self); return PyErr_NoMemory(); }
    int64_t rows = 0;
    for (int b = 0; b < self->nb; b++) rows += job.outs[b].n;
    return PyLong_FromLongLong(rows);
}

/* fetch() -> (entity, level, step_ts, row) Blocks holding int64[n], int8[n], int64[n*k],
 * int64[n]. */
static PyObject *part_fetch(Partitioner *self, PyObject *noargs) {
    (void)noargs;
    if (!self->outs) { PyErr_SetString(PyExc_RuntimeError, "nothing to fetch: call run() once"); return NULL; }
    int64_t rows = 0;
    for (int b = 0; b < self->nb; b++) rows += self->outs[b].n;
    int k = self->k;
    Block *be = block_new((Py_ssize_t)rows * 8), *bl = NULL, *bs = NULL, *br = NULL;
    if (be) bl = block_new((Py_ssize_t)rows);
    if (bl) bs = block_new((Py_ssize_t)rows * 8 * k);
    if (bs) br = block_new((Py_ssize_t)rows * 8);
    if (!br) { Py_XDECREF(be); Py_XDECREF(bl); Py_XDECREF(bs); return NULL; }
    char *pe = be->ptr, *pl = bl->ptr, *ps = bs->ptr, *pr = br->ptr;
    Py_BEGIN_ALLOW_THREADS
    for (int b = 0; b < self->nb; b++) {
        bout_t *o = &self->outs[b];
        if (!o->n) continue;
        memcpy(pe, o->ent, (size_t)o->n * 8); pe += o->n * 8;
        memcpy(pl, o->level, (size_t)o->n); pl += o->n;
        memcpy(ps, o->step_ts, (size_t)o->n * 8 * (size_t)k); ps += o->n * 8 * k;
        memcpy(pr, o->row, (size_t)o->n * 8); pr += o->n * 8;
    }
    Py_END_ALLOW_THREADS
    part_free_outs(self);
    return Py_BuildValue("(NNNN)", be, bl, bs, br);
}

static PyObject *part_total(Partitioner *self, void *closure) {
    (void)closure;
    return PyLong_FromLongLong(self->total);
}

static PyMethodDef part_methods[] = {
    {"add", (PyCFunction)part_add, METH_VARARGS,
     "add(entity, ts, mask, excl, row, row0): partition one batch of events by entity."},
    {"run", (PyCFunction)part_run, METH_VARARGS,
     "run(k, window, within, mode, excl_from, excl_to, first_time, totals, threads) -> rows"},
    {"fetch", (PyCFunction)part_fetch, METH_NOARGS,
     "fetch() -> (entity, level, step_ts, row) buffers of the results."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef part_getset[] = {
    {"events", (getter)part_total, NULL, "events added so far", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject PartitionerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "funnelscope.analyses.funnel._kernel._funnelc.Partitioner",
    .tp_basicsize = sizeof(Partitioner),
    .tp_dealloc = (destructor)part_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Hash-partitions events by entity, then runs the funnel scan per bucket.",
    .tp_methods = part_methods,
    .tp_getset = part_getset,
    .tp_init = (initproc)part_init,
    .tp_new = PyType_GenericNew,
};

static PyObject *mod_set_huge_pages(PyObject *mod, PyObject *arg) {
    (void)mod;
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred()) return NULL;
    if (v < 0 || v > 2) { PyErr_SetString(PyExc_ValueError, "use 0, 1 or 2"); return NULL; }
    int old = use_huge_pages;
    use_huge_pages = (int)v;
    return PyLong_FromLong(old);
}

static PyMethodDef mod_methods[] = {
    {"set_huge_pages", (PyCFunction)mod_set_huge_pages, METH_O,
     "set_huge_pages(mode) -> previous mode: how big buffers are mapped (0 plain pages, "
     "1 transparent huge pages, 2 pre-faulted with MAP_POPULATE)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_funnelc", "Fast local funnel kernel (C).", -1, mod_methods,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__funnelc(void) {
    if (PyType_Ready(&PartitionerType) < 0) return NULL;
    if (PyType_Ready(&BlockType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    Py_INCREF(&PartitionerType);
    if (PyModule_AddObject(m, "Partitioner", (PyObject *)&PartitionerType) < 0) {
        Py_DECREF(&PartitionerType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "ABI", 2);
    return m;
}
