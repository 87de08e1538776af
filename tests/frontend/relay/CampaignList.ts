// Relay documents: a paginated @connection fragment (usePaginationFragment) and a @refetchable
// fragment (useRefetchableFragment) whose refetch query goes through `node(id:)`.
import { graphql } from "relay-runtime";

export const campaignList = graphql`
  fragment CampaignList_organization on Organization
  @refetchable(queryName: "CampaignListPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 20 }
    cursor: { type: "String" }
    from: { type: "Date!" }
    to: { type: "Date!" }
  ) {
    campaigns(first: $count, after: $cursor) @connection(key: "CampaignList_campaigns") {
      totalCount
      edges { node { id ...CampaignList_campaign @arguments(from: $from, to: $to) } }
    }
  }
`;

export const campaignRow = graphql`
  fragment CampaignList_campaign on Campaign
  @refetchable(queryName: "CampaignListRowRefetchQuery")
  @argumentDefinitions(from: { type: "Date!" }, to: { type: "Date!" }) {
    id
    name
    updatedAt
    dailyBudget { amount currency }
    performance(from: $from, to: $to) { spend { amount } roas }
  }
`;

export const campaignsPage = graphql`
  query CampaignListQuery($from: Date!, $to: Date!) {
    organization { ...CampaignList_organization @arguments(from: $from, to: $to) }
    node(id: "Q2FtcGFpZ246eA==") { ...CampaignList_campaign @arguments(from: $from, to: $to) }
  }
`;
