"""Roles and scopes: what each principal may read, field by field."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.core.permissions import INVITEE_PERMISSIONS, ROLE_PERMISSIONS, SCOPE_PERMISSIONS, Permission
from tests.conftest import gql
from tests.support.issuer import TestIssuer

SENSITIVE = {
    "invitations": "invitations { totalCount }",
    "auditLogs": "auditLogs { totalCount }",
    "credentials": "credentials { totalCount }",
}


@pytest.mark.parametrize("role", ["viewer", "analyst", "marketer"])
async def test_readers_get_forbidden_on_sensitive_fields_only(
    client: httpx.AsyncClient, issuer: TestIssuer, role: str
) -> None:
    query = (
        "{ organization { name plan campaigns { totalCount } workflows { totalCount } "
        + " ".join(SENSITIVE.values())
        + " } }"
    )
    body = await gql(client, query, token=issuer.token("acme", role))
    org = body["data"]["organization"]
    assert org["plan"] == "ENTERPRISE" and org["campaigns"]["totalCount"] == 60 and org["workflows"]["totalCount"] == 8
    forbidden = {tuple(e["path"])[-1] for e in body["errors"] if e["extensions"]["code"] == "FORBIDDEN"}
    assert forbidden == set(SENSITIVE)
    assert all(org[field] is None for field in SENSITIVE)


@pytest.mark.parametrize("role", ["admin", "owner"])
async def test_admins_read_sensitive_fields(client: httpx.AsyncClient, issuer: TestIssuer, role: str) -> None:
    query = "{ organization { " + " ".join(SENSITIVE.values()) + " } }"
    body = await gql(client, query, token=issuer.token("acme", role))
    assert "errors" not in body
    # 200 seeded events, plus any that actions of earlier tests in acme added
    assert body["data"]["organization"]["auditLogs"]["totalCount"] >= 200


async def test_partner_reads_marketing_data_but_not_enterprise_records(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token(
        "acme", "owner", sub="partner-sync", azp="partner-sync", roles=["owner"], scope="metrics:write"
    )
    body = await gql(
        client, "{ organization { name campaigns(first: 1) { totalCount } plan members { totalCount } } }", token=token
    )
    org = body["data"]["organization"]
    assert org["name"] == "Acme Corporation" and org["campaigns"]["totalCount"] == 60
    assert org["plan"] is None and org["members"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_tokens_granting_nothing_are_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    no_role = issuer.token("acme", "viewer", roles=["superhero"])
    partner_without_scope = issuer.token("acme", "owner", sub="partner-x", azp="partner-x")
    for token in (no_role, partner_without_scope):
        response = await client.post(
            "/graphql", json={"query": "{ organization { name } }"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_node_applies_the_same_rule_to_sensitive_types(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    admin = issuer.token("acme", "admin")
    ids = await gql(
        client,
        """{ organization { credentials(first: 1) { edges { node { id } } }
        auditLogs(first: 1) { edges { node { id } } } invitations(first: 1) { edges { node { id } } } } }""",
        token=admin,
    )
    org = ids["data"]["organization"]
    node_ids = [org[field]["edges"][0]["node"]["id"] for field in ("credentials", "auditLogs", "invitations")]
    partner = issuer.token("acme", "owner", sub="partner-sync", azp="partner-sync", scope="metrics:write")
    for token in (issuer.token("acme", "viewer"), issuer.token("acme", "marketer"), partner):
        for node_id in node_ids:
            body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, token=token)
            assert body["data"]["node"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for node_id in node_ids:
        body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, token=admin)
        assert body["data"]["node"]["id"] == node_id


async def test_a_refusal_names_the_scope_or_roles_that_would_be_allowed(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    creative = await gql(
        client, "{ organization { creatives(first: 1) { edges { node { id } } } } }", token=issuer.token()
    )
    pause = 'mutation($id: ID!) { pauseCreative(input: {creativeId: $id, reason: "probe"}) { creative { id } } }'
    variables = {"id": creative["data"]["organization"]["creatives"]["edges"][0]["node"]["id"]}
    ingesting_partner = issuer.token("acme", "owner", sub="partner-sync", azp="partner-sync", scope="metrics:write")
    body = await gql(client, pause, variables, token=ingesting_partner)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN" and "need the scope actions:write" in error["message"]
    body = await gql(client, pause, variables, token=issuer.token("acme", "viewer"))
    error = body["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN" and "roles that may: marketer, admin, owner" in error["message"]


def test_the_readmes_table_is_the_one_the_gateway_applies() -> None:
    columns = [*ROLE_PERMISSIONS, *SCOPE_PERMISSIONS, "invitee"]
    granted = {**ROLE_PERMISSIONS, **SCOPE_PERMISSIONS, "invitee": INVITEE_PERMISSIONS}
    names = [f"`{c}`" if c in ROLE_PERMISSIONS else f"scope `{c}`" if c in SCOPE_PERMISSIONS else c for c in columns]
    lines = ["| may … | " + " | ".join(names) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [
        f"| {p.value} | " + " | ".join("✓" if p in granted[c] else "" for c in columns) + " |" for p in Permission
    ]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "\n".join(lines) + "\n" in readme, "\n".join(lines)
