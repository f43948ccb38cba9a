"""Terminal and CSV output of ``funnelscope experiment``: per metric the variants and the
treatment-vs-control table (conversion as ``funnelscope abtest``; mean metrics with Welch's
test; CUPED-adjusted columns with --cuped), the sample-ratio check, then who was left out."""

from __future__ import annotations

from typing import Any

CORRECTION_LABEL = {"holm": "Holm", "bh": "BH", "none": "unadjusted"}


def _num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+,.4g}" if signed else f"{x:,.4g}"


def render(result, data: dict, view: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from funnelscope.cli.commands.abtest import _p, _pct, _points, print_srm

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    level = f"{1 - data['alpha']:.0%}"
    adjusted = f"p ({CORRECTION_LABEL.get(data.get('correction', 'holm'), 'adj.')})"
    cuped = bool(data.get("spec", {}).get("cuped"))
    for info in data.get("metrics", [{"metric": "conversion", "kind": "proportion"}]):
        name, proportion = info["metric"], info["kind"] == "proportion"
        rows = [v for v in data["variants"] if v.get("metric", "conversion") == name]
        comps = [c for c in data["comparisons"] if c.get("metric", "conversion") == name]
        variants = Table(title=f"{name}: variants", title_justify="left", header_style="bold")
        cols = ["variant", "users"] + (["conversions", "rate"] if proportion else ["mean", "variance"])
        if cuped:
            cols += ["adjusted mean"]
        for col in cols:
            variants.add_column(col, justify="left" if col == "variant" else "right")
        for v in rows:
            cells = [v["variant"], f"{v['users']:,}"]
            cells += ([f"{v['conversions']:,}", _pct(v["rate"])] if proportion
                      else [_num(v["mean"]), _num(v["variance"])])
            if cuped:
                cells.append(_pct(v.get("mean_adjusted")) if proportion else _num(v.get("mean_adjusted")))
            variants.add_row(*cells)
        console.print(variants)
        table = Table(title=f"{name}: treatment vs control ({level} intervals, two-sided p)",
                      title_justify="left", header_style="bold")
        heads = ["variant", "abs. lift", f"{level} CI", "p", "rel. lift", f"{level} CI ",
                 "sequential CI", "chance to win", "exp. loss"]
        if cuped:
            heads += ["CUPED abs. lift", "CUPED CI", "CUPED p", "var. reduction"]
        heads.append(adjusted)
        for col in heads:
            table.add_column(col, justify="left" if col == "variant" else "right")
        fmt = (lambda x: _pct(x, True)) if proportion else (lambda x: _num(x, True))
        for c in comps:
            a, r, s, b = c["absolute"], c["relative"], c["sequential"], c["bayesian"]
            cells = [f"{c['variant']} vs {c['control']}", fmt(a["estimate"]),
                     f"{fmt(a['ci_low'])} to {fmt(a['ci_high'])}", _p(a["p_value"]),
                     _pct(r["estimate"], True),
                     f"{_pct(r['ci_low'], True)} to {_pct(r['ci_high'], True)}",
                     f"{_pct(s['ci_low'], True)} to {_pct(s['ci_high'], True)}",
                     _pct(b["chance_to_win"]),
                     _points(b["expected_loss"]) if proportion else _num(b["expected_loss"])]
            if cuped:
                k = c.get("cuped") or {}
                ka = k.get("absolute", {})
                red = k.get("variance_reduction")
                cells += [fmt(ka.get("estimate")), f"{fmt(ka.get('ci_low'))} to {fmt(ka.get('ci_high'))}",
                          _p(ka.get("p_value")), _pct(red)]
            cells.append(_p(c["p_adjusted"]))
            table.add_row(*cells)
        console.print(table)
    print_srm(console, data["srm"])
    meta = data.get("meta", {})
    spec = data.get("spec", {})
    source = (f"experiment {spec.get('experiment')!r} (exposures)" if spec.get("experiment")
              else f"{spec.get('variant_column')!r} ({meta.get('variant_source')})")
    console.print(
        f"Variant from {source}, control {meta.get('control')!r}; window {spec.get('window')} "
        f"from each user's {meta.get('window_starts', 'entry')}"
        + (f"; conversion = {' → '.join(spec.get('steps', []))}" if spec.get("steps") else "")
        + f". Excluded: {meta.get('multiple_variants', 0):,} users in several variants, "
        f"{meta.get('no_variant', 0):,} without a variant.")
    console.print("abs. = rate points (conversion) or metric units per user; rel. = "
                  "treatment/control − 1; p adjusted across all comparisons. "
                  "Methods: docs/experiments.md")


def csv_rows(result, data: dict, view: dict, name: str) -> Any:
    """``--table comparisons``: one flat row per metric and treatment; ``--table variants``:
    one row per metric and variant, the same columns in every row."""
    from funnelscope.analyses.experiment.result import flat_comparisons, flat_variants

    if name == "comparisons":
        return flat_comparisons(data)
    if name == "variants":
        return flat_variants(data)
    return None
