"""The schema documents itself, and its closed sets are enums a client can switch on."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLType,
    get_named_type,
)

from resolvers.actions.agents.common import AGENT_CODES
from resolvers.actions.brain.common import BRAIN_ACTION_CODES
from resolvers.actions.brain_states.publish import BRAIN_STATE_CODES
from resolvers.actions.catalog.common import CATALOG_CODES
from resolvers.actions.credentials.common import CREDENTIAL_CODES
from resolvers.actions.errors import UserErrorCode
from resolvers.actions.ingestion.common import INGESTION_CODES
from resolvers.actions.team.common import TEAM_CODES
from resolvers.actions.workflows.common import WORKFLOW_CODES
from resolvers.schema import schema

ROOT = Path(__file__).resolve().parent.parent
SDL = schema._schema


def undocumented() -> list[str]:
    missing: list[str] = []
    for name, named in SDL.type_map.items():
        if name.startswith("__"):
            continue
        if not named.description:
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [f"{name}.{field_name}({a})" for a, arg in field.args.items() if not arg.description]
        elif isinstance(named, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in named.fields.items() if not field.description]
        elif isinstance(named, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in named.values.items() if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    assert undocumented() == []


def test_the_walk_sees_what_it_counts() -> None:
    # Guards against a walk that silently skips everything: the schema has many described parts.
    assert len(SDL.type_map) > 50
    assert SDL.type_map["Query"].description


def named_type(t: GraphQLType) -> GraphQLType:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def field_type(type_name: str, field: str) -> str:
    owner = SDL.type_map[type_name]
    assert isinstance(owner, GraphQLObjectType)
    return str(named_type(owner.fields[field].type))


def enum_values(name: str) -> set[str]:
    enum = SDL.type_map[name]
    assert isinstance(enum, GraphQLEnumType)
    return set(enum.values)


def test_closed_sets_are_enums() -> None:
    assert field_type("Viewer", "kind") == "ViewerKind"
    assert enum_values("ViewerKind") == {"USER", "PARTNER", "INVITEE"}
    assert field_type("Viewer", "roles") == "ViewerRole"
    assert enum_values("ViewerRole") == {"OWNER", "ADMIN", "MARKETER", "ANALYST", "VIEWER"}
    assert field_type("Invitation", "role") == "InvitationRole"
    assert enum_values("InvitationRole") == {"ADMIN", "ANALYST", "MEMBER"}
    assert field_type("Member", "enterpriseRoles") == "EnterpriseRole"
    assert enum_values("EnterpriseRole") == {"OWNER", "ADMIN", "ANALYST", "MEMBER"}
    assert field_type("Member", "brainRole") == "BrainRole"
    assert enum_values("BrainRole") == {"OWNER", "ADMIN", "MARKETER", "VIEWER"}
    assert field_type("WorkflowExecution", "triggeredBy") == "WorkflowTrigger"
    assert enum_values("WorkflowTrigger") == {"SCHEDULE", "USER", "API"}


def test_creation_times_are_named_created_at() -> None:
    assert field_type("AuditLog", "createdAt") == "DateTime"
    for name, named in SDL.type_map.items():
        if isinstance(named, GraphQLObjectType) and not name.startswith("__"):
            assert "at" not in named.fields, name


# Each mutation payload's `userErrors` carries its domain's error type: a `UserError` whose `code` is a
# `UserErrorCode`, restricted in Python to that domain's own code enum.
PAYLOAD_ERRORS = {
    "CreativeStatusPayload": "BrainActionError",
    "UpdateCampaignBudgetPayload": "BrainActionError",
    "ShiftBudgetPayload": "BrainActionError",
    "CampaignStatusPayload": "BrainActionError",
    "UpdateCampaignPayload": "BrainActionError",
    "BulkCreativesPayload": "BrainActionError",
    "BulkCampaignsPayload": "BrainActionError",
    "StartSyncJobPayload": "IngestionError",
    "IngestDailyMetricsPayload": "IngestionError",
    "FinishSyncJobPayload": "IngestionError",
    "RequestSyncPayload": "IngestionError",
    "SyncCatalogPayload": "CatalogError",
    "ChannelPayload": "CatalogError",
    "InviteTeamMemberPayload": "TeamError",
    "InvitationPayload": "TeamError",
    "WorkflowPayload": "WorkflowError",
    "RunWorkflowPayload": "WorkflowError",
    "SetWorkflowSchedulePayload": "WorkflowError",
    "CredentialPayload": "CredentialError",
    "PublishBrainStatePayload": "BrainStateError",
    "MemberPayload": "TeamError",
    "RemoveMemberPayload": "TeamError",
    "ResendInvitationPayload": "TeamError",
    "AgentPayload": "AgentError",
    "DeleteWorkflowSchedulePayload": "WorkflowError",
    "ExecutionPayload": "WorkflowError",
}
ERROR_CODES: dict[str, frozenset[UserErrorCode]] = {
    "BRAIN_ACTION_CODES": BRAIN_ACTION_CODES,
    "INGESTION_CODES": INGESTION_CODES,
    "TEAM_CODES": TEAM_CODES,
    "WORKFLOW_CODES": WORKFLOW_CODES,
    "CREDENTIAL_CODES": CREDENTIAL_CODES,
    "BRAIN_STATE_CODES": BRAIN_STATE_CODES,
    "AGENT_CODES": AGENT_CODES,
    "CATALOG_CODES": CATALOG_CODES,
}


def test_user_errors_are_typed_per_domain() -> None:
    payloads = {
        name
        for name, named in SDL.type_map.items()
        if isinstance(named, GraphQLObjectType) and "userErrors" in named.fields
    }
    assert payloads == set(PAYLOAD_ERRORS)
    for payload, error in PAYLOAD_ERRORS.items():
        assert field_type(payload, "userErrors") == error
        assert field_type(error, "code") == "UserErrorCode"
        assert field_type(error, "message") == "String"
        assert field_type(error, "field") == "String"


def domain_codes(name: str) -> set[str]:
    return {member.name for member in ERROR_CODES[name]}


# The codes each place raises, as written in the source (a folder: all its modules): every one must be in
# the code enum of each domain that place serves, else `typed_errors` would refuse it instead of the client
# reading it. Rules shared by several domains list them all.
MODULE_CODES = {
    "resolvers/actions/brain": ["BRAIN_ACTION_CODES"],
    "resolvers/actions/ingestion": ["INGESTION_CODES"],
    "resolvers/actions/catalog": ["CATALOG_CODES"],
    "resolvers/actions/team": ["TEAM_CODES"],
    "resolvers/actions/workflows": ["WORKFLOW_CODES"],
    "resolvers/actions/credentials": ["CREDENTIAL_CODES"],
    "gateway/core/rules/credentials.py": ["CREDENTIAL_CODES"],
    "gateway/core/rules/brain_states.py": ["BRAIN_STATE_CODES"],
    "resolvers/actions/agents": ["AGENT_CODES"],
    "gateway/core/rules/members.py": ["TEAM_CODES"],
    "gateway/core/rules/budget.py": ["BRAIN_ACTION_CODES"],
    "gateway/core/rules/lifecycle.py": ["BRAIN_ACTION_CODES"],
    "gateway/core/rules/text.py": ["BRAIN_ACTION_CODES", "TEAM_CODES", "WORKFLOW_CODES"],
    "gateway/core/rules/schedule.py": ["WORKFLOW_CODES"],
    "gateway/core/rules/versions.py": ["WORKFLOW_CODES"],
    "gateway/core/rules/invitations.py": ["TEAM_CODES"],
    "gateway/core/rules/seats.py": ["TEAM_CODES"],
    "gateway/data/enterprise/seats.py": ["TEAM_CODES"],
    "gateway/data/enterprise/executions.py": ["WORKFLOW_CODES"],
    "gateway/data/enterprise/schedules.py": ["WORKFLOW_CODES"],
    # The id parser every domain uses.
    "resolvers/actions/common.py": [
        "BRAIN_ACTION_CODES",
        "INGESTION_CODES",
        "TEAM_CODES",
        "WORKFLOW_CODES",
        "CREDENTIAL_CODES",
        "BRAIN_STATE_CODES",
        "AGENT_CODES",
        "CATALOG_CODES",
    ],
}
SHARED_CODES = {"INVALID_ID"}  # raised by the id parser
RAISED = re.compile(r'reject\(\s*"([A-Z_]+)",')


def _sources(place: str) -> list[Path]:
    path = ROOT / place
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_every_raised_code_is_in_its_domain_enum() -> None:
    brain_statuses = {"ALREADY_ACTIVE", "ALREADY_PAUSED"}  # `"ALREADY_" + status.upper()`
    for place, enums in MODULE_CODES.items():
        source = "\n".join(path.read_text() for path in _sources(place))
        raised = set(RAISED.findall(source))
        assert raised, place
        if place.endswith("brain"):
            raised |= brain_statuses
        known = set().union(*(domain_codes(e) for e in enums))
        assert raised - known == set(), place
        for enum in enums:
            assert domain_codes(enum) >= SHARED_CODES, enum


def test_every_place_that_rejects_is_checked() -> None:
    places = [p for place in MODULE_CODES for p in _sources(place)]
    for top in ("resolvers", "gateway"):
        for path in (ROOT / top).rglob("*.py"):
            if RAISED.search(path.read_text()):
                assert path in places, path


def connection_fields() -> list[tuple[str, str, GraphQLField]]:
    found = []
    for name, named in SDL.type_map.items():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if get_named_type(field.type).name.endswith("Connection"):
                    found.append((name, field_name, field))
    return found


def test_every_list_takes_one_filter_and_order_style() -> None:
    fields = connection_fields()
    assert len(fields) >= 19  # every Brain and enterprise list, nested ones included
    for parent, name, field in fields:
        where = f"{parent}.{name}"
        assert {"first", "after", "last", "before", "filter", "orderBy"} <= set(field.args), where
        assert get_named_type(field.args["filter"].type).name.endswith("Filter"), where
        order = field.args["orderBy"].type
        assert isinstance(order, GraphQLList) and isinstance(order.of_type, GraphQLNonNull), where
        order_input = get_named_type(order)
        assert isinstance(order_input, GraphQLInputObjectType) and set(order_input.fields) == {"field", "direction"}
        assert isinstance(get_named_type(order_input.fields["field"].type), GraphQLEnumType), where
        assert get_named_type(order_input.fields["direction"].type).name == "OrderDirection", where


def test_lists_and_their_inputs_are_named_after_their_node_type() -> None:
    """One convention: a list of `T` is a `TConnection` of `TEdge`s, filtered by `TFilter`, ordered by `TOrder`
    over `TOrderField`, counted by `TStatusCount`; a status field of `T` is a `TStatus` unless several types share
    its enum (e.g. `DeliveryStatus`)."""
    for parent, name, field in connection_fields():
        connection = get_named_type(field.type)
        assert isinstance(connection, GraphQLObjectType)
        edge = get_named_type(connection.fields["edges"].type)
        assert isinstance(edge, GraphQLObjectType)
        node = get_named_type(edge.fields["node"].type).name
        names = {
            "connection": connection.name,
            "edge": edge.name,
            "filter": get_named_type(field.args["filter"].type).name,
            "order": get_named_type(field.args["orderBy"].type).name,
        }
        order = SDL.type_map[names["order"]]
        assert isinstance(order, GraphQLInputObjectType)
        names["order field"] = get_named_type(order.fields["field"].type).name
        if "countsByStatus" in connection.fields:
            names["status count"] = get_named_type(connection.fields["countsByStatus"].type).name
        expected = {
            "connection": f"{node}Connection",
            "edge": f"{node}Edge",
            "filter": f"{node}Filter",
            "order": f"{node}Order",
            "order field": f"{node}OrderField",
            "status count": f"{node}StatusCount",
        }
        assert names == {k: expected[k] for k in names}, f"{parent}.{name}"
    status_enums: dict[str, set[str]] = {}
    for name, named in SDL.type_map.items():
        if isinstance(named, GraphQLObjectType) and not name.startswith("__") and "status" in named.fields:
            status = get_named_type(named.fields["status"].type)
            if isinstance(status, GraphQLEnumType) and not name.endswith("StatusCount"):
                status_enums.setdefault(status.name, set()).add(name)
    for enum, owners in status_enums.items():
        assert len(owners) > 1 or enum == f"{next(iter(owners))}Status", (enum, owners)


def test_status_filters_take_lists_and_amounts_are_money() -> None:
    for name, named in SDL.type_map.items():
        if isinstance(named, GraphQLInputObjectType) and name.endswith("Filter"):
            status = named.fields.get("status")
            if status is not None:
                assert isinstance(status.type, GraphQLList), name
        if isinstance(named, GraphQLObjectType) and not name.startswith("__"):
            for field_name, field in named.fields.items():
                # Amounts are Money {amount currency}; no output is a bare decimal, nor a currency apart from one.
                if name != "Money":
                    assert get_named_type(field.type).name != "Decimal", f"{name}.{field_name}"
                if field_name == "currency":
                    assert get_named_type(field.type).name == "Currency", f"{name}.{field_name}"
    assert field_type("Money", "amount") == "Decimal" and field_type("Money", "currency") == "Currency"
    assert enum_values("PerformanceDimension") == {"CHANNEL", "CAMPAIGN", "CREATIVE", "PLATFORM", "FORMAT"}
    assert enum_values("TimeInterval") == {"DAY", "WEEK", "MONTH"}
    for connection in ("CampaignConnection", "CreativeConnection", "SyncJobConnection", "WorkflowExecutionConnection"):
        assert "countsByStatus" in SDL.type_map[connection].fields  # type: ignore[union-attr]
