"""What travels on the event bus (PostgreSQL `NOTIFY` on one channel), sealed.

Any session of the database may `NOTIFY` on any channel and `LISTEN` to any
channel; PostgreSQL has no privilege for either. So a notice is sealed with
AES-256-GCM under a key derived from the fence key, which only the gateway's
system login can read: a session of the request login (SQL injected into a
request) can neither read what gateways announce nor forge an announcement.
The sealed part carries the time it was sealed; receivers drop notices that
do not open, that are older than `MAX_AGE_S` (or as far in the future), and
any they have already seen (each notice has a random nonce).

The channel itself is named by the same key (`channel`): a session that cannot read
the key cannot address the gateways' listeners at all, so a flood of forged notices
costs them nothing (each one that arrived would cost an attempt to open it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.stores.fence import FenceKey

CHANNEL = "omnify_events"  # the prefix of the channel's name; the rest comes from the key


def channel(key: FenceKey) -> str:
    """The bus's channel under this key (an identifier PostgreSQL keeps whole: under 64 bytes)."""
    return f"{CHANNEL}_{hmac.new(key.events_key, b'channel', hashlib.sha256).hexdigest()[:24]}"


MAX_NOTICE_BYTES = 4000  # before sealing: base64 of it and the nonce and tag stays under NOTIFY's 8000 bytes
MAX_AGE_S = 60.0
NONCE_BYTES = 12
MAX_REMEMBERED = 100_000  # nonces of the last 2 * MAX_AGE_S; beyond, the oldest are forgotten first


@dataclass(frozen=True)
class Notice:
    """An event's kind, its organization (enterprise id) and ids: never the record itself."""

    kind: str  # "action" (an action log committed) or "audit" (an audit event stored)
    organization: str
    id: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"k": self.kind, "o": self.organization, "id": self.id, **self.extra}

    @classmethod
    def from_dict(cls, data: Any) -> Notice | None:
        try:
            data = dict(data)
            return cls(str(data.pop("k")), str(data.pop("o")), str(data.pop("id")), data)
        except (KeyError, TypeError, ValueError):
            return None


def seal(key: FenceKey, notice: Notice, now: float | None = None) -> str:
    """The NOTIFY payload of `notice`: base64(nonce || AES-GCM ciphertext and tag)."""
    plain = orjson.dumps({"at": time.time() if now is None else now, "n": notice.as_dict()})
    if len(plain) > MAX_NOTICE_BYTES:
        # Only ids travel, so this is a programming error, not a user's doing.
        raise ValueError(f"a {notice.kind} notice of {len(plain)} bytes is too large for NOTIFY")
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key.events_key).encrypt(nonce, plain, CHANNEL.encode())).decode()


@dataclass(frozen=True)
class Opened:
    notice: Notice
    nonce: bytes
    at: float


def unseal(key: FenceKey, payload: str) -> Opened | None:
    """The notice sealed in `payload` under `key`, or None when it was not (forged, garbled, another key)."""
    try:
        raw = base64.b64decode(payload, validate=True)
        nonce = raw[:NONCE_BYTES]
        plain = AESGCM(key.events_key).decrypt(nonce, raw[NONCE_BYTES:], CHANNEL.encode())
        data = orjson.loads(plain)
        notice = Notice.from_dict(data["n"])
        at = float(data["at"])
    except (binascii.Error, ValueError, InvalidTag, orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if notice is None or len(nonce) != NONCE_BYTES:
        return None
    return Opened(notice, nonce, at)


@dataclass
class Replays:
    """The nonces seen lately, to refuse a notice sent twice (a replay of a genuine one)."""

    capacity: int = MAX_REMEMBERED
    _seen: OrderedDict[bytes, float] = field(default_factory=OrderedDict)

    def first_time(self, nonce: bytes, now: float) -> bool:
        # Remembered by arrival for twice the accepted age, so clocks apart by up to MAX_AGE_S
        # cannot get a notice past both the age check and this one.
        while self._seen and next(iter(self._seen.values())) < now - 2 * MAX_AGE_S:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True


class Executes(Protocol):
    async def execute(self, sql: str, *args: Any) -> str: ...


async def notify(conn: Executes, notice: Notice, key: FenceKey | None) -> None:
    """Announce inside the caller's transaction: delivered on commit, never on rollback.

    `key` is the fence key (a tenant transaction's `key`, or the store's for system work).
    """
    if key is None:
        raise RuntimeError("a notice is sealed with the fence key of an entered transaction")
    await conn.execute("SELECT pg_catalog.pg_notify($1, $2)", channel(key), seal(key, notice))


async def notify_all(conn: Executes, notices: Sequence[Notice], key: FenceKey | None) -> None:
    """`notify` for several notices in one round trip (a delivered batch of audit events)."""
    if key is None:
        raise RuntimeError("a notice is sealed with the fence key of an entered transaction")
    if notices:
        sealed = [seal(key, notice) for notice in notices]
        await conn.execute("SELECT pg_catalog.pg_notify($1, n) FROM unnest($2::text[]) AS n", channel(key), sealed)


def action_notice(organization: str, action_log: Mapping[str, Any], sync_job: Mapping[str, Any] | None) -> Notice:
    extra: dict[str, Any] = {"t": action_log["target_type"], "ti": action_log["target_id"]}
    if sync_job is not None:
        # The job as this transaction left it: a later batch may have moved it on by the
        # time the notice is read, and each event must show its own batch.
        extra["job"] = {"status": sync_job["status"], "records": sync_job["records_synced"]}
    return Notice("action", organization, str(action_log["id"]), extra)


def audit_notice(organization: str, event_id: str) -> Notice:
    return Notice("audit", organization, event_id)
