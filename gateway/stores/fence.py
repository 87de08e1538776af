"""The PostgreSQL fence: what keeps a tenant in its rows even when SQL runs as the gateway's own login.

- Tenancy is a signed claim. A request's transaction calls `fence_enter($1)`
  with "1:<organization>:<enterprise id>:<HMAC-SHA256>", keyed by the fence key
  and bound to the connection's backend pid, as a bound parameter (never in
  the statement text, which `pg_stat_activity` shows every session of the same
  login); a read's first statement carries that call itself (`entering`). The
  policies verify it on every statement, so a setting forged or copied from
  another session matches no row.
- Sessions are pinned (`session_settings`) and reset in one round trip when
  handed back (`reset_statement`); a session whose prepared statements were
  tampered with is discarded.
- Each new connection is checked (`login_problems`): a login that could escape
  the fence, or carries role settings, is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

FENCE_VERSION = "1"
ENTERPRISE_ID = re.compile(r"[0-9a-f]{24}")
# SQLSTATE raised by fence_session_clean() for a session that must not be reused.
TAMPERED = "OF001"

BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
BEGIN_WRITE = "BEGIN ISOLATION LEVEL READ COMMITTED"
ENTER = "SELECT public.fence_enter($1)"
ENTER_CHECKED = "SELECT public.fence_enter_checked($1)"
# SQLSTATE raised by fence_enter_checked() for a claim that does not verify.
REFUSED = "OF002"
# A query, which can be read as a subquery (a statement starting any other way enters on its own).
_QUERY = re.compile(r"\s*(SELECT|WITH|VALUES|TABLE)\b", re.IGNORECASE)


class ClaimRefused(Exception):
    """PostgreSQL did not verify the tenancy claim a statement entered with: the key changed or is gone."""


def entering(sql: str, params: int) -> str | None:
    """`sql`, a query with `params` parameters, made to enter the tenancy claimed by one more parameter first.

    One statement, so one round trip does both. The order is the executor's, not the
    planner's choice: the query is a LATERAL subquery that depends on the entry's row (so
    it is the inner side of a nested loop, read only after that row exists), and neither
    side can be flattened into the other (OFFSET 0). The policies' verification of the
    claim in the query's scans (an InitPlan each, evaluated when first used) therefore runs
    after `fence_enter_checked` has set it. fence_enter_checked is parallel-unsafe, so no
    worker starts the query's scans early either. None when `sql` is not a query.
    """
    if _QUERY.match(sql) is None:
        return None
    body = sql.rstrip().rstrip(";")
    return (
        f"SELECT fenced_query.* FROM (SELECT public.fence_enter_checked(${params + 1}) AS entered OFFSET 0) AS fence"
        f" CROSS JOIN LATERAL (SELECT fenced.* FROM (\n{body}\n) AS fenced WHERE fence.entered OFFSET 0) AS fenced_query"
    )


@dataclass(frozen=True)
class FenceKey:
    """The fence key: signs tenancy claims, and keys the event bus (`events_key`)."""

    secret: bytes = field(repr=False)
    events_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A key of its own for the bus, so a notice can never pass for a tenancy claim or back.
        derived = hmac.new(self.secret, b"omnify-gateway events v1", hashlib.sha256).digest()
        object.__setattr__(self, "events_key", derived)

    def claim(self, organization_id: UUID, enterprise_id: str | None, pid: int) -> str:
        """The value `fence_enter` verifies for this organization on the backend `pid`."""
        enterprise = enterprise_id or ""
        if enterprise and not ENTERPRISE_ID.fullmatch(enterprise):
            raise ValueError("enterprise organization ids are 24 hex digits")
        body = f"{FENCE_VERSION}:{UUID(str(organization_id))}:{enterprise}"
        mac = hmac.new(self.secret, f"{body}:{pid}".encode(), hashlib.sha256).hexdigest()
        return f"{body}:{mac}"


@dataclass
class FenceKeys:
    """The fence key as this process knows it: read once (through the system login), again when it stops verifying."""

    load: Callable[[], Awaitable[bytes]]
    _key: FenceKey | None = field(default=None, repr=False)
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def cached(self) -> FenceKey | None:
        return self._key

    async def current(self) -> FenceKey:
        return self._key if self._key is not None else await self.reload(None)

    async def reload(self, stale: FenceKey | None) -> FenceKey:
        """Read the key again, unless another caller already replaced `stale` meanwhile."""
        async with self._loading:
            if self._key is None or self._key is stale:
                self._key = FenceKey(await self.load())
            return self._key


def session_settings(statement_timeout_s: float, application_name: str) -> dict[str, str]:
    """What every connection is opened with (the startup packet), so neither a role's nor a database's
    defaults change what the gateway relies on; `RESET ALL` returns to exactly these.
    """
    statement_ms = max(1000, round(statement_timeout_s * 1000))
    return {
        "application_name": application_name,
        # pg_catalog first so nothing can stand in for a built-in, pg_temp last so no temporary
        # object can stand in for one of ours (the logins may not create either anyway).
        "search_path": "pg_catalog, public, pg_temp",
        "statement_timeout": str(statement_ms),
        "lock_timeout": str(statement_ms),
        # A transaction left idle (a stuck client of ours) holds its snapshot and locks at most this long.
        "idle_in_transaction_session_timeout": str(max(60_000, 2 * statement_ms)),
        "default_transaction_read_only": "off",
        "default_transaction_isolation": "read committed",
        "default_transaction_deferrable": "off",
        # Off would make every fenced query fail instead of filtering it.
        "row_security": "on",
        "standard_conforming_strings": "on",
        "transform_null_equals": "off",
        "bytea_output": "hex",
        # timestamptz travels as text (see gateway/stores/postgres.py): in UTC and ISO form.
        "timezone": "UTC",
        "DateStyle": "ISO, YMD",
        "IntervalStyle": "postgres",
    }


# Undoes what a transaction can leave in its session: the role it switched to (which
# RESET ALL keeps), settings (back to the startup values above), cursors kept open, LISTEN
# registrations, advisory locks, temporary objects and sequence state; then checks the
# prepared statements.
RESET = (
    "RESET SESSION AUTHORIZATION; RESET ALL; CLOSE ALL; UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); "
    "DISCARD TEMP; DISCARD SEQUENCES; "
)


def client_statements(conn: Any) -> int:
    """How many named prepared statements asyncpg holds on this connection's server session, -1 if unknown.

    asyncpg prepares each statement once per connection under a name (`__asyncpg_stmt_N__`) and
    binds it by name from then on; SQL can `DEALLOCATE` one behind its back, and its next use
    would fail in a later borrower's request. Its cache, plus the statements it evicted but has
    not closed yet, is what the server must still hold.
    """
    cache, closing = getattr(conn, "_stmt_cache", None), getattr(conn, "_stmts_to_close", None)
    if cache is None or closing is None:
        return -1
    return len(cache) + len(closing)


def reset_statement(conn: asyncpg.Connection[asyncpg.Record] | Any) -> str:
    """One simple-protocol round trip: end the transaction if one is open, reset the session, check it."""
    end = "ROLLBACK; " if conn.is_in_transaction() else ""
    return f"{end}{RESET}SELECT public.fence_session_clean({client_statements(conn)})"


@dataclass(frozen=True)
class Login:
    """One of the gateway's run-time logins, and what it must not be able to do."""

    setting: str
    purpose: str
    privileges: str
    # Roles whose rights would let this login reach across tenants.
    forbidden: tuple[str, ...]


REQUEST_LOGIN = Login(
    "DATABASE_URL", "serve requests", "omnify_app", ("omnify_app_system", "omnify_system", "omnify_fence")
)
SYSTEM_LOGIN = Login(
    "DATABASE_SYSTEM_URL", "run the system work", "omnify_app_system", ("omnify_app", "omnify_system", "omnify_fence")
)

# What makes a login unfit: anything that escapes row-level security or the grants,
# held directly or through a role it can become, and settings attached to the role.
LOGIN_CHECK = """
SELECT current_user AS login,
       ARRAY(SELECT r.rolname || ' is a superuser' FROM pg_roles r
             WHERE r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER')
             UNION ALL
             SELECT r.rolname || ' has BYPASSRLS' FROM pg_roles r
             WHERE r.rolbypassrls AND pg_has_role(current_user, r.oid, 'MEMBER')
             UNION ALL
             SELECT r.rolname || ' has CREATEROLE' FROM pg_roles r
             WHERE r.rolcreaterole AND pg_has_role(current_user, r.oid, 'MEMBER')
             UNION ALL
             SELECT DISTINCT pg_get_userbyid(c.relowner) || ' owns tables' FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'MEMBER')
               AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
             UNION ALL
             SELECT 'it is a member of ' || r.rolname FROM pg_roles r
             WHERE r.rolname = ANY($1::text[]) AND pg_has_role(current_user, r.oid, 'MEMBER')
             UNION ALL
             SELECT 'it may create temporary tables (REVOKE TEMPORARY ON DATABASE '
                    || quote_ident(current_database()) || ' FROM PUBLIC, as the database owner)'
             WHERE has_database_privilege(current_database(), 'TEMPORARY')) AS problems,
       ARRAY(SELECT unnest(s.setconfig) FROM pg_db_role_setting s
             WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
               AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())))
           AS settings
"""


async def login_problems(conn: Any, login: Login = REQUEST_LOGIN) -> list[str]:
    """Why the connected login must not be used as `login`; empty when it is fit."""
    row = await conn.fetchrow(LOGIN_CHECK, list(login.forbidden))
    assert row is not None
    problems = []
    if row["problems"]:
        problems.append(
            f"PostgreSQL login {row['login']!r} is too strong to {login.purpose} ({'; '.join(row['problems'])}): "
            f"{login.setting} must be the gateway's restricted login holding only {login.privileges} (created by "
            "`omnify-gateway migrate` when DATABASE_MIGRATE_URL names the owner), not the owner or a superuser"
        )
    if row["settings"]:
        problems.append(
            f"PostgreSQL login {row['login']!r} ({login.setting}) carries role settings "
            f"({', '.join(row['settings'])}), which would apply to every connection the gateway opens: remove them "
            f'with `ALTER ROLE "{row["login"]}" RESET ALL` (`omnify-gateway migrate` does)'
        )
    return problems
