"""`omnify-gateway`: dev, serve, migrate, seed, token, export-schema."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gateway.core.config import ConfigError
from gateway.ops.cli_dev import cmd_dev
from gateway.ops.cli_schema import cmd_export_schema, cmd_manifest
from gateway.ops.cli_stores import cmd_migrate, cmd_seed
from gateway.ops.cli_tokens import ROLES, cmd_demo_issuer, cmd_token
from gateway.ops.dev_record import DEFAULT_DATA_DIR
from gateway.ops.logins import serve_settings


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.ops.serve import serve

    return serve(serve_settings(), args.workers)  # a bad environment is refused here, before any worker starts


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
