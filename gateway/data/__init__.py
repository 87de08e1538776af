"""The data-access layer: every SQL statement and MongoDB filter the schema runs for reads.

One module per domain owns its columns, filters, orderings, page queries and
dataloader batch functions; resolvers call these functions and wrap what they
return into GraphQL types. Nothing here imports the schema.
"""
