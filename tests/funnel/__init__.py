"""Funnel semantics: the reference oracle, its strategies and its checks."""
