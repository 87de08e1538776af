"""`omnify-gateway`: dev, serve, migrate, seed, token, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse

from gateway.core.config import ConfigError, IssuerConfig, Settings
from gateway.ops.dev_record import forget_running_dev, record_running_dev, running_dev_data_dir
from gateway.ops.logins import serve_settings

DEFAULT_DATA_DIR = ".omnify"
ROLES = ("owner", "admin", "marketer", "analyst", "viewer")


def _dev_issuer_dir(given: str | None) -> tuple[Path | None, list[Path]]:
    """The data dir holding the dev issuer's key: the one given, else ./.omnify, else the running dev's."""
    candidates = (
        [Path(given)]
        if given
        else [Path(os.environ.get("OMNIFY_DATA_DIR") or DEFAULT_DATA_DIR), *filter(None, [running_dev_data_dir()])]
    )
    tried = [c.resolve() for c in candidates]
    found = next((c for c in tried if (c / "dev-issuer" / "signing-key.json").exists()), None)
    return found, tried


def _store_urls_from_env() -> tuple[str, str, str, str]:
    """(owner URL, run-time login URL, MongoDB URL, MongoDB database) for migrate and seed."""
    missing = [name for name in ("DATABASE_URL", "MONGO_URL") if not os.environ.get(name)]
    if missing:
        raise ConfigError([f"{name} is not set" for name in missing])
    login_url = os.environ["DATABASE_URL"]
    owner_url = os.environ.get("DATABASE_MIGRATE_URL") or login_url
    return owner_url, login_url, os.environ["MONGO_URL"], os.environ.get("MONGO_DB", "omnify_cloud")


async def run_migrations(
    database_url: str, mongo_url: str, mongo_db: str, login_url: str | None = None, system_url: str | None = None
) -> tuple[list[str], list[str]]:
    """Migrate both stores as the owner (`database_url`), then provision the run-time logins of `login_url`
    (requests) and `system_url` (cross-tenant system work)."""
    import asyncpg
    from pymongo import AsyncMongoClient

    from gateway.ops.migrations import migrate_mongo, migrate_postgres, provision_logins

    conn = await asyncpg.connect(database_url)
    try:
        pg_applied = await migrate_postgres(conn)
        if login_url is not None and login_url != database_url:
            logins = await provision_logins(conn, login_url, system_url)
            pg_applied += [f"login {login}" for login in logins]
    finally:
        await conn.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url, serverSelectionTimeoutMS=10_000)
    try:
        mongo_created = await migrate_mongo(client[mongo_db])
    finally:
        await client.close()
    return pg_applied, mongo_created


async def run_seed(database_url: str, mongo_url: str, mongo_db: str, size: str, orgs: int | None) -> str:
    import asyncpg
    from pymongo import AsyncMongoClient

    from gateway.ops.seed import seed

    conn = await asyncpg.connect(database_url)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True
    )
    try:
        report = await seed(conn, client[mongo_db], size=size, orgs=orgs)
    finally:
        await conn.close()
        await client.close()
    return (
        f"seeded {report.organizations_created} organization(s), {report.organizations_skipped} already present; "
        f"{report.mongo_documents_inserted} MongoDB document(s) inserted"
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    owner_url, login_url, mongo_url, mongo_db = _store_urls_from_env()
    system_url = os.environ.get("DATABASE_SYSTEM_URL") or None
    pg_applied, mongo_created = asyncio.run(run_migrations(owner_url, mongo_url, mongo_db, login_url, system_url))
    print(f"postgres: {', '.join(pg_applied) if pg_applied else 'up to date'}")
    if system_url is None:
        print("postgres: DATABASE_SYSTEM_URL is not set, so no system login was provisioned (`serve` needs one)")
    print(f"mongo: {len(mongo_created)} collection(s)/index(es) created" if mongo_created else "mongo: up to date")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    owner_url, _, mongo_url, mongo_db = _store_urls_from_env()
    print(asyncio.run(run_seed(owner_url, mongo_url, mongo_db, args.size, args.orgs)))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from gateway.ops.dev_issuer import DevIssuer

    data_dir, tried = _dev_issuer_dir(args.data_dir)
    if data_dir is None:
        print(
            f"no dev issuer in {', '.join(map(str, tried))}: start `omnify-gateway dev` first, or pass "
            "--data-dir DIR naming the directory `omnify-gateway dev --data-dir DIR` uses",
            file=sys.stderr,
        )
        return 2
    if (args.org is None) == (args.invitee is None):
        print("give exactly one of --org and --invitee", file=sys.stderr)
        return 2
    issuer = DevIssuer.load(data_dir)
    extra: dict[str, object] = {}
    if args.invitee:
        # A person who belongs to no organization yet: a fresh subject, no organization or role claim.
        extra = {"sub": args.sub or str(uuid.uuid4()), "email": args.invitee, "org": None, "roles": None}
    elif args.client:
        # A client-credentials token: the subject is the client, it acts by scope.
        extra = {"sub": args.client, "azp": args.client, "email": None, "roles": [], "scope": " ".join(args.scope)}
    elif args.scope:
        extra = {"scope": " ".join(args.scope)}
    print(issuer.mint(org=args.org or "", role=args.role, sub=args.sub, ttl=args.ttl, extra=extra))
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from resolvers.schema import schema

    sdl = schema.as_str().rstrip() + "\n"
    path = Path(args.path)
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != sdl:
            print(f"{path} is stale; run `omnify-gateway export-schema` and commit it", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(sdl)
    print(f"wrote {path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.ops.serve import serve

    return serve(serve_settings(), args.workers)  # a bad environment is refused here, before any worker starts


def cmd_manifest(args: argparse.Namespace) -> int:
    """`manifest build`: the trusted-documents manifest of a client's .graphql files."""
    from gateway.core.manifest import ManifestProblem, build_operations, graphql_files, render_manifest

    try:
        operations = build_operations(graphql_files(args.sources))
    except ManifestProblem as exc:
        print(f"omnify-gateway manifest build: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(render_manifest(operations, args.format), indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}: {len(operations)} operations", file=sys.stderr)
    return 0


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
    from gateway.http.login import dev_session_secret
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
            session_secret=dev_session_secret(data_dir),
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


def cmd_demo_issuer(args: argparse.Namespace) -> int:
    """The dev issuer on its own, for a stack without an identity provider (compose's demo profile)."""
    import uvicorn
    from starlette.applications import Starlette

    from gateway.ops.dev_issuer import PATH, DevIssuer

    url = args.url.rstrip("/")
    if not url.endswith(PATH) or urlparse(url).scheme not in ("http", "https"):
        raise ConfigError(
            [f"--url {args.url!r} must be an http(s) URL ending in {PATH}, e.g. http://issuer:9000{PATH}"]
        )
    issuer = DevIssuer.load(Path(args.data_dir), url)
    print(f"demo issuer {issuer.issuer}; mint tokens with `omnify-gateway token --data-dir {args.data_dir} ...`")
    uvicorn.run(Starlette(routes=issuer.routes()), host=args.host, port=args.port, log_config=None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnify-gateway", description="One GraphQL API over Omnify's MongoDB and PostgreSQL stores."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run on embedded stores with demo data and a dev token issuer")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--data-dir", default=None, help=f"default: OMNIFY_DATA_DIR, else {DEFAULT_DATA_DIR}")
    dev.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    dev.set_defaults(func=cmd_dev)

    serve = sub.add_parser("serve", help="production: configuration from the environment")
    serve.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: OMNIFY_WORKERS, else one per core)"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser(
        "migrate",
        help="apply PostgreSQL migrations and MongoDB indexes, create the gateway's logins and fence key "
        "(DATABASE_MIGRATE_URL, DATABASE_URL, DATABASE_SYSTEM_URL, MONGO_URL)",
    )
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="deterministic demo data in both stores (DATABASE_MIGRATE_URL, MONGO_URL)")
    seed.add_argument(
        "--size",
        choices=["demo", "large"],
        default="demo",
        help="demo: acme, globex, initech; large: also organizations of varied sizes, the fourth five times the demo's",
    )
    seed.add_argument("--orgs", type=int, default=None, help="how many organizations (default 3 demo, 10 large)")
    seed.set_defaults(func=cmd_seed)

    token = sub.add_parser("token", help="dev only: print a JWT signed by the dev issuer")
    token.add_argument("--org", default=None, help="organization slug, e.g. acme")
    token.add_argument(
        "--invitee",
        default=None,
        metavar="EMAIL",
        help="mint the token of a person invited at EMAIL, in no organization",
    )
    token.add_argument("--role", default="viewer", choices=ROLES, help="ignored for --client tokens")
    token.add_argument("--sub", default=None, help="subject; defaults to the seeded user with that role")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.add_argument(
        "--data-dir",
        default=None,
        help=f"the dev issuer's data dir (default: OMNIFY_DATA_DIR, else {DEFAULT_DATA_DIR}, else the running dev's)",
    )
    token.add_argument("--client", default=None, help="mint a partner (client-credentials) token for this client id")
    token.add_argument("--scope", action="append", default=[], help="a scope, e.g. metrics:write (repeatable)")
    token.set_defaults(func=cmd_token)

    demo = sub.add_parser(
        "demo-issuer", help="demo only: serve the dev token issuer alone (its key is kept in --data-dir)"
    )
    demo.add_argument("--data-dir", required=True)
    demo.add_argument("--url", required=True, help="the issuer URL tokens carry, ending in /dev-issuer")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=9000)
    demo.set_defaults(func=cmd_demo_issuer)
    manifest = sub.add_parser("manifest", help="trusted documents: build a manifest from .graphql files")
    build = manifest.add_subparsers(dest="action", required=True).add_parser(
        "build", help="one entry per operation, with the fragments it uses (set OMNIFY_TRUSTED_DOCUMENTS to the file)"
    )
    build.add_argument("sources", nargs="+", metavar="FILES_OR_DIRS", help=".graphql/.gql files, or folders of them")
    build.add_argument("-o", "--output", default="-", help="the manifest file (default: standard output)")
    build.add_argument("--format", choices=["codegen", "apollo"], default="codegen", help="default: codegen")
    build.set_defaults(func=cmd_manifest)

    export = sub.add_parser("export-schema", help="write schema.graphql; --check fails when it is stale")
    export.add_argument("--check", action="store_true")
    export.add_argument("--path", default="schema.graphql")
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"omnify-gateway {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
