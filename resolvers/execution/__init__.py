"""Planned execution of read queries: each document planned once, run level by level over whole lists."""

from resolvers.execution.extension import PlannedExecution

__all__ = ["PlannedExecution"]
