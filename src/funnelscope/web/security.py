"""Token check: with a token set, every request must carry it, else HTTP 401.

Accepted: ``Authorization: Bearer <token>``, ``X-Funnelscope-Token: <token>``, ``?token=<token>``
(a page opened that way also gets an HttpOnly cookie, so its own requests pass), or that
cookie. Compared in constant time.
"""

from __future__ import annotations

import secrets

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request

from funnelscope.web.errors import error_response

COOKIE = "funnelscope_token"


def presented(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return (request.headers.get("x-funnelscope-token") or request.query_params.get("token")
            or request.cookies.get(COOKIE))


class TokenMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, token: str) -> None:
        from funnelscope.web.settings import check_token

        super().__init__(app)
        self.token = check_token(token).encode()  # never a blank token that "" would match

    async def dispatch(self, request: Request, call_next):
        given = presented(request)
        if given is None or not secrets.compare_digest(given.encode(), self.token):
            return error_response(401, "unauthorized", "this server needs a token.",
                                  "Send Authorization: Bearer <token> (or open a page with "
                                  "?token=<token>).", headers={"WWW-Authenticate": "Bearer"})
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, given, httponly=True, samesite="strict")
        return response
