"""The frontend clients docs/frontend.md configures, run by Node against the live gateway: GraphQL
Code Generator (client preset, persisted documents) and `tsc --strict` on its output, the Relay
compiler, Apollo Client and urql's graphcache. Any warning a client prints fails the test.

tests/frontend is an npm package pinned by its package-lock.json (scripts/setup installs it).
The schema the clients build from is introspected from the gateway; the manifest codegen writes
is the one a second gateway trusts, so the clients' `documentId` requests run against it."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.manifest import parse_manifest
from tests.conftest import Stores
from tests.support.docs import ROOT
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_fair_share import serving

FRONTEND = Path(__file__).parent / "frontend"
GENERATED = FRONTEND / "src" / "gql"
RELAY_OUT = FRONTEND / "relay" / "__generated__"
RELAY_PERSISTED = FRONTEND / "build" / "relay-persisted.json"
CUSTOM_SCALARS = {"Currency", "Date", "DateTime", "Decimal", "JSON"}

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (FRONTEND / "node_modules" / "@apollo" / "client").is_dir(),
    reason="needs node and `npm ci` in tests/frontend (scripts/setup runs it)",
)


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def result(self) -> dict[str, Any]:
        assert self.code == 0, f"exit {self.code}\n{self.out[-4000:]}\n{self.err[-4000:]}"
        result: dict[str, Any] = json.loads(self.out.strip().splitlines()[-1])
        return result


def node(*command: str, env: dict[str, str] | None = None) -> Ran:
    """A Node tool or script in tests/frontend, offline: everything it needs is installed there."""
    binary = FRONTEND / "node_modules" / ".bin" / command[0]
    argv = [str(binary), *command[1:]] if binary.exists() else ["node", *command]
    environment = {**os.environ, "NODE_ENV": "development", "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(argv, cwd=FRONTEND, env=environment, capture_output=True, text=True, timeout=180)
    return Ran(done.returncode, done.stdout, done.stderr)


def client_env(server: ServerThread, token: str) -> dict[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    return {
        "OMNIFY_GRAPHQL_URL": f"{server.url}/graphql",
        "OMNIFY_TOKEN": token,
        "OMNIFY_FROM": (today - dt.timedelta(days=27)).isoformat(),
        "OMNIFY_TO": today.isoformat(),
    }


@dataclass(frozen=True)
class Built:
    specified_by: dict[str, str | None]
    codegen: Ran
    tsc: Ran
    relay: Ran
    manifest: dict[str, str]


@pytest.fixture(scope="module")
def built(gateway: ServerThread, issuer: TestIssuer) -> Built:
    """The schema introspected from the gateway, then what each build tool makes of it."""
    shutil.rmtree(GENERATED, ignore_errors=True)
    shutil.rmtree(RELAY_OUT, ignore_errors=True)
    introspected = node("introspect.mjs", env=client_env(gateway, issuer.token("acme", "viewer"))).result()
    codegen = node("graphql-codegen", "--config", "codegen.ts")
    tsc = node("tsc", "-p", "tsconfig.json")
    RELAY_PERSISTED.write_text("{}")  # the compiler adds to the file, which must exist
    relay = node("relay-compiler")
    manifest, problems = parse_manifest((GENERATED / "persisted-documents.json").read_bytes(), "codegen's manifest")
    relays, relay_problems = parse_manifest(RELAY_PERSISTED.read_bytes(), "the Relay compiler's manifest")
    assert problems == relay_problems == []
    return Built(introspected, codegen, tsc, relay, {**manifest, **relays})


@pytest.fixture(scope="module")
def trusting(seeded: Stores, issuer: TestIssuer, built: Built) -> Iterator[ServerThread]:
    """A gateway that loaded the manifests codegen and Relay wrote, as one deployed with those clients would."""
    with serving(seeded, issuer, trusted_documents=built.manifest) as (server, _):
        yield server


def warnings_in(ran: Ran) -> list[str]:
    lines = (ran.out + ran.err).splitlines()
    return [line for line in lines if re.search(r"warn|deprecat|error", line, re.I)]


@needs_node
def test_every_custom_scalar_names_its_specification(built: Built) -> None:
    assert set(built.specified_by) == CUSTOM_SCALARS, built.specified_by
    for name, url in built.specified_by.items():
        assert url is not None and url.startswith("https://"), (name, url)


@needs_node
def test_codegen_types_the_scalars_and_tsc_strict_accepts_its_output(built: Built) -> None:
    assert built.codegen.code == 0, built.codegen.out + built.codegen.err
    assert warnings_in(built.codegen) == []
    assert built.tsc.code == 0 and built.tsc.out + built.tsc.err == "", built.tsc.out + built.tsc.err
    types = (GENERATED / "graphql.ts").read_text()
    for name in CUSTOM_SCALARS - {"JSON"}:  # JSON is `unknown` on purpose: a client must look before it uses
        assert re.search(rf"\b{name}: {{ input: string[^;]*; output: string; }}", types), name
    # One entry per document, each the SHA-256 of its text (parse_manifest checked them).
    operations = {re.search(r"(?:query|mutation|subscription) (\w+)", body) for body in built.manifest.values()}
    names = {match.group(1) for match in operations if match}
    assert {"Dashboard", "CampaignDaily", "UpdateBudget", "ActionLogged"} <= names


@needs_node
def test_relay_compiles_a_connection_and_a_refetchable_fragment_with_typed_scalars(built: Built) -> None:
    assert built.relay.code == 0, built.relay.out + built.relay.err
    assert warnings_in(built.relay) == []
    pagination = (RELAY_OUT / "CampaignListPaginationQuery.graphql.ts").read_text()
    refetch = (RELAY_OUT / "CampaignListRowRefetchQuery.graphql.ts").read_text()
    for artifact in (pagination, refetch):
        # Persisted: the artifact carries the id, the manifest (loaded by the gateway) the text.
        persisted_id = re.search(r'"id": "([0-9a-f]{64})"', artifact)
        assert persisted_id and "node(id: $id)" in built.manifest[persisted_id.group(1)]
    row = (RELAY_OUT / "CampaignList_campaign.graphql.ts").read_text()
    assert "readonly updatedAt: string;" in row and "readonly amount: string;" in row
    assert not re.search(r"readonly \w+\??: any\b", row + pagination + refetch)


@needs_node
def test_apollo_client_runs_the_dashboard_with_no_cache_warning(trusting: ServerThread, issuer: TestIssuer) -> None:
    ran = node("apollo.mjs", env=client_env(trusting, issuer.token("acme", "marketer")))
    result = ran.result()
    assert result["printed"] == [] and ran.err == "", result["printed"] or ran.err
    assert len(result["page1"]) == 2 and result["afterFetchMore"][:2] == result["page1"]
    assert len(set(result["afterFetchMore"])) == 4  # fetchMore appended the next page
    assert result["eventId"] is not None and result["cachedLogs"][0] == result["eventId"]
    # The event's `target` is the changed campaign, by the key the cache stores it under.
    assert result["eventTarget"] == result["targetKey"] == f"Campaign:{result['page1'][0]}"
    assert result["campaignBudget"]["__typename"] == "Money" and result["campaignBudget"]["currency"]
    assert result["againCampaigns"] == 2
    # `... on Node { id }` matched through possibleTypes (without them Apollo drops the field silently).
    assert result["daily"]["id"] == result["page1"][0] and result["daily"]["days"] > 0
    requests = [(r["method"], r["hashed"], r["query"], r["code"]) for r in result["requests"]]
    # The persisted-query link: a hash alone over GET, PersistedQueryNotFound, the hash with the
    # document once (registered), and a hash alone that then runs; mutations by POST the same way.
    assert requests[:2] == [("GET", True, False, "PERSISTED_QUERY_NOT_FOUND"), ("POST", True, True, None)]
    assert ("POST", True, False, "PERSISTED_QUERY_NOT_FOUND") in requests
    assert requests[-1] == ("GET", True, False, None)
    assert all(r["status"] == 200 for r in result["requests"])


@needs_node
def test_without_the_type_policies_apollo_warns(trusting: ServerThread, issuer: TestIssuer) -> None:
    """What the recipe prevents, so a warning surely fails the test above."""
    ran = node("apollo.mjs", "--without-type-policies", env=client_env(trusting, issuer.token("acme", "marketer")))
    printed = "\n".join(ran.result()["printed"])
    assert "Cache data may be lost when replacing the dailyBudget field of a Campaign object" in printed, printed


@needs_node
def test_apollo_stops_hashing_where_persisted_queries_are_off(seeded: Stores, issuer: TestIssuer, built: Built) -> None:
    with serving(seeded, issuer, apq=False) as (server, _):
        ran = node("apollo-apq-off.mjs", env=client_env(server, issuer.token("acme", "analyst")))
    result = ran.result()
    assert result["printed"] == [] and ran.err == "", result["printed"] or ran.err
    assert result["answers"] == [1, 1]
    requests = [(r["hashed"], r["query"], r["code"]) for r in result["requests"]]
    # PersistedQueryNotSupported: the document is sent, and from then on without a hash.
    assert requests == [(True, False, "PERSISTED_QUERY_NOT_SUPPORTED"), (False, True, None), (False, True, None)]


@needs_node
def test_urql_graphcache_runs_the_dashboard_with_no_warning(trusting: ServerThread, issuer: TestIssuer) -> None:
    ran = node("urql.mjs", env=client_env(trusting, issuer.token("acme", "marketer")))
    result = ran.result()
    assert result["printed"] == [] and ran.err == "", result["printed"] or ran.err
    assert len(result["page1"]) == 2 and result["afterPaging"][:2] == result["page1"]
    assert len(set(result["afterPaging"])) == 4
    assert result["eventId"] is not None and result["cachedLogs"][0] == result["eventId"]
    assert result["eventTarget"] == result["targetKey"] == f"Campaign:{result['page1'][0]}"
    assert result["campaignBudget"]["currency"]


@needs_node
def test_documents_run_by_their_codegen_and_relay_ids(trusting: ServerThread, issuer: TestIssuer) -> None:
    ran = node("document-id.mjs", env=client_env(trusting, issuer.token("acme", "analyst")))
    result = ran.result()
    assert result["printed"] == [] and ran.err == ""
    organization = result["post"]["organization"]
    assert organization and result["post"] == {"status": 200, "organization": organization, "campaigns": 2, "codes": []}
    assert result["get"] == result["post"]
    assert result["relay"] == {"status": 200, "organization": organization, "campaigns": 3, "codes": []}
    unknown = {"status": 400, "organization": None, "campaigns": None, "codes": ["PERSISTED_DOCUMENT_NOT_FOUND"]}
    assert result["unknown"] == unknown


async def test_a_document_id_without_a_manifest_is_not_supported(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    headers = {"Authorization": f"Bearer {issuer.token('acme', 'analyst')}"}
    answer = await client.post("/graphql", json={"documentId": f"sha256:{'0' * 64}"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_SUPPORTED"
    strict = await client.get(
        "/graphql",
        params={"documentId": f"sha256:{'0' * 64}"},
        headers={**headers, "Accept": "application/graphql-response+json"},
    )
    assert strict.status_code == 400 and strict.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_DOCUMENT_NOT_SUPPORTED"
    )


def test_the_recipes_are_the_files_the_suite_runs() -> None:
    """Each snippet of docs/frontend.md marked `as in tests/frontend/<file>` is that file's text, verbatim."""
    text = (ROOT / "docs" / "frontend.md").read_text()
    snippets = re.findall(r"\(as in\s+`(tests/frontend/[\w./-]+)`\):\n\n```\w+\n(.*?)```", text, re.S)
    assert len(snippets) >= 6
    for path, snippet in snippets:
        assert snippet in (ROOT / path).read_text(), f"docs/frontend.md's snippet differs from {path}"
