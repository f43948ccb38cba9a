"""The dashboard and JSON API (``funnelscope serve``): FastAPI over one read-only workspace.

``create_app(Settings(workspace=Path("demo/funnelscope.duckdb")))`` builds the app; see
docs/dashboard.md for the endpoints, the error shape and the guard-rails.
"""

from funnelscope.web.settings import Settings


def create_app(settings: Settings):
    """The FastAPI app for ``settings`` (imports FastAPI lazily)."""
    from funnelscope.web.app import create_app as _create

    return _create(settings)


__all__ = ["Settings", "create_app"]
