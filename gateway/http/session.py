"""The GraphiQL session cookie, encrypted: whoever sees the cookie learns nothing from it.

The session holds a bearer access token, so a cookie that were only signed
would hand that token to anyone who reads it: a proxy log, a browser
extension, a shared machine's profile. Here the session is sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from `OMNIFY_SESSION_SECRET`:
the cookie is `base64url(version || nonce || ciphertext+tag)`, authenticated
together with the cookie's name, and carries its own issue time so an old
cookie expires on the server whatever the browser does with `Max-Age`. A
cookie that was altered, made under another secret or is too old is simply
no session.

The middleware is pure ASGI and puts the session (a dict that notes changes)
in `scope["session"]`, where Starlette's `request.session` and authlib's
login client find it, for HTTP requests and WebSocket handshakes alike; only
HTTP responses set or clear the cookie.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

VERSION = b"\x01"
NONCE_BYTES = 12
_SALT = b"omnify-gateway/session-cookie"
_INFO = b"AES-256-GCM key, version 1"
_EXPIRED = "expires=Thu, 01 Jan 1970 00:00:00 GMT"


class Session(dict[str, Any]):
    """The session's data; notes whether it was read (for `Vary: Cookie`) or changed (to send a cookie)."""

    accessed = False
    modified = False

    def _changed(self) -> None:
        self.accessed = self.modified = True

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._changed()
        super().__delitem__(key)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self._changed()
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self._changed()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().update(*args, **kwargs)


class SessionCipher:
    """Seals and opens session data for one cookie name under a key derived from the secret."""

    def __init__(self, secret: str, cookie_name: str, max_age_s: int) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
        self._aead = AESGCM(key)
        self._aad = cookie_name.encode()
        self.max_age_s = max_age_s

    def seal(self, data: dict[str, Any], now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        plain = json.dumps({"iat": issued, "data": data}, separators=(",", ":")).encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = VERSION + nonce + self._aead.encrypt(nonce, plain, self._aad)
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, value: str, now: float | None = None) -> dict[str, Any] | None:
        """The session data, or None for a cookie that was altered, made otherwise, or is too old."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return None
        if raw[:1] != VERSION or len(raw) < 1 + NONCE_BYTES + 16:
            return None
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        try:
            content = json.loads(self._aead.decrypt(nonce, sealed, self._aad))
        except (InvalidTag, ValueError):
            return None
        if not isinstance(content, dict):
            return None
        issued, data = content.get("iat"), content.get("data")
        if not isinstance(issued, int) or not isinstance(data, dict):
            return None
        age = (time.time() if now is None else now) - issued
        if not 0 <= age <= self.max_age_s + 60:  # a minute for clocks of several workers
            return None
        return data


class EncryptedSessions:
    """ASGI middleware: `scope["session"]` from the encrypted cookie, and the cookie from the session."""

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str,
        session_cookie: str,
        max_age: int,
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        path: str = "/",
    ) -> None:
        self.app = app
        self.cookie = session_cookie
        self.cipher = SessionCipher(secret_key, session_cookie, max_age)
        self.max_age = max_age
        self.path = path
        self.flags = f"httponly; samesite={same_site}" + ("; secure" if https_only else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = HTTPConnection(scope).cookies.get(self.cookie)
        data = self.cipher.open(value) if value else None
        session = Session(data or {})
        scope["session"] = session
        had_session = data is not None

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                self._cookie_headers(MutableHeaders(scope=message), session, had_session)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie_headers(self, headers: MutableHeaders, session: Session, had_session: bool) -> None:
        if session.accessed:
            headers.add_vary_header("Cookie")
        if session.modified and session:
            sealed = self.cipher.seal(dict(session))
            headers.append(
                "Set-Cookie", f"{self.cookie}={sealed}; path={self.path}; Max-Age={self.max_age}; {self.flags}"
            )
        elif session.modified and had_session:
            headers.append("Set-Cookie", f"{self.cookie}=null; path={self.path}; {_EXPIRED}; {self.flags}")
