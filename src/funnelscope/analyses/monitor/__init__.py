"""Monitoring: is this day (hour) normal for its weekday (hour of the week)?

:func:`~.run.watch` builds one series per metric, bucket by bucket (:mod:`.clock`: calendar
days or wall-clock hours of the reporting time zone): a funnel's ``entrants`` and
``conversion:<step>`` (:mod:`.series`), and any metric of funnelscope.yml evaluated by its own
definition per bucket. Each bucket is compared with the same weekday (and hour) of the
previous weeks (:mod:`.baseline`: median, band = median ± k·max(φ, 1) sampling errors, φ the
dispersion of the whole window's leave-one-out errors, never narrower than
the sampling error); buckets outside the band are alerts, optionally attributed to the ``by``
groups whose change explains the deviation, and optionally POSTed to a webhook
(:mod:`.webhook`). docs/monitoring.md has the exact rules.
"""

from funnelscope.analyses.monitor.run import watch

__all__ = ["watch"]
