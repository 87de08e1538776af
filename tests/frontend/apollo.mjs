// Apollo Client in Node, development mode, configured as docs/frontend.md says: runs the dashboard,
// pages it with fetchMore, applies a mutation and a subscription event to the normalized cache,
// through the persisted-query link (GET for hashed queries) and graphql-ws. Prints one JSON line.
import { createHash, randomUUID } from "node:crypto";
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import { ApolloClient, HttpLink, InMemoryCache, split } from "@apollo/client/core/index.js";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions/index.js";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities/index.js";
import { connectionFields, finish, identitylessTypes, operations, possibleTypes, range, token, url, within } from "./harness.mjs";

loadDevMessages();
loadErrorMessages();

const bare = process.argv.includes("--without-type-policies"); // shows the warnings the policies prevent

// The recipe: identity-less types are embedded and merged into the previous value; every connection
// field pages by cursor, one list per combination of its other arguments.
const typePolicies = {};
for (const name of identitylessTypes) typePolicies[name] = { keyFields: false, merge: true };
for (const [type, fields] of Object.entries(connectionFields)) {
  const policies = Object.entries(fields).map(([field, keyArgs]) => [field, relayStylePagination(keyArgs)]);
  typePolicies[type] = { ...typePolicies[type], fields: Object.fromEntries(policies) };
}

const sent = [];
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const query = init.method === "GET" ? new URL(input).searchParams : null;
  const body = query ? { query: query.get("query"), extensions: JSON.parse(query.get("extensions") ?? "{}") } : JSON.parse(init.body);
  const answer = await response.clone().json();
  sent.push({
    method: init.method,
    hashed: body.extensions?.persistedQuery !== undefined,
    query: typeof body.query === "string",
    status: response.status,
    code: answer.errors?.[0]?.extensions?.code ?? null,
  });
  return response;
};

const sockets = createClient({
  url: url.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
});
const http = createPersistedQueryLink({
  sha256: (text) => createHash("sha256").update(text).digest("hex"),
  useGETForHashedQueries: true,
}).concat(new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` }, fetch: recordingFetch }));
const link = split(
  ({ query }) => getMainDefinition(query).operation === "subscription",
  new GraphQLWsLink(sockets),
  http,
);
const client = new ApolloClient({ link, cache: new InMemoryCache(bare ? {} : { typePolicies, possibleTypes }) });

const dashboard = operations.Dashboard.document;
const watched = client.watchQuery({ query: dashboard, variables: { ...range, first: 2 } });
let latest;
const updates = watched.subscribe({ next: (result) => (latest = result.data) });
const first = await watched.result();
const page1 = first.data.organization.campaigns.edges.map((e) => e.node.id);
await watched.fetchMore({ variables: { after: first.data.organization.campaigns.pageInfo.endCursor } });
const paged = client.readQuery({ query: dashboard, variables: { ...range, first: 2 } });
const afterFetchMore = paged.organization.campaigns.edges.map((e) => e.node.id);

// The subscription event lands in the dashboard's action log list through subscribeToMore.
let delivered;
let eventTarget = null; // the event names its object by global id, as the cache keys it
const arrived = new Promise((resolve) => (delivered = resolve));
watched.subscribeToMore({
  document: operations.ActionLogged.document,
  updateQuery(previous, { subscriptionData }) {
    const node = subscriptionData.data.actionLogged;
    eventTarget ??= node.target ? client.cache.identify(node.target) : null;
    delivered(node.id);
    const logs = previous.organization.actionLogs;
    if (logs.edges.some((edge) => edge.node.id === node.id)) return previous;
    // An event carries no cursor; paging on goes on from the list's endCursor.
    const edge = { __typename: "ActionLogEdge", cursor: null, node };
    return { ...previous, organization: { ...previous.organization, actionLogs: { ...logs, edges: [edge, ...logs.edges] } } };
  },
});
await within(10000, new Promise((resolve) => sockets.on("connected", resolve)), "graphql-ws connection");

// The same amount back: an action (logged, broadcast) that leaves the seed data as it was.
const target = first.data.organization.campaigns.edges[0].node;
let eventId;
for (let attempt = 0; attempt < 10 && eventId === undefined; attempt++) {
  const { data } = await client.mutate({
    mutation: operations.UpdateBudget.document,
    variables: { input: { campaignId: target.id, dailyBudget: target.dailyBudget.amount, idempotencyKey: randomUUID() } },
  });
  if (data.updateCampaignBudget.userErrors.length) throw new Error(JSON.stringify(data.updateCampaignBudget.userErrors));
  // The socket may still be subscribing when the first change commits: events are not replayed.
  eventId = await within(3000, arrived, "actionLogged").catch(() => undefined);
}
await new Promise((resolve) => setTimeout(resolve, 50)); // the watcher's broadcast after the cache write
const cachedLogs = latest.organization.actionLogs.edges.map((e) => e.node.id);
const campaign = client.cache.extract()[client.cache.identify(target)];

// A fragment on an interface (Node) matches through possibleTypes.
const daily = await client.query({ query: operations.CampaignDaily.document, variables: { id: target.id, ...range } });

// A second client's first request: the hash alone, over GET, which the gateway now knows.
const fresh = new ApolloClient({ link: http, cache: new InMemoryCache(bare ? {} : { typePolicies, possibleTypes }) });
const again = await fresh.query({ query: dashboard, variables: { ...range, first: 2 } });

updates.unsubscribe();
await sockets.dispose();
finish({
  page1,
  afterFetchMore,
  eventId,
  eventTarget,
  targetKey: client.cache.identify(target),
  cachedLogs,
  campaignBudget: campaign?.dailyBudget ?? null,
  campaignUpdatedAt: campaign?.updatedAt ?? null,
  againCampaigns: again.data.organization.campaigns.edges.length,
  daily: { id: daily.data.node?.id ?? null, days: daily.data.node?.dailyMetrics?.length ?? null },
  requests: sent,
});
