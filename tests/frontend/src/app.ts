// What a typed client does with the generated documents; `tsc --strict` must accept it as written.
import type { ResultOf, VariablesOf } from "@graphql-typed-document-node/core";
import { ActionLoggedSubscription, DashboardQuery, UpdateBudgetMutation } from "./documents";
import { identitylessTypes } from "./gql/identityless";
import persisted from "./gql/persisted-documents.json";

type Dashboard = ResultOf<typeof DashboardQuery>;

export function budgets(data: Dashboard): string[] {
  const campaigns = data.organization?.campaigns?.edges ?? [];
  return campaigns.map(({ node }) => `${node.name}: ${node.dailyBudget.amount} ${node.dailyBudget.currency}`);
}

export function since(data: Dashboard): Date | null {
  const first = data.organization?.actionLogs?.edges[0]?.node.createdAt;
  return first === undefined ? null : new Date(first); // DateTime is an RFC 3339 string
}

export const variables: VariablesOf<typeof UpdateBudgetMutation> = {
  input: { campaignId: "Q2FtcGFpZ246eA==", dailyBudget: "1250.50", idempotencyKey: "budget-1" },
};

export function documentId(document: unknown): string {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (hash === undefined || !(hash in persisted)) throw new Error("the document is not in the manifest");
  return `sha256:${hash}`;
}

export const embedded: readonly string[] = identitylessTypes;
export const subscription = ActionLoggedSubscription;
