"""User paths: what users do after (or before) an event, or after leaving a funnel step.

``ws.paths(after="checkout", dropped=True, steps=[...])`` answers "what did the users who left
after checkout do next?": the most common next ``depth`` events (``paths``), the step-to-step
transitions (or the whole-log transition matrix), and sessions with time on step. Everything
is window functions and GROUP BY in the engine (DuckDB SQL text; on Spark the Ibis relations of
:mod:`.portable`); the exact rules are in docs/journeys.md.
"""

from funnelscope.analyses.paths.spec import END, OTHER, START, PathsSpec

__all__ = ["END", "OTHER", "START", "PathsSpec"]
