"""The ``funnelscope`` command line: one typer app, one module per command.

Errors are printed as one line on stderr (no traceback) with a non-zero exit code
(2 bad argument, 3 bad input, 4 workspace problem, 1 anything else).
"""

from __future__ import annotations

import sys

import typer


def build_app() -> typer.Typer:
    """The command line: the hand-written commands and one command per registry analysis."""
    app = typer.Typer(
        name="funnelscope",
        help=(
            "Customer-funnel analytics from raw event logs, orders, deals and spend.\n\n"
            "Start with:  funnelscope demo   (writes demo/funnelscope.duckdb and prints a funnel)\n\n"
            "Then:  funnelscope load events.csv --workspace my.duckdb --table events "
            "--map user_id=uid,ts=time,event=event_name"
        ),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )

    _register_commands(app)
    return app


#: hand-written commands (data and surfaces); every analysis command comes from the registry
COMMAND_MODULES = ("load", "tables", "events", "demo", "abtest", "report", "serve")


def _register_commands(app: typer.Typer) -> None:
    import importlib

    from funnelscope.cli import analyses

    for name in COMMAND_MODULES:
        if name == "report":  # analyses before the surfaces that show them
            analyses.register(app)
        try:
            module = importlib.import_module(f"funnelscope.cli.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"funnelscope.cli.commands.{name}":
                continue  # command not built yet
            raise
        module.register(app)


app = build_app()


def main(argv: list[str] | None = None, cli: typer.Typer | None = None) -> None:
    """Entry point: run the app (``cli``: another one from :func:`build_app`), turning
    FunnelscopeError into one clear line."""
    from funnelscope.errors import FunnelscopeError

    try:
        (cli or app)(args=argv, standalone_mode=False)
    except FunnelscopeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # usage errors (unknown option, missing argument): typer's click raises a
        # ClickException-like error with show() and exit_code (typer >= 0.22 vendors click)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise
