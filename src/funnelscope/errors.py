"""Every error funnelscope raises: one root class, precise subclasses.

Messages say what was wrong, where (file, row, column, step) and what to do next.
The CLI prints ``str(error)`` as one line and exits with ``error.exit_code``.
"""

from __future__ import annotations


class FunnelscopeError(Exception):
    """Root of every error funnelscope raises on purpose."""

    exit_code = 1
    code = "funnelscope_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} {hint}")

    def to_dict(self) -> dict:
        """The one JSON error shape: ``{"error": {"code", "message", "hint"}}``."""
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}


class ConfigError(FunnelscopeError):
    """A setting, spec argument or workspace configuration is invalid."""

    exit_code = 2
    code = "invalid_argument"


class SpecError(ConfigError):
    """An analysis spec (steps, window, mode, ...) is invalid."""

    code = "invalid_spec"


class InputError(FunnelscopeError):
    """An input file or frame cannot be read or does not fit the table's contract."""

    exit_code = 3
    code = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.source, self.row, self.column = source, row, column
        super().__init__(message, hint=hint)


class MissingColumnsError(InputError):
    """Required canonical columns are absent after applying the column map."""

    code = "missing_columns"


class ValidationError(InputError):
    """A row failed validation in a strict load (``--strict``)."""

    code = "validation_failed"


class WorkspaceError(FunnelscopeError):
    """The workspace cannot be opened, or lacks a table an analysis needs."""

    exit_code = 4
    code = "workspace_error"


class MissingTableError(WorkspaceError):
    """An analysis needs a canonical table the workspace does not have."""

    code = "missing_table"


class BackendNotSupported(FunnelscopeError):
    """The operation is not available on this engine backend."""

    exit_code = 5
    code = "backend_not_supported"
