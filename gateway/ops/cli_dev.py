"""`omnify-gateway dev`: the gateway on embedded stores with demo data and the dev token issuer."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from gateway.core.config import IssuerConfig, Settings
from gateway.ops.cli_stores import run_migrations, run_seed
from gateway.ops.dev_record import DEFAULT_DATA_DIR, forget_running_dev, record_running_dev


def dev_secrets(data_dir: Path) -> dict[str, Any]:
    """The dev session secret and credential master key, each made once and kept in the data dir."""
    from gateway.http.login import dev_session_secret

    return {"session_secret": dev_session_secret(data_dir), "secret_key": dev_secret_key(data_dir)}


def dev_secret_key(data_dir: Path) -> bytes:
    """The dev master key of credential secrets, made once and kept (0600) so sealed rows stay readable."""
    from gateway.core.vault import new_key_text, parse_key

    path = data_dir / "secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(new_key_text())
    return parse_key(path.read_text())


def _dev_stores_text(postgres: Any, mongo_url: str, issuer: str, audience: str) -> str:
    """Where dev's stores listen, and the environment `serve` needs to run on them beside dev."""
    env = {
        "DATABASE_URL": postgres.app_url,
        "DATABASE_SYSTEM_URL": postgres.system_url,
        "DATABASE_MIGRATE_URL": postgres.url,
        "MONGO_URL": mongo_url,
        "MONGO_DB": "omnify_cloud",
        "OIDC_ISSUER": issuer,
        "OIDC_AUDIENCE": audience,
        "OMNIFY_PORT": "8001",
    }
    exports = " \\\n    ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    return (
        f"  Stores (embedded, kept in the data dir):\n"
        f"    PostgreSQL  {postgres.url}  (owner: migrate, seed)\n"
        f"    MongoDB     {mongo_url}\n"
        f"  `omnify-gateway serve` on the same stores and issuer, while dev runs:\n\n"
        f"  export {exports}\n  omnify-gateway serve\n"
    )


class _Stop(Exception):
    pass


def _uvicorn_server(app: Any, host: str, port: int, grace_s: int) -> Any:
    import uvicorn

    from gateway.ops.serve import GracefulServer

    class Server(GracefulServer):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises the signal after shutdown, which would interrupt
            # our own cleanup of the embedded servers; stop gracefully instead.
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server(uvicorn.Config(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=grace_s))


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def cmd_dev(args: argparse.Namespace) -> int:
    from gateway.core.logs import configure_logging
    from gateway.core.runtime import tune_gc
    from gateway.http.app import create_app
    from gateway.ops.dev_issuer import AUDIENCE, DEV_CLIENT_ID, DevIssuer
    from gateway.ops.embedded import DataDirLock, EmbeddedError, EmbeddedMongo, EmbeddedPostgres

    data_dir = Path(args.data_dir or os.environ.get("OMNIFY_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    lock = DataDirLock(data_dir / "dev.lock")
    try:
        lock.acquire()
    except EmbeddedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    configure_logging(args.log_level)
    postgres = EmbeddedPostgres(data_dir)
    mongo = EmbeddedMongo(data_dir)
    # Until uvicorn installs its own handlers, SIGTERM must still run the cleanup below.
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        print(f"starting embedded PostgreSQL and MongoDB-wire servers in {data_dir} ...", flush=True)
        postgres.start()
        mongo.start()
        # Embedded PostgreSQL's `postgres` superuser owns the schema; the gateway serves as two restricted
        # logins, one for requests and one for its cross-tenant system work.
        asyncio.run(run_migrations(postgres.url, mongo.url, "omnify_cloud", postgres.app_url, postgres.system_url))
        marker = data_dir / "seeded"
        if not marker.exists():
            print("seeding demo data (first run only) ...", flush=True)
            print(asyncio.run(run_seed(postgres.url, mongo.url, "omnify_cloud", "demo", None)), flush=True)
            marker.write_text("demo\n")
        public_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        base = f"http://{public_host}:{args.port}"
        issuer = DevIssuer.load(data_dir, f"{base}/dev-issuer")
        settings = Settings(
            mode="dev",
            mongo_url=mongo.url,
            database_url=postgres.app_url,
            database_system_url=postgres.system_url,
            # GraphiQL login through the dev issuer's form, as the public client it knows.
            issuers=(IssuerConfig(issuer=issuer.issuer, audience=AUDIENCE, client_id=DEV_CLIENT_ID),),
            host=args.host,
            port=args.port,
            public_url=base,
            data_dir=data_dir,
            jwks_min_refresh_interval_s=5.0,
            **dev_secrets(data_dir),
        )
        token = issuer.mint(org="acme", role="owner", ttl=12 * 3600)
        print(
            f"\nOmnify Gateway (dev) on {base}\n"
            f"  GraphiQL:  {base}/graphql  (log in at the dev issuer's form: pick an organization and a role)\n"
            f"  Dev token (acme, owner, 12h; more with `omnify-gateway token --org SLUG --role ROLE`):\n\n"
            f"{token}\n\n"
            f"  curl -s {base}/graphql -H 'Authorization: Bearer <token>' -H 'Content-Type: application/json' "
            f'-d \'{{"query":"{{ organization {{ name plan }} }}"}}\'\n\n'
            f"{_dev_stores_text(postgres, mongo.url, issuer.issuer, AUDIENCE)}",
            flush=True,
        )
        signal.signal(signal.SIGTERM, previous)
        record_running_dev(data_dir, base)
        app = create_app(settings, extra_routes=issuer.routes())
        tune_gc()
        server = _uvicorn_server(app, args.host, args.port, settings.shutdown_grace_s)
        server.run()
        return 0 if server.started else 1
    except (_Stop, KeyboardInterrupt):
        return 0
    except EmbeddedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping embedded servers ...", file=sys.stderr, flush=True)
        forget_running_dev()
        mongo.stop()
        postgres.stop()
        lock.release()
        signal.signal(signal.SIGTERM, previous)
