"""The gateway's run-time logins, created and corrected by `omnify-gateway migrate`.

Two logins, each holding one NOLOGIN privilege role and nothing else: the
request login (DATABASE_URL, omnify_app) that every GraphQL request's
transaction runs as, fenced by row-level security; and the system login
(DATABASE_SYSTEM_URL, omnify_app_system) for the few cross-tenant jobs (the
organization directory, the audit outbox, reading the fence key). Keeping
them apart means SQL run as the request login cannot reach across tenants.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

import asyncpg

from gateway.ops.migrations.errors import MigrationError

APP_PRIVILEGE_ROLE = "omnify_app"  # NOLOGIN; every right a request's transaction has
SYSTEM_PRIVILEGE_ROLE = "omnify_app_system"  # NOLOGIN; every right of the cross-tenant system work
# Roles no run-time login may hold besides its own: the other login's, and the owners of the
# system functions and of the fence key.
FENCE_ROLES = (APP_PRIVILEGE_ROLE, SYSTEM_PRIVILEGE_ROLE, "omnify_system", "omnify_fence")


def url_user(url: str) -> tuple[str | None, str | None]:
    """(user, password) named by a PostgreSQL URL, in its authority or its query string."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    user = unquote(parts.username) if parts.username else next(iter(query.get("user", [])), None)
    password = unquote(parts.password) if parts.password else next(iter(query.get("password", [])), None)
    return user, password


def with_login(url: str, user: str, password: str | None) -> str:
    """`url` with its user (and password) replaced, e.g. the app login next to an owner URL."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit((parts.scheme, f"{credentials}@{host}", parts.path, parts.query, parts.fragment))


async def _run(conn: asyncpg.Connection[asyncpg.Record], template: str, *names: str) -> None:
    """Run a statement naming roles or databases, quoted by format() on the server."""
    args = ", ".join(f"${i}::text" for i in range(1, len(names) + 1))
    await conn.execute(await conn.fetchval(f"SELECT format('{template}', {args})", *names))


async def provision_login(
    conn: asyncpg.Connection[asyncpg.Record],
    login_url: str,
    privileges: str = APP_PRIVILEGE_ROLE,
    setting: str = "DATABASE_URL",
) -> str | None:
    """Create or correct the run-time login named by `login_url`; returns its name.

    Runs as the migrating role. The login may log in and inherits `privileges`'
    rights, and nothing more: no superuser, no BYPASSRLS, no role or database
    creation, no replication, no other fence role, no temporary objects, no
    role-level settings (those would apply to every connection the gateway
    opens). Its password follows the URL when the URL has one (otherwise
    authentication is left to the server: trust, peer, certificates).
    Returns None when the URL names the migrating role itself: then there is no
    separate login to manage, and `serve` will refuse that role if it is privileged.
    """
    user, password = url_user(login_url)
    if not user:
        raise MigrationError(f"{setting} must name its user when DATABASE_MIGRATE_URL is a different role")
    if user == await conn.fetchval("SELECT current_user"):
        return None
    role = await conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication, rolcanlogin, rolinherit "
        "FROM pg_roles WHERE rolname = $1",
        user,
    )
    if role is None:
        await _run(
            conn, "CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOREPLICATION", user
        )
    else:
        # Name only what must change: a non-superuser may not even mention SUPERUSER.
        wanted = {
            "rolsuper": "NOSUPERUSER",
            "rolbypassrls": "NOBYPASSRLS",
            "rolcreaterole": "NOCREATEROLE",
            "rolcreatedb": "NOCREATEDB",
            "rolreplication": "NOREPLICATION",
        }
        changes = [option for column, option in wanted.items() if role[column]]
        changes += [
            option for column, option in (("rolcanlogin", "LOGIN"), ("rolinherit", "INHERIT")) if not role[column]
        ]
        if changes:
            await _run(conn, f"ALTER ROLE %I {' '.join(changes)}", user)
    if password:
        await conn.execute(
            await conn.fetchval("SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", user, password)
        )
    database = str(await conn.fetchval("SELECT current_database()"))
    await _run(conn, "ALTER ROLE %I RESET ALL", user)
    await _run(conn, "ALTER ROLE %I IN DATABASE %I RESET ALL", user, database)
    await _run(conn, "REVOKE TEMPORARY ON DATABASE %I FROM %I", database, user)
    held = await conn.fetch(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1) AND r.rolname = ANY($2::text[])",
        user,
        [name for name in FENCE_ROLES if name != privileges],
    )
    for row in held:
        await _run(conn, "REVOKE %I FROM %I", row["rolname"], user)
    await _run(conn, "GRANT %I TO %I", privileges, user)
    return user


async def provision_logins(
    conn: asyncpg.Connection[asyncpg.Record], request_url: str, system_url: str | None
) -> list[str]:
    """The request login (DATABASE_URL) and, when given, the system login (DATABASE_SYSTEM_URL); their names."""
    if system_url is not None and url_user(system_url)[0] == url_user(request_url)[0]:
        raise MigrationError(
            "DATABASE_SYSTEM_URL must name another login than DATABASE_URL: the request login must not be able "
            "to run the cross-tenant system functions"
        )
    names = []
    request = await provision_login(conn, request_url)
    if request is not None:
        names.append(request)
    if system_url is not None:
        system = await provision_login(conn, system_url, SYSTEM_PRIVILEGE_ROLE, "DATABASE_SYSTEM_URL")
        if system is not None:
            names.append(system)
    return names
