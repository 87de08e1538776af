"""The data-access layer: the SQL statements and MongoDB filters behind the schema's fields.

One module per domain owns its columns, filters, orderings, page queries and
dataloader batch functions (and, for the Brain store, the mutations' statements);
resolvers call these functions and wrap what they return into GraphQL types.
Nothing here imports the schema.
"""
