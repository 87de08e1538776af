"""GraphiQL login: authorization code + PKCE against the dev issuer, session cookie, CSRF, expiry.

Everything runs for real: the gateway (with the dev issuer mounted, as in
`omnify-gateway dev`) on a socket, the code exchange over HTTP, the token
validated through fetched JWKS, and in the last test headless Chromium.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from gateway.core.config import ConfigError, IssuerConfig, Settings, load_settings
from gateway.http import graphiql as graphiql_module
from gateway.http.app import Gateway, create_app
from gateway.http.graphiql import example_queries
from gateway.http.login import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, SESSION_MAX_AGE_S, dev_session_secret
from gateway.http.session import SessionCipher
from gateway.ops.dev_issuer import AUDIENCE, DEV_CLIENT_ID, DevIssuer, s256
from gateway.ops.embedded import free_port
from tests.conftest import Stores
from tests.support.servers import ServerThread

ORG_QUERY = {"query": "{ organization { name slug } }"}
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@dataclass
class LoginGateway:
    url: str
    issuer: DevIssuer
    settings: Settings


@pytest.fixture(scope="module")
def login_gateway(seeded: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoginGateway]:
    """The gateway as `omnify-gateway dev` builds it: dev issuer mounted, login client configured."""
    port = free_port()  # chosen first: the issuer URL and the redirect URI both name it
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path_factory.mktemp("login")
    issuer = DevIssuer.load(data_dir, f"{base}/dev-issuer")
    settings = Settings(
        mode="dev",
        mongo_url=seeded.mongo_url,
        database_url=seeded.app_url,
        database_system_url=seeded.system_url,
        mongo_db=seeded.mongo_db,
        issuers=(IssuerConfig(issuer=issuer.issuer, audience=AUDIENCE, client_id=DEV_CLIENT_ID),),
        public_url=base,
        data_dir=data_dir,
        session_secret=dev_session_secret(data_dir),
        store_timeout_s=2.0,
        jwks_min_refresh_interval_s=1.0,
        clock_leeway_s=0,  # so the expiry test needs seconds, not the default half minute
    )
    server = ServerThread(create_app(settings, extra_routes=issuer.routes()), port=port).start()
    yield LoginGateway(base, issuer, settings)
    server.stop()


@pytest.fixture
async def browser(login_gateway: LoginGateway) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client that keeps cookies, like a browser; redirects are followed step by step."""
    async with httpx.AsyncClient(base_url=login_gateway.url, timeout=30) as http:
        yield http


# -- the flow, step by step ---------------------------------------------------------------------


async def open_graphiql(http: httpx.AsyncClient, path: str = "/graphql") -> httpx.Response:
    return await http.get(path, headers=BROWSER)


def hidden_fields(form_html: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form_html)
    }


async def submit_login_form(http: httpx.AsyncClient, authorize_url: str, org: str, role: str) -> str:
    """Show the dev issuer's form, submit it, and return the callback URL it redirects to."""
    form = await http.get(authorize_url)
    assert form.status_code == 200, form.text
    assert '<select id="org"' in form.text and '<select id="role"' in form.text
    answer = await http.post(authorize_url.split("?")[0], data={**hidden_fields(form.text), "org": org, "role": role})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def start_login(http: httpx.AsyncClient, path: str = "/graphql") -> str:
    """Open GraphiQL without a session and return the issuer URL it redirects to."""
    response = await open_graphiql(http, path)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def log_in(http: httpx.AsyncClient, org: str = "acme", role: str = "analyst") -> str:
    """The whole browser login; returns the CSRF token the GraphiQL page hands out."""
    callback = await submit_login_form(http, await start_login(http), org, role)
    landed = await http.get(callback)
    assert landed.status_code == 303, landed.text
    page = await open_graphiql(http, landed.headers["location"])
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    return page.cookies[CSRF_COOKIE]


def set_cookie(response: httpx.Response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


def same_origin(gateway: LoginGateway, csrf: str | None) -> dict[str, str]:
    """The headers GraphiQL's fetch sends from the gateway's own page."""
    headers = {"Origin": gateway.url, "Sec-Fetch-Site": "same-origin"}
    return {**headers, CSRF_HEADER: csrf} if csrf is not None else headers


# -- tests --------------------------------------------------------------------------------------


async def test_browser_is_sent_to_the_issuer_with_pkce(login_gateway: LoginGateway, browser: httpx.AsyncClient) -> None:
    location = await start_login(browser)
    url = urlparse(location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{login_gateway.issuer.issuer}/authorize"
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == DEV_CLIENT_ID
    assert params["redirect_uri"] == f"{login_gateway.url}/auth/callback"
    assert params["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[\w-]{43}", params["code_challenge"])
    assert params["state"] and "openid" in params["scope"].split()


async def test_login_sets_a_safe_session_cookie_and_graphiql_works(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    callback = await submit_login_form(browser, await start_login(browser), "acme", "analyst")
    landed = await browser.get(callback)
    assert landed.status_code == 303
    assert landed.headers["location"] == f"{login_gateway.url}/graphql"
    cookie = SimpleCookie(set_cookie(landed, SESSION_COOKIE))[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(SESSION_MAX_AGE_S)
    assert not cookie["secure"]  # the public URL is http here; see test_cookies_are_secure_on_https

    page = await open_graphiql(browser)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert '"csrfCookie": "csrftoken"' in page.text  # the page sends the CSRF cookie back as X-CSRFToken
    csrf_cookie = SimpleCookie(set_cookie(page, CSRF_COOKIE))[CSRF_COOKIE]
    assert csrf_cookie["samesite"].lower() == "strict" and csrf_cookie["path"] == "/graphql"

    response = await browser.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, csrf_cookie.value))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["organization"] == {"name": "Acme Corporation", "slug": "acme"}


async def test_the_chosen_organization_is_the_one_served(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    csrf = await log_in(browser, "globex", "viewer")
    response = await browser.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, csrf))
    assert response.json()["data"]["organization"]["slug"] == "globex"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "OWN", "Sec-Fetch-Site": "same-origin"}, id="no CSRF header"),
        pytest.param({"Origin": "OWN", CSRF_HEADER: "wrong"}, id="wrong CSRF token"),
        pytest.param({"Origin": "https://evil.example", CSRF_HEADER: "RIGHT"}, id="foreign Origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site", CSRF_HEADER: "RIGHT"}, id="cross-site fetch"),
        pytest.param({"Sec-Fetch-Site": "same-site", CSRF_HEADER: "RIGHT"}, id="same-site subdomain"),
    ],
)
async def test_cookie_requests_without_csrf_proof_are_forbidden(
    login_gateway: LoginGateway, browser: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    csrf = await log_in(browser)
    sent = {k: (csrf if v == "RIGHT" else login_gateway.url if v == "OWN" else v) for k, v in headers.items()}
    response = await browser.post("/graphql", json=ORG_QUERY, headers=sent)
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "data" not in body


async def test_cookie_get_requests_need_the_csrf_proof_too(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    csrf = await log_in(browser)
    mutation = "/graphql?" + urlencode({"query": "mutation { __typename }"})
    assert (await browser.get(mutation)).status_code == 403
    query = "/graphql?" + urlencode({"query": "{ organization { slug } }"})
    assert (await browser.get(query)).status_code == 403
    allowed = await browser.get(query, headers={CSRF_HEADER: csrf, "Sec-Fetch-Site": "same-origin"})
    assert allowed.json()["data"]["organization"]["slug"] == "acme"
    # With the proof, a mutation over GET is still refused: GraphQL over HTTP answers 405, POST only.
    refused = await browser.get(mutation, headers={CSRF_HEADER: csrf})
    assert (
        refused.status_code == 405
        and refused.headers["allow"] == "POST"
        and "mutations are not allowed" in refused.text.lower()
    ), refused.text


async def test_bearer_tokens_need_no_csrf_and_no_credentials_is_401(login_gateway: LoginGateway) -> None:
    token = login_gateway.issuer.mint(org="initech", role="analyst")
    async with httpx.AsyncClient(base_url=login_gateway.url, timeout=30) as api:
        response = await api.post("/graphql", json=ORG_QUERY, headers={"Authorization": f"Bearer {token}"})
        assert response.json()["data"]["organization"]["slug"] == "initech"
        anonymous = await api.post("/graphql", json=ORG_QUERY)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="omnify-gateway"'
        assert (await api.get("/graphql", headers={"Accept": "application/json"})).status_code == 401


async def test_replayed_callback_is_refused(login_gateway: LoginGateway, browser: httpx.AsyncClient) -> None:
    callback = await submit_login_form(browser, await start_login(browser), "acme", "analyst")
    assert (await browser.get(callback)).status_code == 303
    replay = await browser.get(callback)
    assert replay.status_code == 400 and "refused" in replay.text


async def test_forged_code_is_refused(login_gateway: LoginGateway, browser: httpx.AsyncClient) -> None:
    callback = urlparse(await submit_login_form(browser, await start_login(browser), "acme", "owner"))
    state = parse_qs(callback.query)["state"][0]
    forged = await browser.get("/auth/callback", params={"code": secrets.token_urlsafe(32), "state": state})
    assert forged.status_code == 400 and "invalid_grant" in forged.text
    still_anonymous = await browser.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, "x"))
    assert still_anonymous.status_code == 401


async def test_code_redeemed_by_someone_else_first_is_refused(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    """An intercepted code is useless without the verifier, and spent by the attempt."""
    callback = await submit_login_form(browser, await start_login(browser), "acme", "owner")
    code = parse_qs(urlparse(callback).query)["code"][0]
    async with httpx.AsyncClient(timeout=30) as attacker:
        stolen = await attacker.post(
            f"{login_gateway.issuer.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": DEV_CLIENT_ID,
                "redirect_uri": f"{login_gateway.url}/auth/callback",
                "code_verifier": secrets.token_urlsafe(48),
            },
        )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    late = await browser.get(callback)
    assert late.status_code == 400 and "invalid_grant" in late.text


async def _code_for(http: httpx.AsyncClient, gateway: LoginGateway, challenge: str, **overrides: str) -> str:
    """Play a client of the dev issuer directly: authorize with our own PKCE challenge, get a code."""
    params = {
        "response_type": "code",
        "client_id": DEV_CLIENT_ID,
        "redirect_uri": f"{gateway.url}/auth/callback",
        "scope": "openid",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    location = await submit_login_form(http, f"{gateway.issuer.issuer}/authorize?{urlencode(params)}", "acme", "viewer")
    return parse_qs(urlparse(location).query)["code"][0]


def _exchange(gateway: LoginGateway, code: str, verifier: str, **overrides: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": DEV_CLIENT_ID,
        "redirect_uri": f"{gateway.url}/auth/callback",
        "code_verifier": verifier,
        **overrides,
    }


async def test_dev_issuer_token_endpoint_checks_pkce_and_single_use(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    token_url = f"{login_gateway.issuer.issuer}/token"
    verifier = secrets.token_urlsafe(48)

    code = await _code_for(browser, login_gateway, s256(verifier))
    mismatch = await browser.post(token_url, data=_exchange(login_gateway, code, secrets.token_urlsafe(48)))
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_grant"
    assert "code_verifier" in mismatch.json()["error_description"]

    code = await _code_for(browser, login_gateway, s256(verifier))
    wrong_redirect = await browser.post(
        token_url, data=_exchange(login_gateway, code, verifier, redirect_uri=f"{login_gateway.url}/elsewhere")
    )
    assert wrong_redirect.status_code == 400

    code = await _code_for(browser, login_gateway, s256(verifier))
    granted = await browser.post(token_url, data=_exchange(login_gateway, code, verifier))
    assert granted.status_code == 200, granted.text
    assert granted.headers["cache-control"] == "no-store"
    tokens = granted.json()
    assert tokens["token_type"] == "Bearer" and "id_token" not in tokens  # no nonce was sent
    replay = await browser.post(token_url, data=_exchange(login_gateway, code, verifier))
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

    # The access token is an ordinary one: the gateway accepts it as a bearer token.
    api = await browser.post("/graphql", json=ORG_QUERY, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert api.json()["data"]["organization"]["slug"] == "acme"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"code_challenge": ""}, id="no PKCE"),
        pytest.param({"code_challenge_method": "plain"}, id="plain PKCE"),
        pytest.param({"redirect_uri": "https://evil.example/cb"}, id="foreign redirect_uri"),
        pytest.param({"client_id": "someone"}, id="unknown client"),
        pytest.param({"response_type": "token"}, id="implicit flow"),
    ],
)
async def test_dev_issuer_refuses_bad_authorization_requests(
    login_gateway: LoginGateway, browser: httpx.AsyncClient, overrides: dict[str, str]
) -> None:
    params = {
        "response_type": "code",
        "client_id": DEV_CLIENT_ID,
        "redirect_uri": f"{login_gateway.url}/auth/callback",
        "state": "s",
        "code_challenge": s256(secrets.token_urlsafe(48)),
        "code_challenge_method": "S256",
        **overrides,
    }
    response = await browser.get(f"{login_gateway.issuer.issuer}/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_expired_session_logs_in_again_and_api_gets_401(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    # `exp` is whole seconds, so a 5 s token has at least 4 s left: room for a slow login itself.
    login_gateway.issuer.login_ttl_s = 5
    try:
        csrf = await log_in(browser)
    finally:
        login_gateway.issuer.login_ttl_s = 3600
    await asyncio.sleep(5.5)
    api = await browser.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, csrf))
    assert api.status_code == 401
    assert api.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    page = await open_graphiql(browser)
    assert page.status_code == 302
    assert page.headers["location"].startswith(f"{login_gateway.issuer.issuer}/authorize?")


async def test_logout_clears_the_session(login_gateway: LoginGateway, browser: httpx.AsyncClient) -> None:
    csrf = await log_in(browser)
    out = await browser.get("/auth/logout")
    assert out.status_code == 200
    cleared = set_cookie(out, SESSION_COOKIE)
    assert "expires=Thu, 01 Jan 1970" in cleared
    assert SESSION_COOKIE not in browser.cookies
    api = await browser.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, csrf))
    assert api.status_code == 401
    assert (await open_graphiql(browser)).status_code == 302


def _unpadded_b64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


async def test_the_session_cookie_reveals_neither_token_nor_json(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    csrf = await log_in(browser)
    value = browser.cookies[SESSION_COOKIE]
    raw = _unpadded_b64(value)
    # A signed cookie would carry the JWT (`eyJ...`) and the session JSON in the clear or as base64.
    for text in (value.encode(), raw, base64.b64encode(raw)):
        for needle in (b"eyJ", b"access_token", b'{"', b"csrf", csrf.encode(), b"acme"):
            assert needle not in text, needle
    for part in value.split("."):  # itsdangerous' layout: base64(payload).timestamp.signature
        with contextlib.suppress(ValueError):
            assert b"access_token" not in _unpadded_b64(part)
    # Readable to the gateway alone, and only with its secret: the session is there.
    session = SessionCipher(login_gateway.settings.session_secret, SESSION_COOKIE, SESSION_MAX_AGE_S).open(value)
    assert session is not None and session["csrf"] == csrf and session["access_token"].startswith("eyJ")
    assert SessionCipher("another-secret-" * 3, SESSION_COOKIE, SESSION_MAX_AGE_S).open(value) is None


def _tampered(value: str) -> list[str]:
    raw = bytearray(_unpadded_b64(value))
    flipped = []
    for index in (0, 5, len(raw) // 2, len(raw) - 1):  # version, nonce, ciphertext, tag
        copy = bytearray(raw)
        copy[index] ^= 0x01
        flipped.append(base64.urlsafe_b64encode(bytes(copy)).decode().rstrip("="))
    return [*flipped, value[:-4], value + "AAAA", "null", "", "x" * 5000]


async def test_a_tampered_session_cookie_is_no_session(login_gateway: LoginGateway, browser: httpx.AsyncClient) -> None:
    csrf = await log_in(browser)
    value = browser.cookies[SESSION_COOKIE]
    for forged in _tampered(value):
        async with httpx.AsyncClient(base_url=login_gateway.url, timeout=30) as other:
            other.cookies.set(SESSION_COOKIE, forged)
            api = await other.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, csrf))
            assert api.status_code == 401, (forged[:20], api.text)  # no session: a bearer token is required
            page = await open_graphiql(other)
            assert page.status_code == 302 and "/authorize?" in page.headers["location"]
    still = await browser.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, csrf))
    assert still.status_code == 200  # the genuine cookie still works


async def test_session_cookies_expire_on_the_server_and_belong_to_their_name(
    login_gateway: LoginGateway,
) -> None:
    token = login_gateway.issuer.mint(org="globex", role="viewer")
    secret = login_gateway.settings.session_secret
    data = {"access_token": token, "csrf": "known-csrf"}
    fresh = SessionCipher(secret, SESSION_COOKIE, SESSION_MAX_AGE_S).seal(data)
    old = SessionCipher(secret, SESSION_COOKIE, SESSION_MAX_AGE_S).seal(data, now=time.time() - SESSION_MAX_AGE_S - 120)
    renamed = SessionCipher(secret, "another_cookie", SESSION_MAX_AGE_S).seal(data)
    for cookie, status in ((fresh, 200), (old, 401), (renamed, 401)):
        async with httpx.AsyncClient(base_url=login_gateway.url, timeout=30) as other:
            other.cookies.set(SESSION_COOKIE, cookie)
            api = await other.post("/graphql", json=ORG_QUERY, headers=same_origin(login_gateway, "known-csrf"))
            assert api.status_code == status, api.text


async def test_next_stays_on_the_gateway(login_gateway: LoginGateway, browser: httpx.AsyncClient) -> None:
    start = await browser.get("/auth/login", params={"next": "https://evil.example/"})
    callback = await submit_login_form(browser, start.headers["location"], "acme", "analyst")
    landed = await browser.get(callback)
    assert landed.headers["location"] == f"{login_gateway.url}/graphql"


async def test_graphiql_keeps_its_shared_query_through_login(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    shared = "/graphql?" + urlencode({"q": "{ organization { name } }"})
    callback = await submit_login_form(browser, await start_login(browser, shared), "acme", "analyst")
    landed = await browser.get(callback)
    assert landed.headers["location"] == f"{login_gateway.url}{shared}"


async def test_graphiql_page_loads_nothing_from_elsewhere(
    login_gateway: LoginGateway, browser: httpx.AsyncClient
) -> None:
    await log_in(browser, "globex", "viewer")
    page = await open_graphiql(browser)
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    ws_origin = login_gateway.url.replace("http://", "ws://")
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": f"'self' {ws_origin}",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
    }
    # No inline script: each <script> is a served file or the JSON configuration.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert len(scripts) >= 6
    for attributes, content in scripts:
        if "type='application/json'" not in attributes:
            assert "src='/graphiql/assets/" in attributes and not content.strip(), attributes
    config = json.loads(re.search(r"id='omnify-graphiql-config'>(.*?)</script>", page.text, re.S).group(1))  # type: ignore[union-attr]
    assert config["subscriptionUrl"] == f"{ws_origin}/graphql"
    assert [tab["query"] for tab in config["tabs"]] == list(example_queries())
    assert "Globex" in page.text and "viewer" in page.text and "action='/auth/logout'" in page.text

    urls = re.findall(r"(?:src|href)='(/graphiql/assets/[^']+)'", page.text)
    assert len(urls) == 9
    for url in urls:
        asset = await browser.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith("text/javascript" if ".js?" in url else "text/css"), url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert (await browser.get("/graphiql/assets/../login.py")).status_code == 404
    assert (await browser.get("/graphiql/assets/vendor/nothing.js")).status_code == 404


def test_vendored_graphiql_files_match_their_manifest() -> None:
    """Every served third-party file is listed with its package, version and a shipped licence."""
    vendor = Path(graphiql_module.__file__).parent / "static" / "graphiql" / "vendor"
    manifest = json.loads((vendor / "manifest.json").read_text())
    served = {path.name for path in vendor.iterdir() if path.is_file() and path.name != "manifest.json"}
    assert served == set(manifest["files"])
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    for package in manifest["packages"]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", package["version"]) and package["integrity"].startswith("sha512-")
        assert "Permission is hereby granted" in (vendor / package["licenseFile"]).read_text()


def _production_env(**extra: str) -> dict[str, str]:
    return {
        "MONGO_URL": "mongodb://mongo:27017",
        "DATABASE_URL": "postgresql://omnify@postgres:5432/brain",
        "DATABASE_SYSTEM_URL": "postgresql://omnify_system@postgres:5432/brain",
        "OIDC_ISSUER": "https://login.example.com/realms/omnify",
        "OIDC_AUDIENCE": "omnify-gateway",
        **extra,
    }


def test_production_login_needs_a_session_secret_and_public_url() -> None:
    with pytest.raises(ConfigError) as missing:
        load_settings(_production_env(OIDC_CLIENT_ID="graphiql"))
    text = str(missing.value)
    assert "OMNIFY_SESSION_SECRET is not set" in text and "OMNIFY_PUBLIC_URL" in text

    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_settings(
            _production_env(
                OIDC_CLIENT_ID="graphiql", OMNIFY_SESSION_SECRET="short", OMNIFY_PUBLIC_URL="https://api.example.com"
            )
        )

    settings = load_settings(
        _production_env(
            OIDC_CLIENT_ID="graphiql",
            OIDC_CLIENT_SECRET="s3cret",
            OMNIFY_SESSION_SECRET=secrets.token_urlsafe(32),
            OMNIFY_PUBLIC_URL="https://api.example.com",
        )
    )
    assert settings.issuers[0].client_id == "graphiql"
    # Without a client id there is no login, and nothing more to configure.
    assert load_settings(_production_env()).session_secret == ""


async def test_cookies_are_secure_on_https() -> None:
    settings = load_settings(
        _production_env(
            OIDC_CLIENT_ID="graphiql",
            OMNIFY_SESSION_SECRET=secrets.token_urlsafe(32),
            OMNIFY_PUBLIC_URL="https://api.example.com",
        )
    )
    with_login, without_login = Gateway.build(settings), Gateway.build(_with_client_removed(settings))
    try:
        assert with_login.login is not None
        assert with_login.login.session_options()["https_only"] is True and with_login.login.secure
        assert without_login.login is None
    finally:
        await with_login.http.aclose()
        await without_login.http.aclose()


def _with_client_removed(settings: Settings) -> Settings:
    issuer = settings.issuers[0]
    plain = IssuerConfig(issuer=issuer.issuer, audience=issuer.audience)
    return settings.with_overrides(issuers=(plain,))


# -- end to end in a real browser ---------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium package as root"
)
async def test_graphiql_offline_login_explorer_and_logout_in_headless_chromium(login_gateway: LoginGateway) -> None:
    """GraphiQL loads everything from the gateway: every request the browser makes is recorded."""
    playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is part of the test extra")
    requests: list[str] = []
    console: list[str] = []

    async def only_the_gateway(route: Any) -> None:
        # Recorded by the request listener first; refused so that nothing could leave the machine.
        if route.request.url.startswith(f"{login_gateway.url}/"):
            await route.continue_()
        else:
            await route.abort()

    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await chromium.new_context(viewport={"width": 1400, "height": 860})
            context.on("request", lambda request: requests.append(request.url))
            await context.route("**/*", only_the_gateway)
            page = await context.new_page()
            page.on("websocket", lambda socket: requests.append(socket.url))
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                await _log_in_and_use_graphiql(page, login_gateway, console)
            finally:
                await page.screenshot(path=str(ARTIFACTS / "graphiql-last.png"))
        finally:
            await chromium.close()

    own = (f"{login_gateway.url}/", f"{login_gateway.url.replace('http://', 'ws://')}/")
    foreign = [url for url in requests if not url.startswith(own)]
    assert not foreign, f"requests outside the gateway: {foreign}"
    assert any("/graphiql/assets/vendor/graphiql.min.js" in url for url in requests)
    assert any(url.startswith("ws://") for url in requests)


def _assert_no_console_errors(console: list[str]) -> None:
    problems = [line for line in console if line.startswith(("error", "pageerror")) or "Content Security" in line]
    assert not problems, problems


async def _log_in_and_use_graphiql(page: Any, gateway: LoginGateway, console: list[str]) -> None:
    await page.goto(f"{gateway.url}/graphql")
    await page.wait_for_url(f"{gateway.issuer.issuer}/authorize?**")
    await page.select_option("#org", "acme")
    await page.select_option("#role", "analyst")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{gateway.url}/graphql**")

    who = page.locator(".omnify-who")
    assert "Acme Corporation" in await who.inner_text()
    assert "acme" in await who.locator(".omnify-org").inner_text()
    assert await who.locator(".omnify-role").inner_text() == "analyst"

    # The analyst queries of docs/queries.md are open as tabs.
    tabs = page.locator(".graphiql-tab")
    await tabs.first.wait_for(timeout=30_000)
    assert [t.strip() for t in await tabs.all_inner_texts()] == [
        "TopRoas",
        "CtrTrend",
        "WeeklyByChannel",
        "VersusPreviousPeriod",
        "Overview",
    ]
    await page.screenshot(path=str(ARTIFACTS / "graphiql-examples.png"))

    # The first tab runs as it opens: its variables are filled in, so Run answers data, not an error.
    editor = page.locator(".graphiql-query-editor .CodeMirror").first
    variables = page.locator(".graphiql-editor-tool .CodeMirror").first
    assert (await editor.evaluate("element => element.CodeMirror.getValue()")).startswith("query TopRoas(")
    assert '"from"' in await variables.evaluate("element => element.CodeMirror.getValue()")
    await page.click(".graphiql-execute-button")
    result = page.locator(".graphiql-response")
    await result.get_by_text('"campaigns"').wait_for(timeout=30_000)
    assert '"errors"' not in await result.inner_text()

    # Build a query by clicking in the Explorer, in a new empty tab.
    await page.click(".graphiql-tab-add")
    await page.click("button[aria-label='Show GraphiQL Explorer']")
    explorer = page.locator(".graphiql-explorer-root")
    await explorer.get_by_text("organization", exact=True).first.click()
    await explorer.get_by_text("name", exact=True).first.click()
    editor = page.locator(".graphiql-query-editor .CodeMirror").first
    built = await editor.evaluate("element => element.CodeMirror.getValue()")
    assert re.sub(r"\s+", " ", built).strip().endswith("{ organization { name } }"), built

    await page.click(".graphiql-execute-button")
    result = page.locator(".graphiql-response")
    await result.get_by_text("Acme Corporation").wait_for(timeout=30_000)
    assert '"name": "Acme Corporation"' in await result.inner_text()
    await page.screenshot(path=str(ARTIFACTS / "graphiql-login.png"))

    # The examples stay one click away, in a new tab with their variables filled in.
    await page.click("button[aria-label='Show Examples']")
    await page.click("button[data-example='CtrTrend']")
    await page.locator(".graphiql-tab-active", has_text="CtrTrend").wait_for()
    assert (await editor.evaluate("element => element.CodeMirror.getValue()")).startswith("query CtrTrend(")
    variables = page.locator(".graphiql-editor-tool .CodeMirror").first
    assert '"w2end"' in await variables.evaluate("element => element.CodeMirror.getValue()")

    # Nothing so far was refused by the page's CSP or failed in a script.
    _assert_no_console_errors(console)

    # Subscriptions go over a WebSocket to the gateway's own /graphql, authenticated by the
    # session cookie (and the page's CSRF token): an action committed elsewhere shows up.
    await page.click(".graphiql-tab-add")
    await editor.evaluate(
        "element => element.CodeMirror.setValue('subscription Live { actionLogged { action status } }')"
    )
    # GraphiQL picks the transport by the operation's name once it has parsed the edit.
    await page.locator(".graphiql-tab-active", has_text="Live").wait_for()
    async with page.expect_websocket(timeout=30_000) as opened:
        await page.click(".graphiql-execute-button")
    socket = await opened.value
    assert socket.url == f"{gateway.url.replace('http://', 'ws://')}/graphql"
    await _shift_once_until_seen(page, gateway)
    _assert_no_console_errors(console)

    await page.click(".omnify-logout button")
    await page.get_by_role("heading", name="Logged out").wait_for()
    await page.goto(f"{gateway.url}/graphql")
    await page.wait_for_url(f"{gateway.issuer.issuer}/authorize?**")


async def _shift_once_until_seen(page: Any, gateway: LoginGateway) -> None:
    """Send 0.01 back and forth between two acme campaigns until the page shows the event.

    The socket may still be subscribing when the first shift commits; events are not
    replayed, so shift again (at most a few times) rather than sleep a fixed time.
    """
    token = gateway.issuer.mint(org="acme", role="marketer")
    headers = {"Authorization": f"Bearer {token}"}
    campaigns = "{ organization { campaigns(first: 100) { edges { node { id status dailyBudget { currency } } } } } }"
    shift = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"
    result = page.locator(".graphiql-response")
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        body = (await http.post("/graphql", json={"query": campaigns}, headers=headers)).json()
        usd = [
            e["node"]["id"]
            for e in body["data"]["organization"]["campaigns"]["edges"]
            if e["node"]["status"] == "ACTIVE" and e["node"]["dailyBudget"]["currency"] == "USD"
        ]
        source, target = usd[0], usd[1]

        async def send(attempt: int) -> None:
            pair = (source, target) if attempt % 2 == 0 else (target, source)
            variables = {"i": {"fromCampaignId": pair[0], "toCampaignId": pair[1], "amount": "0.01"}}
            answer = (
                await http.post("/graphql", json={"query": shift, "variables": variables}, headers=headers)
            ).json()
            assert answer["data"]["shiftBudget"]["userErrors"] == [], answer

        for attempt in range(10):
            await send(attempt)
            if await _shows(result, "SHIFT_BUDGET", seconds=3.0):
                break
        else:
            raise AssertionError("GraphiQL never showed the actionLogged event")
        if attempt % 2 == 0:
            await send(attempt + 1)  # the budgets end as they began
    assert '"action": "SHIFT_BUDGET"' in await result.inner_text()


async def _shows(locator: Any, text: str, *, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await locator.get_by_text(text).count():
            return True
        await asyncio.sleep(0.1)
    return False
