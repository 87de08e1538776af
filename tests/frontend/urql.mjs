// urql with graphcache in Node, configured as docs/frontend.md says: the dashboard, its next page
// (relayPagination), a mutation and a subscription event written into the cached dashboard.
// Prints one JSON line; graphcache's warnings are what the suite looks for.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { buildSchema, introspectionFromSchema } from "graphql";
import { createClient } from "graphql-ws";
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";
import { connectionFields, finish, identitylessTypes, operations, range, token, url, within } from "./harness.mjs";

const bare = process.argv.includes("--without-keys");
const sdl = readFileSync(new URL("build/schema.graphql", import.meta.url), "utf8");

// The recipe: identity-less types are embedded (no key), every connection field pages by cursor.
const keys = Object.fromEntries(identitylessTypes.map((name) => [name, () => null]));
const resolvers = {};
for (const [type, fields] of Object.entries(connectionFields)) {
  resolvers[type] = Object.fromEntries(Object.keys(fields).map((field) => [field, relayPagination()]));
}

const dashboard = operations.Dashboard.document;
const variables = { ...range, first: 2 };
let delivered;
let eventTarget = null; // the event names its object by global id, as the cache keys it
const arrived = new Promise((resolve) => (delivered = resolve));
const updates = {
  Subscription: {
    actionLogged(result, _args, cache) {
      cache.updateQuery({ query: dashboard, variables }, (data) => {
        if (data === null) return null;
        const logs = data.organization.actionLogs;
        if (!logs.edges.some((edge) => edge.node.id === result.actionLogged.id)) {
          logs.edges.unshift({ __typename: "ActionLogEdge", cursor: null, node: result.actionLogged });
        }
        return data;
      });
      eventTarget ??= result.actionLogged.target ? cache.keyOfEntity(result.actionLogged.target) : null;
      delivered(result.actionLogged.id);
    },
  },
};

const sockets = createClient({
  url: url.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
});
const client = new Client({
  url,
  fetchOptions: { headers: { authorization: `Bearer ${token}` } },
  exchanges: [
    cacheExchange(bare ? {} : { schema: introspectionFromSchema(buildSchema(sdl)), keys, resolvers, updates }),
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query || "" };
        return { subscribe: (sink) => ({ unsubscribe: sockets.subscribe(input, sink) }) };
      },
    }),
  ],
});

function check(result) {
  if (result.error) throw result.error;
  return result.data;
}

const first = check(await client.query(dashboard, variables).toPromise());
const cursor = first.organization.campaigns.pageInfo.endCursor;
check(await client.query(dashboard, { ...variables, after: cursor }).toPromise());
const paged = check(await client.query(dashboard, variables, { requestPolicy: "cache-only" }).toPromise());

const subscription = client.subscription(operations.ActionLogged.document, {}).subscribe(() => {});
await within(10000, new Promise((resolve) => sockets.on("connected", resolve)), "graphql-ws connection");
const target = first.organization.campaigns.edges[0].node;
let eventId;
for (let attempt = 0; attempt < 10 && eventId === undefined; attempt++) {
  const input = { campaignId: target.id, dailyBudget: target.dailyBudget.amount, idempotencyKey: randomUUID() };
  const data = check(await client.mutation(operations.UpdateBudget.document, { input }).toPromise());
  if (data.updateCampaignBudget.userErrors.length) throw new Error(JSON.stringify(data.updateCampaignBudget.userErrors));
  eventId = await within(3000, arrived, "actionLogged").catch(() => undefined);
}
const cached = check(await client.query(dashboard, variables, { requestPolicy: "cache-only" }).toPromise());
subscription.unsubscribe();
await sockets.dispose();
finish({
  page1: first.organization.campaigns.edges.map((e) => e.node.id),
  afterPaging: paged.organization.campaigns.edges.map((e) => e.node.id),
  eventId,
  eventTarget,
  targetKey: `Campaign:${target.id}`,
  cachedLogs: cached.organization.actionLogs.edges.map((e) => e.node.id),
  campaignBudget: cached.organization.campaigns.edges[0].node.dailyBudget,
});
