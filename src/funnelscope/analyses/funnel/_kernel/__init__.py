"""The compiled funnel kernel (``_funnelc``, built from funnelc.c at install time; optional)."""
