"""Event funnels: ordered / strict / any-order conversion with windows (docs/funnels.md)."""

from funnelscope.analyses.funnel.spec import Exclusion, FunnelSpec, Step, exclusion, make_spec, step

__all__ = ["Exclusion", "FunnelSpec", "Step", "exclusion", "funnel", "make_spec", "step"]


def funnel(ws, steps, window="7d", **options):
    """Run a funnel on workspace ``ws``; see :meth:`funnelscope.Workspace.funnel`."""
    from funnelscope.analyses.funnel.run import run

    return run(ws, make_spec(steps, window, **options))
