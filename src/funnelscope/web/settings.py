"""What ``funnelscope serve`` runs with: the workspace, its definitions and the guard-rails."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass
from pathlib import Path

from funnelscope.errors import ConfigError

TOKEN_ENV = "FUNNELSCOPE_TOKEN"
DEFAULT_TIME_LIMIT = 30.0
DEFAULT_MAX_ROWS = 10_000


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Server settings.

    workspace: DuckDB file, opened read-only. config: funnelscope.yml (None: beside the
    workspace, if there). token: required on every request when set (``Authorization: Bearer``,
    ``?token=`` or the cookie set by a page visited with ``?token=``). time_limit: seconds one
    request may compute before it is stopped (HTTP 503, code ``query_timeout``). max_rows:
    rows per table in a JSON answer; longer tables are cut and listed under ``truncated``.
    """

    workspace: Path
    config: Path | None = None
    token: str | None = None
    host: str = "127.0.0.1"
    time_limit: float = DEFAULT_TIME_LIMIT
    max_rows: int = DEFAULT_MAX_ROWS

    def __post_init__(self) -> None:
        if not (isinstance(self.time_limit, (int, float)) and math.isfinite(self.time_limit)
                and self.time_limit > 0):
            raise ConfigError(f"--time-limit must be a positive number of seconds, got {self.time_limit}.")
        if self.max_rows < 1:
            raise ConfigError(f"--max-rows must be at least 1, got {self.max_rows}.")
        if self.token is not None:
            check_token(self.token)
        if not is_loopback(self.host) and not self.token:
            raise ConfigError(
                f"binding to {self.host} lets other machines read the workspace, so it needs a token.",
                hint=f"Pass --token or set {TOKEN_ENV}; or bind to 127.0.0.1.",
            )


_TOKEN_HINT = "e.g. python -c 'import secrets; print(secrets.token_urlsafe())'"


def check_token(token: str, source: str = "the token") -> str:
    """``token`` if usable, else ConfigError: blank or whitespace-only (never read as "no
    token"), surrounding whitespace or control characters (a header could not carry it), or
    shorter than 8 characters."""
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(f"{source} is blank; a blank token is not accepted as \"no token\".",
                          hint=f"Give a real token ({_TOKEN_HINT}), or leave --token and "
                               f"{TOKEN_ENV} unset on a loopback address.")
    if token != token.strip():
        raise ConfigError(f"{source} starts or ends with whitespace.",
                          hint="Remove the spaces: clients strip them, so it could never match.")
    if any(ord(c) < 32 or ord(c) == 127 for c in token):
        raise ConfigError(f"{source} contains a control character.",
                          hint="Use printable characters only.")
    if len(token) < 8:
        raise ConfigError(f"{source} is too short; use at least 8 characters.", hint=_TOKEN_HINT)
    return token


def token_from_env(token: str | None) -> str | None:
    """``token`` if given, else the ``FUNNELSCOPE_TOKEN`` environment variable (None only when
    neither is given). A given but blank token, from either, is a ConfigError, never "no
    token"."""
    if token is not None:
        return check_token(token, "--token")
    env = os.environ.get(TOKEN_ENV)
    if env is None:
        return None
    return check_token(env, TOKEN_ENV)
