"""The one error shape of the API, ``{"error": {"code", "message", "hint"}}``, and HTTP statuses.

FunnelscopeError subclasses map to statuses by class: bad arguments and specs 400, a missing
table 404, an invalid request (wrong type, missing parameter) 422, no or wrong token 401, the
time limit 503, anything else 500 (code ``internal_error``; the message never includes a
traceback).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from funnelscope.errors import (
    BackendNotSupported,
    ConfigError,
    FunnelscopeError,
    InputError,
    MissingTableError,
    WorkspaceError,
)

log = logging.getLogger("funnelscope.web")


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None


class ErrorBody(BaseModel):
    """Every API error: ``{"error": {"code": ..., "message": ..., "hint": ...}}``."""

    error: ErrorDetail


#: OpenAPI ``responses`` for every API route.
ERROR_RESPONSES = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Invalid argument or analysis spec"), (401, "Missing or wrong token"),
        (404, "Unknown path, named definition or missing table"),
        (422, "Request parameter of the wrong type or missing"),
        (500, "Unexpected server error"), (503, "Query time limit exceeded"),
    )
}


def status_of(exc: FunnelscopeError) -> int:
    """The HTTP status for a FunnelscopeError."""
    from funnelscope.definitions import UnknownDefinition
    from funnelscope.web.state import QueryTimeout

    if isinstance(exc, QueryTimeout):
        return 503
    if isinstance(exc, (MissingTableError, UnknownDefinition)):
        return 404
    if isinstance(exc, (ConfigError, InputError, BackendNotSupported)):
        return 400
    if isinstance(exc, WorkspaceError):
        return 500
    return 500


def private(request: Request, body: dict) -> dict:
    """The error body with the server's workspace path reduced to its file name (messages
    and hints written for the CLI name the workspace; the API never discloses directories)."""
    state = getattr(request.app.state, "funnelscope", None)
    workspace = getattr(getattr(state, "settings", None), "workspace", None)
    if workspace is None:
        return body
    from pathlib import Path

    full = Path(workspace)
    names = {str(full), str(full.absolute()), str(full.resolve())}
    error = body.get("error", {})
    for key in ("message", "hint"):
        text = error.get(key)
        if isinstance(text, str):
            for name in sorted(names, key=len, reverse=True):
                text = text.replace(name, full.name)
            error[key] = text
    return body


def error_response(status: int, code: str, message: str, hint: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "hint": hint}},
                        status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(FunnelscopeError)
    async def _funnelscope(request: Request, exc: FunnelscopeError) -> JSONResponse:
        return JSONResponse(private(request, exc.to_dict()), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
            problems.append(f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", "invalid"))
        return error_response(422, "invalid_request", "; ".join(problems) or "invalid request.",
                              "See /docs or /openapi.json for the parameters.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        message = exc.detail if isinstance(exc.detail, str) else "request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such path: {request.url.path}"
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), message,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, "internal_error",
                              f"unexpected {type(exc).__name__} while answering {request.url.path}.",
                              "This is a bug in funnelscope; the server log has the details.")
