"""Multi-touch attribution: how much of each conversion (and its revenue) each channel earns.

A conversion's *journey* is the ordered list of channels of the user's touches in the
lookback window before it (after the user's previous conversion). Six models share the
conversions out among channels: first touch, last touch and linear exactly as the R/Python
package ChannelAttribution's ``heuristic_models()`` defines them, time decay (half-life),
position based (40/20/40) and the first-order Markov chain's removal effect, computed
exactly from the absorbing chain (a linear solve, not a simulation). Definitions and the
ChannelAttribution equivalences: docs/attribution.md.

* :mod:`.spec` -- the validated request (:class:`AttributionSpec`);
* :mod:`.journeys` -- the DuckDB SQL that builds journeys and aggregates them;
* :mod:`.portable` -- the same aggregates as Ibis expressions (Spark);
* :mod:`.heuristics` -- the per-touch credit of the five rule-based models;
* :mod:`.markov` -- the absorbing chain and its removal effects;
* :mod:`.run` -- ``attribution(ws, ...)``; :mod:`.result` -- :class:`AttributionResult`.
"""

from funnelscope.analyses.attribution.heuristics import position_shares, time_decay_shares
from funnelscope.analyses.attribution.markov import MarkovChain, fit_chain

__all__ = ["MarkovChain", "fit_chain", "position_shares", "time_decay_shares"]
