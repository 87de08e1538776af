"""connectChannel, updateChannel, disconnectChannel: an organization's platform accounts.

A disconnected channel is kept, with its campaigns and metrics; nothing syncs
into it (catalog sync, sync requests and claims refuse it) until an update
sets it active again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.data.brain import catalog, channels
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.data.brain.channels import ChannelRow
from gateway.stores.postgres import TenantConnection
from resolvers.actions.built import ACTION_LOG, CHANNEL
from resolvers.actions.catalog.common import CATALOG_CODES, CatalogError, SyncedChannelStatus
from resolvers.actions.catalog.rows import external_id, name_of
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    MutationInput,
    Outcome,
    parse_uuid,
    run_brain_mutation,
    typed_errors,
)
from resolvers.brain.enums import ActionKind, ActionTargetType, Platform
from resolvers.brain.records import ActionLog
from resolvers.brain.types import Channel
from resolvers.common.enums import stored

PERMISSION = Permission.MANAGE_CHANNELS
ADMIN = "Needs the admin or owner role."


@strawberry.input(description="Connect a platform account as a new channel (status `ACTIVE`).")
class ConnectChannelInput:
    platform: Platform = strawberry.field(description="The account's platform.")
    name: str = strawberry.field(description="Display name; unique per platform in the organization.")
    external_account_id: str | None = strawberry.field(
        default=None, description="The account's id on the platform, the key catalog syncs find the channel by."
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.input(description="Change a channel: null fields keep their value. Its platform never changes.")
class UpdateChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    name: str | None = strawberry.field(default=None, description="New display name.")
    external_account_id: str | None = strawberry.field(default=None, description="New account id on the platform.")
    status: SyncedChannelStatus | None = strawberry.field(
        default=None, description="Active or paused; `ACTIVE` reconnects a disconnected channel."
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.input(description="Disconnect a channel: it is kept, with its data, and no longer synced.")
class DisconnectChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of a channel change.")
class ChannelPayload:
    channel: Channel | None = strawberry.field(description="The channel after the change.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[CatalogError] = strawberry.field(description=USER_ERRORS)


async def _check_free(tx: TenantConnection, platform: str, name: str, account: str | None, own: object) -> None:
    # Channel changes and catalog syncs of one organization take turns, so what is free here stays free.
    await catalog.lock(tx)
    for other in await channels.holders(tx, platform, name, account):
        if other.id == own:
            continue
        if other.name == name:
            raise reject("NAME_TAKEN", "another channel on this platform has this name", "name")
        raise reject("ACCOUNT_TAKEN", "another channel already has this account id", "externalAccountId")


def _log(action: ActionKind, before: ChannelRow | None, after: ChannelRow) -> ActionLogEntry:
    def fields(row: ChannelRow | None) -> dict[str, str | None] | None:
        return None if row is None else {"name": row.name, "status": row.status, "account": row.external_account_id}

    return ActionLogEntry(
        stored(action), stored(ActionTargetType.CHANNEL), str(after.id), {"before": fields(before)}, fields(after) or {}
    )


async def _connect(data: ConnectChannelInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    name = name_of(data.name, "name")
    account = external_id(data.external_account_id, "externalAccountId") if data.external_account_id else None
    await _check_free(tx, stored(data.platform), name, account, None)
    channel = await channels.connect(tx, stored(data.platform), name, account)
    return Outcome(rows={"channel": channel}), _log(ActionKind.CONNECT_CHANNEL, None, channel)


async def _locked(tx: TenantConnection, global_id: str) -> ChannelRow:
    channel = await channels.lock(tx, parse_uuid(global_id, stored(ActionTargetType.CHANNEL), "channelId"))
    if channel is None:
        raise reject("NOT_FOUND", "no such channel in your organization", "channelId")
    return channel


async def _update(data: UpdateChannelInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    current = await _locked(tx, data.channel_id)
    name = name_of(data.name, "name") if data.name is not None else current.name
    account = current.external_account_id
    if data.external_account_id is not None:
        account = external_id(data.external_account_id, "externalAccountId")
    await _check_free(tx, current.platform, name, account, current.id)
    status = stored(data.status) if data.status is not None else current.status
    channel = await channels.update(tx, current.id, name, status, account)
    return Outcome(rows={"channel": channel}), _log(ActionKind.UPDATE_CHANNEL, current, channel)


async def _disconnect(data: DisconnectChannelInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    current = await _locked(tx, data.channel_id)
    if current.status == "disconnected":
        raise reject("ALREADY_DISCONNECTED", "the channel is disconnected already", "channelId")
    channel = await channels.update(tx, current.id, current.name, "disconnected", current.external_account_id)
    return Outcome(rows={"channel": channel}), _log(ActionKind.DISCONNECT_CHANNEL, current, channel)


async def _run(
    info: Ctx,
    operation: str,
    data: MutationInput,
    perform: Callable[[TenantConnection], Awaitable[tuple[Outcome, ActionLogEntry | None]]],
) -> ChannelPayload:
    outcome = await run_brain_mutation(info, operation=operation, permission=PERMISSION, input=data, perform=perform)
    return ChannelPayload(
        channel=outcome.built("channel", CHANNEL),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, CatalogError, CATALOG_CODES),
    )


async def connect_channel(
    info: Ctx, input: Annotated[ConnectChannelInput, strawberry.argument(description="The account.")]
) -> ChannelPayload:
    return await _run(info, stored(ActionKind.CONNECT_CHANNEL), input, lambda tx: _connect(input, tx))


async def update_channel(
    info: Ctx, input: Annotated[UpdateChannelInput, strawberry.argument(description="The change.")]
) -> ChannelPayload:
    return await _run(info, stored(ActionKind.UPDATE_CHANNEL), input, lambda tx: _update(input, tx))


async def disconnect_channel(
    info: Ctx, input: Annotated[DisconnectChannelInput, strawberry.argument(description="The channel.")]
) -> ChannelPayload:
    return await _run(info, stored(ActionKind.DISCONNECT_CHANNEL), input, lambda tx: _disconnect(input, tx))


connect = strawberry.mutation(resolver=connect_channel, description=f"Connect a platform account as a channel. {ADMIN}")
update = strawberry.mutation(
    resolver=update_channel, description=f"Rename, re-key, pause or reconnect a channel. {ADMIN}"
)
disconnect = strawberry.mutation(
    resolver=disconnect_channel,
    description=f"Disconnect a channel: it is kept with its data, and syncing into it is refused. {ADMIN}",
)
