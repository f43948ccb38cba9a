"""The FastAPI application: JSON API under /api, pages, static files, guard-rails.

``create_app(Settings(workspace=...))`` opens the workspace read-only and returns the app;
``funnelscope serve`` runs it with uvicorn.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

import funnelscope
from funnelscope.web.settings import Settings

HERE = Path(__file__).parent


def _templates() -> Jinja2Templates:
    import jinja2

    from funnelscope.report.html import TEMPLATES as REPORT_TEMPLATES

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(HERE / "templates")),
                                    jinja2.FileSystemLoader(str(REPORT_TEMPLATES))]),
        autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(settings: Settings) -> FastAPI:
    """The app for one workspace (opened read-only now, closed when the app stops)."""
    from funnelscope.web import api, errors, pages
    from funnelscope.web.state import State

    state = State(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state.ensure_open()
        yield
        state.close()

    app = FastAPI(
        title="funnelscope", version=funnelscope.__version__, lifespan=lifespan,
        description=(
            "Customer-funnel analytics over one read-only workspace. Every analysis answers the "
            "JSON its CLI command prints with `--format json`; errors have one shape, "
            '`{"error": {"code", "message", "hint"}}`. Each request may compute for at most '
            f"{settings.time_limit:g} s (else 503 `query_timeout`) and returns at most "
            f"{settings.max_rows:,} rows per table (longer tables are cut and listed under "
            "`truncated`)." + (" Requests need the server's token (`Authorization: Bearer ...`)."
                               if settings.token else "")
        ),
    )
    app.state.funnelscope = state
    app.state.templates = _templates()
    errors.install(app)
    if settings.token:
        from funnelscope.web.security import TokenMiddleware

        app.add_middleware(TokenMiddleware, token=settings.token)
    app.include_router(api.router)
    app.include_router(api.analysis_router())
    app.include_router(pages.router)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app
