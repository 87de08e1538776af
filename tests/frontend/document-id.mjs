// Requests as a GraphQL Code Generator (or Relay) client with persisted documents sends them: the
// document's id, `sha256:<hash>` from the generated manifest, never its text; POST and GET.
import { readFileSync } from "node:fs";
import { finish, operations, range, token, url } from "./harness.mjs";

const headers = { authorization: `Bearer ${token}`, accept: "application/graphql-response+json" };
const dashboard = { ...range, first: 2 };

async function send(documentId, method, variables = dashboard) {
  const response =
    method === "GET"
      ? await fetch(`${url}?${new URLSearchParams({ documentId, variables: JSON.stringify(variables) })}`, { headers })
      : await fetch(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ documentId, variables }),
        });
  const body = await response.json();
  const organization = body.data?.organization ?? body.data?.node;
  return {
    status: response.status,
    organization: organization?.id ?? null,
    campaigns: organization?.campaigns?.edges?.length ?? null,
    codes: (body.errors ?? []).map((e) => e.extensions?.code),
  };
}

// Relay's compiler persists its queries the same way (persistConfig, SHA256): the pagination query.
const relay = JSON.parse(readFileSync(new URL("build/relay-persisted.json", import.meta.url), "utf8"));
const [paginationId] = Object.entries(relay).find(([, text]) => text.startsWith("query CampaignListPaginationQuery"));

const id = `sha256:${operations.Dashboard.hash}`;
const post = await send(id, "POST");
finish({
  post,
  get: await send(id, "GET"),
  relay: await send(`sha256:${paginationId}`, "POST", { ...range, count: 3, id: post.organization }),
  unknown: await send(`sha256:${"0".repeat(64)}`, "POST"),
});
