"""A hostile caller against today's write API: what a token of another kind or organization must not reach."""

from __future__ import annotations

import httpx

from tests.support.issuer import TestIssuer
from tests.support.operator import ERRORS, codes, mutate, result
from tests.test_operator_agentkit import RUN, active_workflow, admin, partner, seeded_agent

# Everything a WorkflowExecution tells about itself without reading another record.
FIELDS = f"execution {{ id status input output error triggeredBy }} {ERRORS}"
PARTNER_CANCEL = f"mutation($input: ExecutionInput!) {{ cancelExecution(input: $input) {{ {FIELDS} }} }}"
PARTNER_RETRY = f"mutation($input: ExecutionInput!) {{ retryExecution(input: $input) {{ {FIELDS} }} }}"
PRIVATE = {"note": "a person's run: its input is not the partner's to read"}


async def _persons_run(client: httpx.AsyncClient, issuer: TestIssuer) -> str:
    workflow_id = await active_workflow(client, issuer, seeded_agent(0))
    body = await mutate(client, RUN, admin(issuer), workflowId=workflow_id, input=PRIVATE)
    execution_id: str = result(body)["execution"]["id"]
    return execution_id


async def test_a_partner_cannot_cancel_a_run_it_did_not_start(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    # workflows:run reads no enterprise record, so a person's run (and its input) reads as missing.
    execution_id = await _persons_run(client, issuer)
    body = await mutate(client, PARTNER_CANCEL, partner(issuer, "workflows:run"), executionId=execution_id)
    assert codes(body) == ["NOT_FOUND"] and result(body)["execution"] is None, body


async def test_a_partner_cannot_retry_a_run_it_did_not_start(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    execution_id = await _persons_run(client, issuer)
    cancel = f"mutation($input: ExecutionInput!) {{ cancelExecution(input: $input) {{ {ERRORS} }} }}"
    assert codes(await mutate(client, cancel, admin(issuer), executionId=execution_id)) == []
    body = await mutate(client, PARTNER_RETRY, partner(issuer, "workflows:run"), executionId=execution_id)
    assert codes(body) == ["NOT_FOUND"] and result(body)["execution"] is None, body
