"""``funnelscope serve``: the dashboard and JSON API over a read-only workspace."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(
    workspace: Path = typer.Option(None, "--workspace", "-w", help="DuckDB workspace file (opened read-only).", envvar="FUNNELSCOPE_WORKSPACE"),
    config: Path = typer.Option(None, "--config", "-c", help="Definitions file (default: funnelscope.yml beside the workspace)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback needs a token."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on."),
    token: str = typer.Option(None, "--token", help="Require this token on every request (or set FUNNELSCOPE_TOKEN).", show_default=False),
    time_limit: float = typer.Option(30.0, "--time-limit", help="Seconds one request may compute before it is stopped (HTTP 503)."),
    max_rows: int = typer.Option(10_000, "--max-rows", help="Rows per table in a JSON answer; longer tables are cut (listed under 'truncated')."),
) -> None:
    """Serve the dashboard (funnel builder, retention, segments, value, pipeline; English / 中文) and the JSON API (/api/..., schema at /openapi.json).

    The workspace is opened read-only. Binding to anything but 127.0.0.1 / localhost requires
    a token; requests without it get 401. Details: docs/dashboard.md.

    Example:
      funnelscope serve --workspace demo/funnelscope.duckdb --port 8000
      FUNNELSCOPE_TOKEN=s3cret-token funnelscope serve -w demo/funnelscope.duckdb --host 0.0.0.0
    """
    import sys

    import uvicorn

    from funnelscope.errors import ConfigError, WorkspaceError
    from funnelscope.web import Settings, create_app
    from funnelscope.web.settings import token_from_env

    if workspace is None:
        raise ConfigError("no workspace given.", hint="Pass --workspace W (or set FUNNELSCOPE_WORKSPACE).")
    if not workspace.exists():
        raise WorkspaceError(f"workspace file not found: {workspace}",
                             hint="Create one with `funnelscope load FILE --workspace W` or `funnelscope demo`.")
    settings = Settings(workspace=workspace, config=config, token=token_from_env(token), host=host,
                        time_limit=time_limit, max_rows=max_rows)
    app = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"funnelscope dashboard on http://{shown}:{port}/ (API docs: /docs)\n")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
