"""Platform credential secrets, sealed before they reach the database.

A secret is sealed with AES-256-GCM under the master key of `OMNIFY_SECRET_KEY`
(32 random bytes, base64), with a fresh 96-bit nonce per sealing:

    sealed = VERSION || nonce (12 bytes) || ciphertext + tag (16 bytes)

The associated data binds a sealed secret to its place: the organization id, the
credential id, the secret's version and the id of the key. A sealed value copied
to another credential, version or organization does not open there; neither does
one opened under another key. The key id (a digest of the key, `key_id`) is stored beside the
sealed value, so a master key can be replaced: new writes use the new key while
the sync workers that read the secrets hold the old key too, until every row
has been sealed again (docs/operations.md, *Credential secrets*).

The gateway only seals: it never opens a secret. `open_secret` is for those
workers, and for the tests that prove the sealing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32
_AAD_PREFIX = b"omnify-gateway/api-credential/v1"


class KeyProblem(ValueError):
    """A master key that is not 32 bytes of base64."""


class SecretDoesNotOpen(Exception):
    """A sealed secret that was altered, moved to another row, or sealed under another key."""


def parse_key(text: str) -> bytes:
    """The master key from its base64 text (standard or URL-safe alphabet, padding optional)."""
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem("is not base64") from None
    if len(key) != KEY_BYTES:
        raise KeyProblem(f"must decode to {KEY_BYTES} bytes (got {len(key)})")
    return key


def new_key_text() -> str:
    """A fresh master key as `OMNIFY_SECRET_KEY` takes it."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def key_id_of(key: bytes) -> str:
    """A short public name of a key: a digest that says which key sealed a row, and nothing of the key."""
    return "k1-" + hashlib.sha256(b"omnify-gateway/key-id\x00" + key).hexdigest()[:16]


def _associated(organization_id: UUID, credential_id: UUID, version: int, key_id: str) -> bytes:
    return b"\x00".join(
        (_AAD_PREFIX, organization_id.bytes, credential_id.bytes, version.to_bytes(4, "big"), key_id.encode())
    )


@dataclass(frozen=True)
class Vault:
    """The master key (never in a repr, a log line or an error) and what it does."""

    key: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        return key_id_of(self.key)

    def seal(self, secret: str, organization_id: UUID, credential_id: UUID, version: int) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated(organization_id, credential_id, version, self.key_id)
        return VERSION + nonce + AESGCM(self.key).encrypt(nonce, secret.encode(), aad)

    def fingerprint(self, secret: str) -> str:
        """A keyed digest of a secret: what an idempotency digest may hold instead of the secret."""
        return hmac.new(self.key, b"omnify-gateway/secret-digest\x00" + secret.encode(), hashlib.sha256).hexdigest()


def open_secret(
    keys: Mapping[str, bytes], key_id: str, sealed: bytes, organization_id: UUID, credential_id: UUID, version: int
) -> str:
    """The secret of a row, with the key its `key_id` names (for the sync workers; the API never opens one)."""
    key = keys.get(key_id)
    if key is None:
        raise SecretDoesNotOpen(f"no key with id {key_id}")
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
        raise SecretDoesNotOpen("not a sealed secret of this format")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        plain = AESGCM(key).decrypt(nonce, body, _associated(organization_id, credential_id, version, key_id))
    except InvalidTag:
        raise SecretDoesNotOpen("the sealed secret does not open for this row under this key") from None
    return plain.decode()


def keyring(*keys: bytes) -> dict[str, bytes]:
    """Keys by their ids, as `open_secret` takes them."""
    return {key_id_of(k): k for k in keys}
