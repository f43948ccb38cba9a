"""Run an A/B test on a workspace: count users and conversions per variant in the engine (the
funnel kernel), then compare them with :func:`~.abtest.compare_counts` (docs/experiments.md).

A user's variant comes from ``variant_column``: an events column (the value on the user's
events; a user with two or more different values is excluded and counted in
``meta["multiple_variants"]``) or a customers / segments column (one value per user). Users
without a variant are excluded (``meta["no_variant"]``).
"""

from __future__ import annotations

import time

import numpy as np

from funnelscope.analyses.experiment.abtest import compare_counts
from funnelscope.analyses.experiment.result import ExperimentResult, flat_comparisons
from funnelscope.analyses.experiment.spec import ExperimentSpec
from funnelscope.errors import ConfigError, SpecError


def _event_assignment(ws, funnel_spec, column: str) -> tuple[dict[int, str], set[int]]:
    """Entity code -> variant for users with exactly one non-null value of ``column`` over all
    their events, and the codes of users seen with several values (one aggregate in DuckDB)."""
    from funnelscope.analyses.funnel import duckdb_feed as feed
    from funnelscope.sqlsafe import ident

    source = feed.Source.of(ws)
    code = feed.entity_code(funnel_spec, source)
    col, who = ident(column), ident(funnel_spec.entity_column)
    rows = ws.duckdb.execute(
        f"SELECT {code} AS code, min(CAST({col} AS VARCHAR)), "  # noqa: S608
        f"count(DISTINCT CAST({col} AS VARCHAR)) FROM ({source.sql}) AS s "
        f"WHERE {col} IS NOT NULL AND {who} IS NOT NULL GROUP BY code"
    ).fetchall()
    single = {int(c): v for c, v, n in rows if n == 1}
    multiple = {int(c) for c, _, n in rows if n > 1}
    return single, multiple


def experiment(ws, steps=None, variant_column=None, window="7d", control=None, alpha=0.05,
               mode="ordered", start=None, end=None) -> ExperimentResult:
    """A/B test of funnel conversion per variant: :class:`ExperimentResult`.

    steps: event names; users = users entering step 1, conversions = users reaching the last
    step within ``window`` (uniques, as ``ws.funnel``). variant_column: an events column or a
    customers / segments column naming each user's variant. control: the control variant
    (default: the alphabetically first). alpha: two-sided level. mode, start, end: passed to
    the funnel. The JSON equals ``funnelscope abtest``'s contract plus ``spec`` and ``meta``.

    >>> ws.experiment(steps=["view", "pay"], variant_column="variant", window="7d")
    """
    from funnelscope.analyses.funnel import funnel

    if not steps:
        raise ConfigError("experiment needs the funnel steps whose conversion is compared.",
                          hint="e.g. --steps view,pay")
    if not variant_column:
        raise ConfigError("experiment needs the column that names each user's variant.",
                          hint="e.g. --variant-column variant (any events or customers column).")
    steps = [steps] if isinstance(steps, str) else list(steps)
    spec = ExperimentSpec(steps=tuple(steps), variant_column=str(variant_column), window=window,
                          control=control, alpha=alpha, mode=mode, start=start, end=end)
    started = time.perf_counter()
    if ws.engine != "duckdb":
        raise SpecError(f"experiment is not implemented on the {ws.engine} engine yet.")
    # the funnel checks the column (events, customers or segments) and the step names
    fr = funnel(ws, steps, window, mode=mode, by=spec.variant_column, start=start, end=end,
                top_groups=10**9)
    paths = fr.paths
    entered = paths.level >= 1
    codes, levels = paths.entity[entered], paths.level[entered]
    k = len(steps)
    multiple_count = 0
    if spec.variant_column in ws.columns("events"):
        source = "events"
        single, multiple = _event_assignment(ws, fr.spec, spec.variant_column)
        is_multi = np.array([int(c) in multiple for c in codes.tolist()], dtype=bool)
        labels = [None if m else single.get(int(c)) for c, m in zip(codes.tolist(), is_multi, strict=True)]
        multiple_count = int(is_multi.sum())
    else:
        source = next(t for t in ("customers", "segments")
                      if ws.has_table(t) and spec.variant_column in ws.columns(t))
        labels = [None if v is None else str(v) for v in paths.by_value[entered].tolist()]
    counts: dict[str, list[int]] = {}
    for label, level in zip(labels, levels.tolist(), strict=True):
        if label is None:
            continue
        c = counts.setdefault(label, [0, 0])
        c[0] += int(level >= k)
        c[1] += 1
    no_variant = sum(1 for v in labels if v is None) - multiple_count
    names = sorted(counts)
    if len(names) < 2:
        raise ConfigError(
            f"{spec.variant_column!r} gives {len(names)} variant(s) among the users entering "
            f"{steps[0]!r}{': ' + names[0] if names else ''}; an experiment needs at least two.",
            hint="Check --variant-column, --steps and --start/--end.")
    chosen = names[0] if control is None else str(control)
    if chosen not in counts:
        from funnelscope.analyses.registry import suggest

        raise ConfigError(f"control {chosen!r} is not a variant of {spec.variant_column!r}."
                          f"{suggest(chosen, names)}", hint=f"Variants: {', '.join(names)}.")
    treatments = [(n, *counts[n]) for n in names if n != chosen]
    contract = compare_counts(tuple(counts[chosen]), treatments, alpha=alpha, control_name=chosen)
    import pandas as pd

    meta = {
        "variant_source": source,
        "control": chosen,
        "users_entered": int(entered.sum()),
        "users_compared": int(sum(c[1] for c in counts.values())),
        "multiple_variants": multiple_count,
        "no_variant": no_variant,
        "engine": ws.engine,
        "seconds": round(time.perf_counter() - started, 4),
    }
    tables = {"variants": pd.DataFrame(contract["variants"]),
              "comparisons": pd.DataFrame(flat_comparisons(contract))}
    return ExperimentResult(spec=spec, tables=tables, meta=meta, contract=contract)
