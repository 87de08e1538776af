// Apollo's persisted-query link against a gateway with automatic persisted queries off: the first
// hash is answered PersistedQueryNotSupported, the link sends the document, and hashes no more.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client/core/index.js";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { finish, operations, range, token, url } from "./harness.mjs";

loadDevMessages();
loadErrorMessages();

const sent = [];
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const body = JSON.parse(init.body);
  const answer = await response.clone().json();
  const code = answer.errors?.[0]?.extensions?.code ?? null;
  sent.push({ hashed: body.extensions?.persistedQuery !== undefined, query: typeof body.query === "string", code });
  return response;
};
const link = createPersistedQueryLink({ sha256: (text) => createHash("sha256").update(text).digest("hex") }).concat(
  new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` }, fetch: recordingFetch }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const variables = { ...range, first: 1 };
const answers = [];
for (const fetchPolicy of ["network-only", "network-only"]) {
  const { data } = await client.query({ query: operations.Dashboard.document, variables, fetchPolicy });
  answers.push(data.organization.campaigns.edges.length);
}
finish({ answers, requests: sent });
