"""Conversion monitoring: is today's funnel normal for this weekday?

For a funnel (steps, or a named funnel of funnelscope.yml) :func:`~.run.watch` builds one daily
series per metric: ``entrants`` (entities entering step 1 that day, reporting time zone) and
``conversion:<step>`` (share of that day's entrants reaching the step within the window). Each
day is compared with the same weekday of the previous weeks (median, band = median ±
k·1.4826·MAD, never narrower than the sampling error); days outside the band are alerts,
optionally attributed to the ``by`` groups whose change explains the deviation.
docs/monitoring.md has the exact rules.
"""

from funnelscope.analyses.monitor.run import watch

__all__ = ["watch"]
