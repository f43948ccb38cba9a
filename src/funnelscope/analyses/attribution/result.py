"""The attribution Result: conversions (and revenue) per channel under each model."""

from __future__ import annotations

from typing import Any

from funnelscope.analyses.result import Result, jsonable


class AttributionResult(Result):
    """Tables:

    * ``channels``: channel, first_touch, last_touch, linear, time_decay, position, markov
      (conversions credited to the channel by each model), removal_effect (the Markov
      removal effect, 0..1, before normalising) and touches (the channel's touches in all
      journeys, converting or not);
    * ``revenue`` (with ``value="revenue"``): the same columns in conversion value; its
      removal_effect is the value chain's;
    * ``models``: per model, the conversions and the revenue it shares out (every model
      shares out every conversion that has a touch);
    * ``transitions``: the fitted Markov chain: from_state, to_state, journeys, probability.

    ``meta``: conversions (all), attributed_conversions (with at least one touch in the
    lookback), conversions_without_touches, converting_journeys, null_journeys,
    distinct_paths, conversion_probability (P(conversion) of the chain), revenue totals,
    engine.
    """

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out
