"""Reads of the enterprise store (MongoDB), one module per domain.

Every call goes through `TenantMongo`, which scopes it to the caller's
organization: an id of another organization simply is not found. Every sort
ends on `_id`, so equal keys keep one order across pages. Documents come back
as stored (dicts); the GraphQL types read them.
"""
