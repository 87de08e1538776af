"""Trusted documents: the manifest (both formats, built by `manifest build`), and who may run only its documents."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.core.config import ConfigError, load_settings
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.test_fair_share import serving
from tests.test_ingestion import partner
from tests.test_persisted import GRAPHQL_RESPONSE, code, fresh, ran, send, sha
from tests.test_subscriptions import SYNC_JOB, socket

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "gateway.ops.cli"]
# A complete environment but for the stores, which `load_settings` only checks by their form.
ENV = {
    "MONGO_URL": "mongodb://mongo:27017",
    "DATABASE_URL": "postgresql://gw@pg:5432/brain",
    "DATABASE_SYSTEM_URL": "postgresql://gw_system@pg:5432/brain",
    "OIDC_ISSUER": "https://id.example.com/realms/omnify",
    "OIDC_AUDIENCE": "omnify-gateway",
}


LISTED = "query Listed { viewer { subject } }"
UNLISTED = "query Unlisted { viewer { subject } }"


async def test_partners_run_only_trusted_documents(seeded: Stores, issuer: TestIssuer) -> None:
    with serving(seeded, issuer, trusted_documents={sha(LISTED): LISTED}) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            token = partner(issuer)
            for answer in [
                await send(http, token, query=UNLISTED),
                await send(http, token, query=UNLISTED, digest=sha(UNLISTED)),  # no registering around the list
                await send(http, token, digest=sha(fresh())),
            ]:
                assert answer.status_code == 403 and code(answer) == "PERSISTED_DOCUMENT_REQUIRED", answer.text
            for answer in [
                await send(http, token, document_id=f"sha256:{sha(LISTED)}"),
                await send(http, token, document_id=sha(LISTED)),
                await send(http, token, document_id=f"sha256:{sha(LISTED)}", get=True),
                await send(http, token, digest=sha(LISTED)),
                await send(http, token, digest=sha(LISTED), get=True),
                await send(http, token, query=LISTED),  # the listed text itself is trusted
            ]:
                assert ran(answer), answer.text
            unknown = await send(http, token, document_id=f"sha256:{sha(UNLISTED)}")
            assert unknown.status_code == 200 and code(unknown) == "PERSISTED_DOCUMENT_NOT_FOUND"
            strict = await send(http, token, document_id="x-custom:nope", accept=GRAPHQL_RESPONSE)
            assert strict.status_code == 400 and code(strict) == "PERSISTED_DOCUMENT_NOT_FOUND"
            both = await send(http, token, query=LISTED, document_id=sha(LISTED))
            assert both.status_code == 400 and code(both) == "BAD_USER_INPUT"
            # Users run anything by default, APQ included, and trusted documents by id too.
            user = issuer.token("globex", "analyst")
            assert ran(await send(http, user, query=UNLISTED))
            document = fresh()
            assert ran(await send(http, user, query=document, digest=sha(document)))
            assert ran(await send(http, user, document_id=sha(LISTED)))


async def test_users_held_to_trusted_documents_when_required(seeded: Stores, issuer: TestIssuer) -> None:
    overrides = {
        "trusted_documents": {sha(LISTED): LISTED},
        "trusted_users": "required",
        "trusted_partners": "optional",
    }
    with serving(seeded, issuer, **overrides) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            user = issuer.token("acme", "viewer")
            refused = await send(http, user, query=UNLISTED)
            assert refused.status_code == 403 and code(refused) == "PERSISTED_DOCUMENT_REQUIRED"
            assert ran(await send(http, user, document_id=sha(LISTED)))
            assert ran(await send(http, partner(issuer), query=UNLISTED))
            assert (await http.get("/readyz")).json()["persisted"]["trustedDocuments"] == 1


def build(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "manifest", "build", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)


@pytest.mark.parametrize("form", ["codegen", "apollo"])
async def test_manifest_build_serve_and_run_by_hash(
    seeded: Stores, issuer: TestIssuer, tmp_path: Path, form: str
) -> None:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "viewer.graphql").write_text(
        "query Who { viewer { ...Me } }\nfragment Me on Viewer { subject }\n"
    )
    (tmp_path / "ops" / "more.gql").write_text(
        "query Whose { viewer { ...Me } }\nquery Campaigns($n: Int!) { organization { campaigns(first: $n) "
        "{ edges { node { name } } } } }\nfragment Unused on Viewer { subject }\n"
    )
    made = build(tmp_path, "ops", "-o", "manifest.json", "--format", form)
    assert made.returncode == 0, made.stderr
    written = json.loads((tmp_path / "manifest.json").read_text())
    if form == "apollo":
        assert written["format"] == "apollo-persisted-query-manifest"
        assert sorted(o["name"] for o in written["operations"]) == ["Campaigns", "Who", "Whose"]
        ids = {o["name"]: o["id"] for o in written["operations"]}
    else:
        ids = {body.split("(")[0].split()[1]: digest for digest, body in written.items()}
    settings = load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(tmp_path / "manifest.json")})
    documents = settings.trusted_documents or {}
    assert "fragment Me" in documents[ids["Whose"]] and "Unused" not in documents[ids["Whose"]]
    with serving(seeded, issuer, trusted_documents=documents) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            token = partner(issuer)
            assert ran(await send(http, token, document_id=f"sha256:{ids['Who']}"))
            assert ran(await send(http, token, digest=ids["Whose"], get=True))
            answer = await http.post(
                "/graphql",
                json={"documentId": ids["Campaigns"], "variables": {"n": 2}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            assert len(answer.json()["data"]["organization"]["campaigns"]["edges"]) == 2


def test_manifest_build_refuses_what_it_cannot_list(tmp_path: Path) -> None:
    (tmp_path / "anonymous.graphql").write_text("{ viewer { subject } }")
    (tmp_path / "missing.graphql").write_text("query M { viewer { ...Nowhere } }")
    for name, expected in [("anonymous.graphql", "has no name"), ("missing.graphql", "unknown ...Nowhere")]:
        made = build(tmp_path, name)
        assert made.returncode == 1 and expected in made.stderr, made.stderr
    assert "no such file" in build(tmp_path, "absent").stderr


def test_settings_read_both_manifest_formats_and_refuse_a_lying_one(tmp_path: Path) -> None:
    sha1 = hashlib.sha1(LISTED.encode()).hexdigest()
    codegen = tmp_path / "codegen.json"
    codegen.write_text(json.dumps({sha(LISTED): LISTED, sha1: LISTED}))
    assert load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(codegen)}).trusted_documents == {
        sha(LISTED): LISTED,
        sha1: LISTED,
    }
    apollo = tmp_path / "apollo.json"
    operations = [
        {"id": sha(LISTED), "name": "Listed", "type": "query", "body": LISTED},
        {"id": sha(LISTED), "name": "Lying", "type": "query", "body": UNLISTED},
        {"id": "sha256:" + "0" * 64, "name": "Zero", "type": "query", "body": LISTED},
    ]
    apollo.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}))
    with pytest.raises(ConfigError) as caught:
        load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(apollo), "OMNIFY_TRUSTED_DOCUMENTS_USERS": "maybe"})
    text = str(caught.value)
    assert "documents that do not match their hash" in text and "(Lying)" in text and "(Zero)" in text
    assert "OMNIFY_TRUSTED_DOCUMENTS_USERS='maybe' must be required or optional" in text
    for content, expected in [("{", "is not valid JSON"), ("[]", "expected"), ("{}", "lists no documents")]:
        apollo.write_text(content)
        with pytest.raises(ConfigError, match=expected):
            load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(apollo)})
    with pytest.raises(ConfigError, match="needs a manifest"):
        load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS_USERS": "required"})
    assert load_settings({**ENV, "OMNIFY_APQ": "off", "OMNIFY_APQ_CACHE_SIZE": "5"}).apq is False


def test_serve_refuses_a_manifest_whose_hashes_do_not_match(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({sha(UNLISTED): LISTED}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIFY_", "REDIS_"))}
    env |= {**ENV, "DATABASE_URL": "", "DATABASE_SYSTEM_URL": "", "OMNIFY_TRUSTED_DOCUMENTS": str(manifest)}
    result = subprocess.run([*CLI, "serve"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("invalid configuration") == 1  # one message, with every other problem
    assert "documents that do not match their hash" in result.stderr and sha(UNLISTED) in result.stderr
    assert "DATABASE_URL is not set" in result.stderr


async def test_subscriptions_follow_the_same_document_rules(seeded: Stores, issuer: TestIssuer) -> None:
    with serving(seeded, issuer, trusted_documents={sha(SYNC_JOB): SYNC_JOB}) as (server, _):
        async with socket(server.url, partner(issuer)) as ws:
            await ws.subscribe("raw", SYNC_JOB.replace("status", "status id"))
            refused = await ws.receive(within=30)
            assert refused["id"] == "raw" and refused["type"] == "error", refused
            assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
            await ws.send({"id": "listed", "type": "subscribe", "payload": {"documentId": f"sha256:{sha(SYNC_JOB)}"}})
            await ws.send({"id": "unknown", "type": "subscribe", "payload": {"documentId": sha(UNLISTED)}})
            unknown = await ws.receive(within=30)
            assert unknown["id"] == "unknown" and unknown["type"] == "error", unknown
            assert unknown["payload"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_FOUND"
            assert await ws.silent(1.0) == []  # the listed subscription runs: no error, no completion
