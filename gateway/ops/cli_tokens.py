"""`omnify-gateway token` and `demo-issuer`: the dev token issuer, from the command line and on its own."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

from gateway.core.config import ConfigError
from gateway.ops.dev_record import DEFAULT_DATA_DIR, running_dev_data_dir

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
