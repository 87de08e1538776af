// The documents a dashboard client is built with: GraphQL Code Generator types them and lists them
// in src/gql/persisted-documents.json, the manifest the gateway trusts.
import { graphql } from "./gql";

export const CampaignCardFragment = graphql(`
  fragment CampaignCard on Campaign {
    id
    name
    status
    startDate
    updatedAt
    dailyBudget { amount currency }
    channel { id platform }
    performance(from: $from, to: $to) { impressions clicks ctr roas spend { amount currency } revenue { amount currency } cpa { amount currency } }
  }
`);

export const DashboardQuery = graphql(`
  query Dashboard($from: Date!, $to: Date!, $first: Int!, $after: String) {
    viewer { subject kind roles }
    organization {
      id
      name
      campaigns(first: $first, after: $after) {
        totalCount
        countsByStatus { status count }
        edges { cursor node { ...CampaignCard } }
        pageInfo { hasNextPage endCursor }
      }
      performance(from: $from, to: $to) { currency impressions spend { amount currency } revenue { amount currency } roas }
      performanceComparison(from: $from, to: $to) {
        currency previousFrom previousTo
        spend { current { amount currency } previous { amount currency } change { amount currency } relativeChange }
        clicks { current previous change relativeChange }
        roas { current previous change relativeChange }
      }
      performanceBreakdown(from: $from, to: $to, by: CHANNEL, interval: WEEK) {
        period currency channel { id platform } performance { spend { amount currency } roas }
      }
      actionLogs(first: 5) { edges { cursor node { id action targetType targetId status createdAt } } pageInfo { hasNextPage endCursor } }
    }
  }
`);

export const CampaignDailyQuery = graphql(`
  query CampaignDaily($id: ID!, $from: Date!, $to: Date!) {
    node(id: $id) {
      ... on Node { id }
      ... on Campaign { name dailyBudget { amount } dailyMetrics(from: $from, to: $to) { date performance { clicks spend { amount currency } } } }
    }
  }
`);

export const UpdateBudgetMutation = graphql(`
  mutation UpdateBudget($input: UpdateCampaignBudgetInput!) {
    updateCampaignBudget(input: $input) {
      campaign { id dailyBudget { amount } updatedAt }
      actionLog { id action status createdAt }
      userErrors { code message field }
    }
  }
`);

export const ActionLoggedSubscription = graphql(`
  subscription ActionLogged {
    actionLogged { id action targetType targetId status createdAt target { __typename id } }
  }
`);
