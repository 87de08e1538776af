"""What `serve` checks before it starts: the settings, and that the database logins are bound by
row-level security and the grants."""

from __future__ import annotations

import asyncio
import os
import sys

from gateway.core.config import ConfigError, Settings, load_settings


async def database_login_problems(
    database_url: str, database_system_url: str, timeout_s: float, statement_timeout_s: float
) -> list[str]:
    """Why the gateway must not serve as these logins: what row-level security or the grants would not bind."""
    import asyncpg

    from gateway.stores.fence import REQUEST_LOGIN, SYSTEM_LOGIN, Login, login_problems, session_settings

    problems: list[str] = []
    names: list[str] = []
    checks: list[tuple[str, Login]] = [(database_url, REQUEST_LOGIN), (database_system_url, SYSTEM_LOGIN)]
    for url, login in checks:
        if not url:
            continue  # reported with the rest of the configuration
        try:
            # With the settings the pools pin, which a role's own settings cannot override.
            conn = await asyncpg.connect(
                url,
                timeout=timeout_s,
                server_settings=session_settings(statement_timeout_s, "omnify-gateway-check"),
            )
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Serving starts while PostgreSQL is down; each new pool connection is checked the same way.
            print(f"omnify-gateway serve: PostgreSQL login of {login.setting} not checked yet ({exc})", file=sys.stderr)
            continue
        try:
            problems += await login_problems(conn, login)
            names.append(str(await conn.fetchval("SELECT current_user")))
        finally:
            await conn.close()
    if len(names) == 2 and names[0] == names[1]:
        problems.append(
            f"DATABASE_URL and DATABASE_SYSTEM_URL both log in as {names[0]!r}: the system login must be another "
            "one, so that the request login cannot run the cross-tenant system functions"
        )
    return problems


async def check_database_logins(settings: Settings) -> None:
    """Refuse to serve as logins that row-level security or the grants would not bind."""
    problems = await database_login_problems(
        settings.database_url, settings.database_system_url, settings.store_timeout_s, settings.request_timeout_s
    )
    if problems:
        raise ConfigError(problems)


def serve_settings() -> Settings:
    """The environment `serve` runs with, or one ConfigError naming every problem: the settings' own and
    the database logins' (checked even when other settings are wrong, so one start-up tells all)."""
    try:
        settings, problems = load_settings(), []
    except ConfigError as exc:
        settings, problems = None, list(exc.problems)
    defaults = Settings(mode="production", mongo_url="", database_url="", issuers=())
    timing = settings or defaults
    problems += asyncio.run(
        database_login_problems(
            os.environ.get("DATABASE_URL", "").strip(),
            os.environ.get("DATABASE_SYSTEM_URL", "").strip(),
            timing.store_timeout_s,
            timing.request_timeout_s,
        )
    )
    if problems or settings is None:
        raise ConfigError(list(dict.fromkeys(problems)))
    return settings
