"""The one registry entry of the example analysis."""

from funnelscope.analyses.registry import Analysis, Param

EVENT_MIX = Analysis(
    name="event_mix", title="Event mix",
    summary="Users per event name and their share of all users.",
    function="tests.plugin.event_mix.run:event_mix",
    tables=("events",), files=("events",), map_table="events", csv=("events",), report={},
    params=(Param("top", "int", default=10, low=1, high=1000,
                  help="How many events to list (most users first)."),),
    examples=("funnelscope event-mix --workspace demo/funnelscope.duckdb --top 5",),
)
