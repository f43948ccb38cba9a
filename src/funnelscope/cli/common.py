"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from pathlib import Path

import typer

WorkspaceOpt = typer.Option(
    None, "--workspace", "-w", help="DuckDB workspace file (created by `funnelscope load`).",
    envvar="FUNNELSCOPE_WORKSPACE",
)
FormatOpt = typer.Option("table", "--format", "-f", help="Output: table (for people), json or csv.")


def open_workspace(workspace: Path | None, *, read_only: bool = False, tz: str | None = None, **files):
    """Open ``--workspace`` or, with ``--events FILE`` style options, files in place."""
    import funnelscope as fs
    from funnelscope.errors import ConfigError

    in_place = {k: v for k, v in files.items()
                if v is not None and k not in ("columns", "epoch_unit")}
    if workspace is None and not in_place:
        raise ConfigError(
            "no data given.",
            hint="Pass --workspace W (see `funnelscope load --help`) or --events FILE.",
        )
    if workspace is not None and not in_place and not Path(workspace).exists():
        from funnelscope.errors import WorkspaceError

        raise WorkspaceError(
            f"workspace file not found: {workspace}",
            hint="Create one with `funnelscope load FILE --workspace W` or `funnelscope demo`.",
        )
    return fs.connect(
        str(workspace) if workspace else None,
        read_only=read_only and workspace is not None,
        columns=files.get("columns"),
        epoch_unit=files.get("epoch_unit"),
        tz=tz,
        **in_place,
    )
