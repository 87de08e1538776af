// Requests as a GraphQL Code Generator (or Relay) client with persisted documents sends them: the
// document's id, `sha256:<hash>` from the generated manifest, never its text; POST and GET.
import { finish, operations, range, token, url } from "./harness.mjs";

const headers = { authorization: `Bearer ${token}`, accept: "application/graphql-response+json" };
const variables = { ...range, first: 2 };

async function send(documentId, method) {
  const response =
    method === "GET"
      ? await fetch(`${url}?${new URLSearchParams({ documentId, variables: JSON.stringify(variables) })}`, { headers })
      : await fetch(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ documentId, variables }),
        });
  const body = await response.json();
  return {
    status: response.status,
    campaigns: body.data?.organization?.campaigns?.edges?.length ?? null,
    codes: (body.errors ?? []).map((e) => e.extensions?.code),
  };
}

const id = `sha256:${operations.Dashboard.hash}`;
finish({
  post: await send(id, "POST"),
  get: await send(id, "GET"),
  unknown: await send(`sha256:${"0".repeat(64)}`, "POST"),
});
