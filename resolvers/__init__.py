"""The GraphQL schema, split by domain: common, enterprise (MongoDB), brain (PostgreSQL), actions."""
