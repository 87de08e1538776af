"""graphql-http's server audit (the reference suite of the GraphQL-over-HTTP specification)
run by Node against the real gateway on a socket, with a valid bearer token."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread

AUDIT_DIR = Path(__file__).parent / "http-audit"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are needed to run graphql-http's audit (scripts/setup installs it when they are present)",
)


async def run(*command: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=AUDIT_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def audit(gateway: ServerThread, token: str) -> dict[str, Any]:
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        # The pinned versions of package-lock.json, from the npm registry.
        code, out, err = await run("npm", "ci", "--no-audit", "--no-fund")
        assert code == 0, f"npm ci failed: {out}{err}"
    env = {**os.environ, "OMNIFY_AUDIT_URL": f"{gateway.url}/graphql", "OMNIFY_AUDIT_TOKEN": token}
    code, out, err = await run("node", "audit.mjs", env=env)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def test_every_must_and_should_of_graphql_over_http_passes(gateway: ServerThread, issuer: TestIssuer) -> None:
    result = await audit(gateway, issuer.token("acme", "analyst"))
    summary = result["summary"]
    failed = [f for f in result["failures"] if f["name"].split()[0] in ("MUST", "SHOULD")]
    assert not failed, json.dumps(failed, indent=2)
    assert summary["MUST"]["ok"] == summary["MUST"]["total"] > 0
    assert summary["SHOULD"]["ok"] == summary["SHOULD"]["total"] > 0
    print(f"graphql-http audit: {json.dumps(summary)}")  # the figures quoted in docs/operations.md
