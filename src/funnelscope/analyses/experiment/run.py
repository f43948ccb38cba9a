"""Run an A/B test on a workspace: per-user metrics per variant in the engine, then the
comparisons of docs/experiments.md.

Who is in the experiment and when their window starts:

* ``experiment=NAME``: the users in the ``exposures`` table for that experiment whose first
  exposure lies between ``start`` and ``end``; a user's variant is the variant of their
  exposures (users exposed to two or more variants are excluded and counted in
  ``meta["multiple_variants"]``); the window starts at the first exposure.
* ``variant_column=COLUMN``: the users entering the funnel ``steps`` between ``start`` and
  ``end`` (an events column: the user's one non-null value over all their events; a customers
  / segments column: the user's value); the window starts at the first entry event. Users
  without a variant are excluded (``meta["no_variant"]``).

Metrics (``metrics``): ``conversion`` (the funnel of ``steps`` within ``window``: with
``variant_column`` exactly ``ws.funnel``'s conversion; with ``experiment`` the steps done in
order at or after the exposure, within ``window`` of it), ``count:EVENT`` (EVENT events in
[anchor, anchor + window]) and ``revenue`` (sum of orders.amount in the same window). The
per-user values are aggregated in the engine; only per-variant summaries come back. DuckDB
runs the SQL text of :mod:`.engine`, PySpark the Ibis relations of :mod:`.portable` (the
funnel kernel per entity partition for conversion after an exposure); the JSON is the same.
"""

from __future__ import annotations

import time

from funnelscope.analyses.experiment import engine as E
from funnelscope.analyses.experiment import stats as S
from funnelscope.analyses.experiment.abtest import METHOD, compare_counts
from funnelscope.analyses.experiment.means import Summary, compare_means
from funnelscope.analyses.experiment.means import cuped as cuped_adjust
from funnelscope.analyses.experiment.result import ExperimentResult, flat_comparisons, flat_variants
from funnelscope.analyses.experiment.spec import CORRECTIONS, ExperimentSpec, Metric
from funnelscope.errors import ConfigError, SpecError

MODES = ("ordered", "strict", "any")
CORRECTION_TEXT = {"holm": "Holm step-down (family-wise error)",
                   "bh": "Benjamini-Hochberg (false discovery rate)",
                   "none": "no adjustment (p_adjusted = p_value)"}
ENTITY_TABLES = ("customers", "segments")
#: DuckDB runs the SQL text of :mod:`.engine` (True) or the Ibis relations of :mod:`.portable`
#: that Spark runs (False). Both give the same JSON (tests/experiment/test_spark_backends.py);
#: the SQL text is faster on DuckDB: demo workspace (213k events, 6.7k exposures),
#: checkout_redesign, steps view,pay, metrics conversion,revenue: 0.10 s vs 0.23 s warm,
#: 0.12-0.16 s vs 0.56-0.67 s on a process's first call (Ibis compilation and the Ibis
#: backend's start-up)
SQL_ON_DUCKDB = True


def _metrics(metrics) -> list[Metric]:
    from funnelscope.analyses.event_names import split_names

    if metrics is None or metrics == [] or metrics == ():
        texts = ["conversion"]
    elif isinstance(metrics, str):
        texts = split_names(metrics)
    else:
        texts = [t for m in metrics for t in (split_names(m) if isinstance(m, str) else [m])]
    parsed = [Metric.parse(t) for t in texts] or [Metric("conversion")]
    return list({m.name: m for m in parsed}.values())  # repeats once, order kept


def _list_experiments(con, exposures_sql: str) -> list[str]:
    rows = con.execute(
        f"SELECT {E.ident('experiment')} AS e, count(*) AS n FROM ({exposures_sql}) AS fs_x "  # noqa: S608
        "WHERE experiment IS NOT NULL GROUP BY e ORDER BY n DESC, e").fetchall()
    return [str(r[0]) for r in rows]


def _check_experiment(con, exposures_sql: str, name: str) -> None:
    from funnelscope.analyses.event_names import unknown_name_text

    known = _list_experiments(con, exposures_sql)
    if name in known:
        return
    text, _ = unknown_name_text(name, known, noun="experiment")
    raise ConfigError(f"--experiment: no experiment named {text} in the exposures table.",
                      hint=f"Experiments: {', '.join(known[:20]) or '(none: exposures is empty)'}"
                           f"{' …' if len(known) > 20 else ''}.")


def _variant_relation(ws, column: str, native: bool, source) -> tuple[str, str]:
    """(where the column lives, ``code, variant, n_variants`` SQL) for a variant column."""
    from funnelscope.analyses.registry import suggest

    if column in source.types:
        return "events", E.column_variants(source.sql, column, E.event_code(native))
    candidates = list(source.types)
    for table in ENTITY_TABLES:
        if ws.has_table(table):
            cols = ws.columns(table)
            if column in cols:
                rel = f"SELECT * FROM {E.ident(table)}"  # noqa: S608
                return table, E.column_variants(rel, column, E.user_code(native))
            candidates += [c for c in cols if c not in candidates]
    raise ConfigError(
        f"--variant-column: no column {column!r} in the events or customers tables."
        f"{suggest(column, candidates)}",
        hint=f"Columns: {', '.join(candidates)}.")


def experiment(ws, steps=None, variant_column=None, experiment=None, metrics=None, window="7d",
               control=None, alpha=0.05, correction="holm", cuped=False, mode="ordered",
               start=None, end=None) -> ExperimentResult:
    """A/B test per variant of one or more metrics: :class:`ExperimentResult`.

    steps: event names of the funnel (the ``conversion`` metric; with ``variant_column`` also
    who is in the experiment: users entering step 1). variant_column: an events column or a
    customers / segments column naming each user's variant. experiment: instead, an
    experiment of the ``exposures`` table (variant and window start from the exposures).
    metrics: ``"conversion"`` (default), ``"count:EVENT"``, ``"revenue"`` (list or
    comma-separated). window: the metric window after each user's exposure / entry (30m, 7d).
    control: the control variant (default: the alphabetically first). alpha: two-sided level.
    correction: holm | bh | none, across every variant × metric comparison. cuped: adjust each
    metric by the same metric in the pre-period [anchor − window, anchor). mode: ordered |
    any (strict only with variant_column and without cuped). start, end: who is in (entry or
    first exposure time, reporting time zone). The JSON is ``funnelscope abtest``'s contract
    for the conversion metric plus mean metrics, ``metrics``, ``spec`` and ``meta``
    (docs/experiments.md).

    >>> ws.experiment(steps=["view", "pay"], variant_column="variant", window="7d")
    >>> ws.experiment(experiment="checkout_redesign", steps=["pay"], metrics=["conversion", "revenue"])
    """
    from funnelscope.analyses.event_names import check_event_names, split_names
    from funnelscope.durations import to_microseconds

    started = time.perf_counter()
    steps = split_names(steps) if isinstance(steps, str) else list(steps or [])
    parsed = _metrics(metrics)
    needs_steps = any(m.kind == "conversion" for m in parsed) or not experiment
    if variant_column and experiment:
        raise ConfigError("give either --variant-column or --experiment, not both.",
                          hint="--experiment NAME reads variants from the exposures table.")
    if not variant_column and not experiment:
        raise ConfigError("experiment needs the users' variants: --experiment NAME (the "
                          "exposures table) or --variant-column COLUMN.",
                          hint="e.g. --experiment checkout_redesign, or --variant-column variant.")
    if needs_steps and not steps:
        raise ConfigError("experiment needs the funnel steps whose conversion is compared.",
                          hint="e.g. --steps view,pay (with --experiment, --steps pay means "
                               "'paid within the window after the exposure').")
    if correction not in CORRECTIONS:
        from funnelscope.analyses.registry import suggest

        raise ConfigError(f"--correction: unknown value {correction!r}.{suggest(str(correction), CORRECTIONS)}",
                          hint=f"Use one of: {', '.join(CORRECTIONS)}.")
    if mode not in MODES:
        raise ConfigError(f"--mode: unknown value {mode!r}.", hint="Use ordered, strict or any.")
    window_us = to_microseconds(window)
    spec = ExperimentSpec(steps=tuple(steps), variant_column=variant_column or None,
                          experiment=experiment or None, metrics=tuple(m.name for m in parsed),
                          window=window, control=control, alpha=alpha, correction=correction,
                          cuped=bool(cuped), mode=mode, start=start, end=end)
    if mode == "strict" and any(m.kind == "conversion" for m in parsed) and (experiment or cuped):
        raise SpecError("strict mode is not defined after an exposure or for the CUPED "
                        "pre-period (nothing may lie between steps, and the exposure is not "
                        "an event).", hint="Use --mode ordered or any.")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be between 0 and 1, got {alpha}.", hint="e.g. --alpha 0.05")
    if ws.engine not in ("duckdb", "pyspark"):
        raise SpecError(f"experiment is not implemented on the {ws.engine} engine; it runs "
                        "on DuckDB and PySpark.", hint="Open the data with fs.connect(path) "
                        "(DuckDB) or fs.connect(spark_session).")
    counted = [m.event for m in parsed if m.kind == "count"]
    if counted:
        check_event_names(ws, counted, "metric")
    if any(m.kind == "revenue" for m in parsed) and not ws.has_table("orders"):
        raise ConfigError("--metric revenue needs the orders table (user_id, ts, amount).",
                          hint="Load it with `funnelscope load orders.csv --table orders`.")
    if experiment:
        if not ws.has_table("exposures"):
            raise ConfigError("--experiment needs the exposures table (user_id, experiment, "
                              "variant, ts).",
                              hint="Load it with `funnelscope load exposures.csv --table exposures`.")
        if steps:
            check_event_names(ws, steps, "step")
    request = dict(steps=steps, parsed=parsed, counted=counted, variant_column=variant_column,
                   experiment=experiment, window=window, window_us=window_us, mode=mode,
                   cuped=bool(cuped), start=start, end=end)
    if ws.engine == "duckdb" and SQL_ON_DUCKDB:
        rows, (total, multiple, no_variant), variant_source = _rows_sql(ws, **request)
    else:
        rows, (total, multiple, no_variant), variant_source = _rows_portable(ws, **request)

    names_found = [r[0] for r in rows]
    who = f"experiment {experiment!r}" if experiment else f"{variant_column!r}"
    if len(names_found) < 2:
        among = "exposed users" if experiment else f"users entering {steps[0]!r}"
        raise ConfigError(
            f"{who} gives {len(names_found)} variant(s) among the {among}"
            f"{': ' + names_found[0] if names_found else ''}; an experiment needs at least two.",
            hint="Check --variant-column / --experiment, --steps and --start/--end.")
    chosen = names_found[0] if control is None else str(control)
    if chosen not in names_found:
        from funnelscope.analyses.registry import suggest

        raise ConfigError(f"control {chosen!r} is not a variant of {who}."
                          f"{suggest(chosen, names_found)}", hint=f"Variants: {', '.join(names_found)}.")
    order = [chosen] + [n for n in names_found if n != chosen]
    by_name = {r[0]: r for r in rows}
    contract = _contract(parsed, order, by_name, alpha, correction, bool(cuped))
    meta = {
        "variant_source": variant_source,
        "control": chosen,
        ("users_exposed" if experiment else "users_entered"): total,
        "users_compared": int(sum(by_name[n][1] for n in order)),
        "multiple_variants": multiple,
        "no_variant": no_variant,
        "window_starts": "first exposure" if experiment else "first entry event",
        "engine": ws.engine,
        "seconds": round(time.perf_counter() - started, 4),
    }
    if experiment:
        meta["experiment"] = str(experiment)
    import pandas as pd

    tables = {"variants": pd.DataFrame(flat_variants(contract)),
              "comparisons": pd.DataFrame(flat_comparisons(contract))}
    return ExperimentResult(spec=spec, tables=tables, meta=meta, contract=contract)


def _rows_sql(ws, steps, parsed, counted, variant_column, experiment, window, window_us, mode,
              cuped, start, end) -> tuple[list[tuple], tuple[int, int, int], str]:
    """DuckDB, SQL text (:mod:`.engine`): the summaries rows, the unit counts and where the
    variants come from."""
    from funnelscope.analyses.funnel import duckdb_feed as feed
    from funnelscope.analyses.funnel.spec import instant_us

    con = ws.duckdb
    source = feed.Source.of(ws)
    native = E.native_ids(source.types)
    tz = ws.config.timezone
    orders_sql = None
    if any(m.kind == "revenue" for m in parsed):
        orders_sql = feed.Source.of(ws, "orders").sql

    funnel_levels = None
    if experiment:
        exposures_sql = feed.Source.of(ws, "exposures").sql
        _check_experiment(con, exposures_sql, str(experiment))
        start_us = instant_us(start, tz) if start else None
        end_us = instant_us(end, tz) if end else None
        units_sql = E.exposure_units(exposures_sql, str(experiment), native, start_us, end_us)
        variant_source = "exposures"
    else:
        from funnelscope.analyses.funnel import funnel
        from funnelscope.analyses.funnel.spec import make_spec

        variant_source, variant_sql = _variant_relation(ws, str(variant_column), native, source)
        # the funnel checks the step names; its levels are the conversion metric
        fr = funnel(ws, steps, window, mode=mode, start=start, end=end)
        funnel_levels = (fr.paths.entity, fr.paths.level)
        fspec = make_spec(steps, window, mode=mode, start=start, end=end)
        entry = steps if mode == "any" else steps[:1]
        units_sql = E.column_units(feed.filtered(ws, fspec, source), entry, native, variant_sql)

    events_sql = E.events_of(source.sql, native, sorted(set(steps) | set(counted)) or None)
    import pyarrow as pa

    with E.registered(con, {"units": con.sql(units_sql).to_arrow_table()}) as names:
        units = f"SELECT * FROM {names['units']}"  # noqa: S608
        total, multiple, no_variant = E.unit_counts(con, units)
        arrow: dict = {}
        k = len(steps)
        for m in parsed:
            if m.kind != "conversion":
                continue
            if funnel_levels is not None:
                codes, levels = funnel_levels
                entered = levels >= 1
                arrow["conv_y"] = pa.table({"code": pa.array(codes[entered], pa.int64()),
                                            "y": pa.array((levels[entered] >= k).astype("int64"))})
            else:
                arrow["conv_y"] = E.anchored_conversion(con, units, events_sql, steps, window_us,
                                                        mode, post=True)
            if cuped:
                arrow["conv_x"] = E.anchored_conversion(con, units, events_sql, steps, window_us,
                                                        mode, post=False)
        with E.registered(con, arrow) as extra:
            values = []
            for m in parsed:
                if m.kind == "conversion":
                    y = f"SELECT code, y FROM {extra['conv_y']}"  # noqa: S608
                    x = f"SELECT code, y AS x FROM {extra['conv_x']}" if cuped else None  # noqa: S608
                elif m.kind == "count":
                    ev = E.events_of(source.sql, native, [m.event])
                    y = E.count_values(units, ev, window_us)
                    x = y if cuped else None
                else:
                    y = E.revenue_values(units, orders_sql, native, window_us)
                    x = y if cuped else None
                values.append((y, x))
            rows = E.summaries(con, units, values)
    return rows, (total, multiple, no_variant), variant_source


def _variant_relation_portable(ws, column: str, native: bool):
    """(where the column lives, Ibis ``code, variant, n_variants``) for a variant column."""
    from funnelscope.analyses.experiment import portable as P
    from funnelscope.analyses.registry import suggest

    candidates = list(ws.columns("events"))
    if column in candidates:
        return "events", P.column_variants(ws, ws.events, column, native, user_table=False)
    for table in ENTITY_TABLES:
        if ws.has_table(table):
            cols = ws.columns(table)
            if column in cols:
                return table, P.column_variants(ws, ws.table(table), column, native,
                                                user_table=True)
            candidates += [c for c in cols if c not in candidates]
    raise ConfigError(
        f"--variant-column: no column {column!r} in the events or customers tables."
        f"{suggest(column, candidates)}",
        hint=f"Columns: {', '.join(candidates)}.")


def _rows_portable(ws, steps, parsed, counted, variant_column, experiment, window, window_us,
                   mode, cuped, start, end) -> tuple[list[tuple], tuple[int, int, int], str]:
    """Any engine, Ibis relations (:mod:`.portable`): :func:`_rows_sql`'s rows. The units are
    cached in the engine; conversion flags after an anchor are computed by the funnel kernel
    where the data is (Spark: per entity partition)."""
    from funnelscope.analyses.event_names import unknown_name_text
    from funnelscope.analyses.experiment import portable as P
    from funnelscope.analyses.funnel.spec import instant_us

    native = P.native_ids(ws)
    tz = ws.config.timezone
    funnel_levels = None
    if experiment:
        known = P.experiments(ws)
        if str(experiment) not in known:
            text, _ = unknown_name_text(str(experiment), known, noun="experiment")
            raise ConfigError(f"--experiment: no experiment named {text} in the exposures table.",
                              hint=f"Experiments: {', '.join(known[:20]) or '(none: exposures is empty)'}"
                                   f"{' …' if len(known) > 20 else ''}.")
        start_us = instant_us(start, tz) if start else None
        end_us = instant_us(end, tz) if end else None
        units = P.exposure_units(ws, str(experiment), native, start_us, end_us)
        variant_source = "exposures"
    else:
        from funnelscope.analyses.funnel import funnel
        from funnelscope.analyses.funnel.matching import filtered_events
        from funnelscope.analyses.funnel.spec import make_spec

        variant_source, variants = _variant_relation_portable(ws, str(variant_column), native)
        # the funnel checks the step names; its levels are the conversion metric
        fr = funnel(ws, steps, window, mode=mode, start=start, end=end)
        funnel_levels = (fr.paths.entity, fr.paths.level)
        fspec = make_spec(steps, window, mode=mode, start=start, end=end)
        entry = steps if mode == "any" else steps[:1]
        units = P.column_units(ws, filtered_events(ws, fspec), entry, native, variants)

    scratch = P.Scratch(ws)
    try:
        units = scratch.cache(units)
        counts = P.unit_counts(units)
        events = P.events_of(ws, native, sorted(set(steps) | set(counted)) or None)
        k = len(steps)
        values = []
        for m in parsed:
            if m.kind == "conversion":
                if funnel_levels is not None:
                    codes, levels = funnel_levels
                    entered = levels >= 1
                    y = scratch.flags(codes[entered], (levels[entered] >= k).astype("int64"))
                else:
                    feed = P.anchored_feed(units, events, steps, window_us, post=True)
                    y = P.anchored_conversion(scratch, feed, k, window_us, mode)
                x = None
                if cuped:
                    feed = P.anchored_feed(units, events, steps, window_us, post=False)
                    flags = P.anchored_conversion(scratch, feed, k, window_us, mode)
                    x = flags.select("code", x=flags.y)
            elif m.kind == "count":
                y = P.count_values(units, P.events_of(ws, native, [m.event]), window_us)
                x = y if cuped else None
            else:
                y = P.revenue_values(ws, units, native, window_us)
                x = y if cuped else None
            values.append((y, x))
        rows = P.summaries(units, values)
    finally:
        scratch.close()
    return rows, counts, variant_source


def _summary(row: tuple, i: int) -> tuple[Summary, float]:
    """Metric ``i``'s Summary and Σy from a :func:`engine.summaries` row."""
    base = 2 + 6 * i
    sum_y, mean, var, xm, xv, cov = row[base:base + 6]
    return Summary(int(row[1]), float(mean), None if var is None else float(var),
                   None if xm is None else float(xm), None if xv is None else float(xv),
                   None if cov is None else float(cov)), float(sum_y or 0)


def _contract(metrics: list[Metric], order: list[str], rows: dict, alpha: float,
              correction: str, use_cuped: bool) -> dict:
    """variants, comparisons (with p_value / p_adjusted), metrics, srm, alpha, correction,
    method."""
    control = order[0]
    variants: list[dict] = []
    comparisons: list[dict] = []
    infos: list[dict] = []
    for i, m in enumerate(metrics):
        summ = {n: _summary(rows[n], i) for n in order}
        if m.is_proportion:
            counts = {n: (int(round(summ[n][1])), summ[n][0].n) for n in order}
            cc = compare_counts(counts[control], [(n, *counts[n]) for n in order[1:]],
                                alpha=alpha, control_name=control)
            variants += [{**v, "metric": m.name} for v in cc["variants"]]
            comps = [{"metric": m.name, **c, "p_value_from": "tests.z_pooled"}
                     for c in cc["comparisons"]]
            for c in comps:
                c["p_value"] = c["tests"]["z_pooled"]["p_value"]
        else:
            variants += [{"variant": n, "metric": m.name, "users": summ[n][0].n,
                          "mean": summ[n][0].mean, "variance": summ[n][0].variance}
                         for n in order]
            comps = []
            for n in order[1:]:
                c = {"variant": n, "control": control, "metric": m.name,
                     **compare_means(summ[control][0], summ[n][0], alpha)}
                c["p_value"] = c["tests"]["welch"]["p_value"]
                c["p_value_from"] = "tests.welch"
                comps.append(c)
        info = {"metric": m.name, "kind": "proportion" if m.is_proportion else "mean",
                "unit": {"conversion": "rate (fraction of users)", "count": "events per user",
                         "revenue": "orders.amount per user"}[m.kind],
                "cuped": None}
        if use_cuped:
            adj = cuped_adjust([summ[n][0] for n in order])
            info["cuped"] = {"theta": adj.theta, "variance_reduction": adj.variance_reduction,
                             "covariate_mean": adj.covariate_mean,
                             "covariate": f"{m.name} in the pre-period [anchor - window, anchor)"}
            adjusted = dict(zip(order, adj.adjusted, strict=True))
            for v in variants[-len(order):]:
                a = adjusted[v["variant"]]
                v.update(mean_adjusted=a.mean, variance_adjusted=a.variance,
                         covariate_mean=summ[v["variant"]][0].x_mean)
            for c in comps:
                block = compare_means(adjusted[control], adjusted[c["variant"]], alpha)
                c["cuped"] = {"theta": adj.theta, "variance_reduction": adj.variance_reduction,
                              **block}
                c["p_value"] = block["tests"]["welch"]["p_value"]
                c["p_value_from"] = "cuped.tests.welch"
        comparisons += comps
        infos.append(info)
    raw = [c["p_value"] for c in comparisons]
    defined = [i for i, p in enumerate(raw) if p is not None]
    adjust = {"holm": S.holm, "bh": S.benjamini_hochberg, "none": lambda p: list(p)}[correction]
    for c in comparisons:
        c["p_adjusted"] = None
    for i, p in zip(defined, adjust([raw[i] for i in defined]), strict=True):
        comparisons[i]["p_adjusted"] = p
    srm = S.srm_test([rows[n][1] for n in order])
    method = dict(METHOD)
    method["p_adjusted"] = (f"{CORRECTION_TEXT[correction]} of each comparison's p_value across "
                            f"all {len(comparisons)} comparisons (variants x metrics)")
    method["p_value"] = ("the p-value p_adjusted adjusts: tests.z_pooled (conversion), "
                         "tests.welch (mean metrics), cuped.tests.welch with CUPED")
    method["means"] = ("mean metrics (count:EVENT, revenue): Welch t test; absolute lift with "
                       "a Welch t interval; relative lift m_t/m_c - 1 with delta-method se and "
                       "the same t quantile; sequential on the relative lift; Bayesian: flat "
                       "prior, normal posterior, chance to win = Phi(r/se), expected loss in "
                       "metric units")
    if use_cuped:
        method["cuped"] = ("Y_adj = Y - theta (X - mean X), X = the same metric in the "
                           "pre-period [anchor - window, anchor), theta = pooled within-variant "
                           "cov(Y, X) / var(X) (= the OLS coefficient of X in Y ~ variant + X); "
                           "the cuped block compares the adjusted means as a mean metric")
    return {
        "variants": variants,
        "comparisons": comparisons,
        "metrics": infos,
        "srm": {"p_value": srm["p_value"], "ok": srm["ok"], "statistic": srm["statistic"],
                "threshold": S.SRM_THRESHOLD, "expected_split": None},
        "alpha": alpha,
        "correction": correction,
        "method": method,
    }
