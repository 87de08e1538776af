"""Reads of the Brain store (PostgreSQL), one module per domain.

Every statement filters by the organization (`$1`) on top of row-level
security, and every list ends its order on `id` so offsets are stable.
"""
