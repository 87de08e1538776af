"""The GraphiQL page and its files, served by the gateway itself.

Every script and stylesheet the page loads comes from `/graphiql/assets/`
(third-party builds in `static/graphiql/vendor/`, fetched and pinned by
`scripts/fetch-graphiql-assets`), so the IDE works without internet access and
its Content-Security-Policy can refuse everything that is not the gateway. The
page carries no inline script: what differs per page (who is logged in, the
subscription URL, the example tabs) is a JSON data element that `page.js` reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.core.auth import Principal

STATIC = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql/assets"
EXAMPLES_FILE = STATIC / "examples.graphql"
LOGOUT_PATH = "/auth/logout"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRFToken"
# A browser cannot set headers on a WebSocket: a cookie session sends its CSRF token
# under this key in the `connection_init` payload instead (read by gateway/http/websocket.py).
CSRF_PAYLOAD_KEY = CSRF_HEADER

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
# Loaded in this order: React first, GraphiQL's UMD build expects it as a global, the
# explorer plugin expects GraphiQL, and page.js all of them.
SCRIPTS = (
    "vendor/react.production.min.js",
    "vendor/react-dom.production.min.js",
    "vendor/graphiql.min.js",
    "vendor/plugin-explorer.umd.js",
    "vendor/graphql-ws.min.js",
    "page.js",
)
STYLES = ("vendor/graphiql.min.css", "vendor/plugin-explorer.css", "page.css")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str  # a content hash: the URL changes with the file, so browsers may cache it for good


@cache
def assets() -> dict[str, Asset]:
    """Every file under static/graphiql/, by its path there; read once."""
    found: dict[str, Asset] = {}
    for file in sorted(STATIC.rglob("*")):
        content_type = CONTENT_TYPES.get(file.suffix)
        if file.is_file() and content_type is not None:
            body = file.read_bytes()
            name = file.relative_to(STATIC).as_posix()
            found[name] = Asset(body, content_type, hashlib.sha256(body).hexdigest()[:16])
    return found


def asset_url(name: str) -> str:
    return f"{ASSETS_PATH}/{name}?v={assets()[name].version}"


async def serve_asset(request: Request) -> Response:
    asset = assets().get(request.path_params["name"])
    if asset is None:
        return PlainTextResponse("not found", status_code=404)
    return Response(
        asset.body,
        media_type=asset.content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


def routes() -> list[BaseRoute]:
    return [Route(f"{ASSETS_PATH}/{{name:path}}", serve_asset, methods=["GET", "HEAD"])]


# -- the example tabs ------------------------------------------------------------------------------


@cache
def example_queries() -> tuple[str, ...]:
    """The analyst examples, one query each, as written in examples.graphql (and docs/queries.md)."""
    text = EXAMPLES_FILE.read_text()
    body = text[text.index("\nquery ") + 1 :]
    return tuple(part.strip() + "\n" for part in re.split(r"\n(?=query )", body))


def example_variables(today: dt.date) -> dict[str, str]:
    """Values for every variable the examples use: the last 30 days, and the last two weeks."""
    return {
        "from": str(today - dt.timedelta(days=29)),
        "to": str(today),
        "w1": str(today - dt.timedelta(days=13)),
        "w1end": str(today - dt.timedelta(days=7)),
        "w2": str(today - dt.timedelta(days=6)),
        "w2end": str(today),
    }


def example_tabs(today: dt.date) -> list[dict[str, str]]:
    values = example_variables(today)
    tabs = []
    for query in example_queries():
        used = {name: value for name, value in values.items() if f"${name}:" in query}
        tabs.append({"query": query, "variables": json.dumps(used, indent=2)})
    return tabs


# -- the page ----------------------------------------------------------------------------------------


def subscription_url(request: Request, public_url: str) -> str:
    """The WebSocket URL of /graphql on the page's own origin (the public URL's when set)."""
    base = urlparse(public_url) if public_url else urlparse(str(request.url))
    scheme = "wss" if base.scheme == "https" else "ws"
    return f"{scheme}://{base.netloc}/graphql"


def content_security_policy(ws_url: str) -> str:
    socket_origin = ws_url.removesuffix("/graphql")
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src 'self' {socket_origin}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


def _who(principal: Principal | None, can_log_out: bool) -> str:
    if principal is None:
        return (
            "<span class='omnify-who'>Not logged in: paste "
            "<code>{&quot;Authorization&quot;: &quot;Bearer …&quot;}</code> into the Headers tab</span>"
        )
    org = principal.organization
    roles = ", ".join(sorted(principal.roles)) or "no role"
    who = (
        f"<span class='omnify-who' data-testid='who'>"
        f"<span class='omnify-org' title='organization'>{html.escape(org.name)} "
        f"(<code>{html.escape(org.slug)}</code>)</span>"
        f"<span class='omnify-role' title='role'>{html.escape(roles)}</span>"
        f"<span class='omnify-user'>{html.escape(principal.email or principal.subject)}</span></span>"
    )
    if can_log_out:
        who += (
            f"<form method='post' action='{LOGOUT_PATH}' class='omnify-logout'>"
            "<button type='submit'>Log out</button></form>"
        )
    return who


def _json_for_html(value: Any) -> str:
    # Inside <script type="application/json"> only `</script` could end the element early.
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(request: Request, principal: Principal | None, *, public_url: str, can_log_out: bool) -> HTMLResponse:
    ws_url = subscription_url(request, public_url)
    config = {
        "url": "/graphql",
        "subscriptionUrl": ws_url,
        "csrfCookie": CSRF_COOKIE,
        "csrfHeader": CSRF_HEADER,
        "csrfPayloadKey": CSRF_PAYLOAD_KEY,
        "tabs": example_tabs(dt.datetime.now(dt.UTC).date()),
    }
    styles = "".join(f"<link rel='stylesheet' href='{asset_url(name)}'>" for name in STYLES)
    scripts = "".join(f"<script src='{asset_url(name)}' defer></script>" for name in SCRIPTS)
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Omnify GraphiQL</title>{styles}"
        f"<script type='application/json' id='omnify-graphiql-config'>{_json_for_html(config)}</script>"
        f"{scripts}</head><body>"
        f"<header class='omnify-bar'><strong>Omnify Gateway</strong>{_who(principal, can_log_out)}</header>"
        "<main id='graphiql'><p class='omnify-loading'>Loading…</p></main>"
        "</body></html>"
    )
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": content_security_policy(ws_url),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def wanted(request: Request) -> bool:
    """Whether a GET asks for the IDE page: a browser (text/html, not curl's `*/*`) sending no GraphQL request."""
    sent = {"query", "documentId", "extensions"} & request.query_params.keys()
    return request.method == "GET" and not sent and "text/html" in request.headers.get("accept", "")
