"""Terminal and CSV output of ``funnelscope experiment``: the same tables as ``funnelscope
abtest`` (variants, treatment vs control, sample-ratio check), then who was left out."""

from __future__ import annotations

from typing import Any


def render(result, data: dict, view: dict) -> None:
    from rich.console import Console

    from funnelscope.cli.commands.abtest import _print_abtest

    _print_abtest(data)
    meta = data.get("meta", {})
    spec = data.get("spec", {})
    Console().print(
        f"Variant from {spec.get('variant_column')!r} ({meta.get('variant_source')}), control "
        f"{meta.get('control')!r}; conversion = {' → '.join(spec.get('steps', []))} within "
        f"{spec.get('window')}. Excluded: {meta.get('multiple_variants', 0):,} users in several "
        f"variants, {meta.get('no_variant', 0):,} without a variant.")


def csv_rows(result, data: dict, view: dict, name: str) -> Any:
    """``--table comparisons``: one flat row per treatment; other tables: as in the JSON."""
    if name == "comparisons":
        from funnelscope.analyses.experiment.result import flat_comparisons

        return flat_comparisons(data)
    return None
