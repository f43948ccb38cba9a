"""Posting a watch's alerts to a webhook (standard library only).

``POST <url>`` with ``Content-Type: application/json`` and the body
``{"alerts": [...], "spec": {...}, "workspace": "<file name>"}`` (the alerts exactly as in the
watch's JSON). A ``user:password@`` in the URL is sent as HTTP basic authentication and never
echoed. Only http and https URLs are accepted; the request times out after
:data:`TIMEOUT` seconds and redirects are not followed (a redirected POST would lose its
body). Delivery never raises: the outcome is ``{"url", "status", "error", "sent"}``.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from funnelscope.errors import ConfigError

TIMEOUT = 10.0  # seconds
SCHEMES = ("http", "https")
USER_AGENT = "funnelscope-watch"


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else a ConfigError naming --webhook."""
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"--webhook: cannot read {text!r} as a URL ({exc}).",
                          hint="Give an http(s) URL, e.g. https://hooks.example.com/alerts.") from None
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ConfigError(f"--webhook: {text!r} is not an http or https URL.",
                          hint="Give an http(s) URL, e.g. https://hooks.example.com/alerts; "
                               "other schemes (file:, ftp:) are refused.")
    return text


def shown(url: str) -> str:
    """The URL without a user name or password (what meta and messages show)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None  # the 3xx answer becomes an HTTPError: reported, not followed


def post(url: str, payload: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """POST ``payload`` as JSON: ``{"url", "status" (HTTP status or None), "error" (None
    when delivered with a 2xx status), "sent": True}``."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    parts = urlsplit(check_url(url))
    if parts.username is not None:  # user:password@host -> HTTP basic authentication
        import base64
        from urllib.parse import unquote

        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    request = urllib.request.Request(shown(url), data=body, method="POST", headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    outcome: dict[str, Any] = {"url": shown(url), "status": None, "error": None, "sent": True}
    try:
        with opener.open(request, timeout=timeout) as answer:
            outcome["status"] = int(answer.status)
    except urllib.error.HTTPError as exc:
        outcome["status"] = int(exc.code)
        outcome["error"] = f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        outcome["error"] = f"cannot reach the webhook: {exc.reason}"
    except (TimeoutError, OSError, http.client.HTTPException, ValueError) as exc:
        outcome["error"] = f"cannot reach the webhook: {exc or type(exc).__name__}"
    if outcome["error"] is None and not 200 <= outcome["status"] < 300:
        outcome["error"] = f"HTTP {outcome['status']}"
    return outcome
