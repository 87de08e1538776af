"""Selection sets compiled into Python functions that build response dicts directly.

For each planned selection set, the fields whose values are plain attribute
reads (leaves, objects and lists of them, down to any depth, as long as no
resolver runs below) are written out as the straight-line source of one
function, compiled once with the plan. Called with a source object and its
empty response dict, the function fills every key in selection order (the
others get a `None` placeholder for the general path to overwrite) and
returns True, or returns False as soon as it meets anything the fast path
does not decide alone: a `None` in a non-null position, a value of another
Python type than the usual one, an enum member not seen before, an object
that is not exactly its type's class, any exception. The caller then clears
the dict and runs the object through the general path, which raises and
locates the errors as graphql-core does. Attribute reads and leaf
serialisation have no side effects, so doing them twice is harmless.
"""

from __future__ import annotations

from resolvers.common.objects import row_mapping
from resolvers.execution.from_rows import RowWriter
from resolvers.execution.in_postgres import compile_field
from resolvers.execution.plan import ATTRIBUTE, DIRECT, TYPENAME, Allowance, Fast, FieldPlan, SelectionPlan
from resolvers.execution.writer import SubPlan, class_check, origin_of


def compile_plan(plan: SelectionPlan, subplan: SubPlan, allowance: Allowance) -> None:
    """Set `plan.fast` (None when no field is inline, or the document may compile no more)
    and `plan.general` (the fields left to the general path)."""
    writer = _Writer(subplan, allowance)
    for field in plan.fields:
        if field.kind == DIRECT:
            field.written = compile_field(field, subplan)
    inline = [writer.inline(field) for field in plan.fields]
    plan.fast = writer.function(plan, inline) if any(inline) else None
    plan.general = [field for field, done in zip(plan.fields, inline, strict=True) if not done or plan.fast is None]
    exact = class_check(plan.type)
    plan.exact_class = exact if isinstance(exact, type) else None
    if plan.fast is None:
        return  # edges are built as objects, from every column
    # A type built from rows or documents: the selection written straight from one (a batched field's rows).
    origin = origin_of(plan.type)
    mapping = row_mapping(origin) if origin is not None and exact is not False else None
    if mapping is not None and writer.mapped_inline(plan, mapping):
        plan.from_source = writer.from_source(plan, mapping)
    plan.deferred = [(e.field, e.node_field, e.rest) for e in writer.deferred if e.rest is not None]
    fused = [writer.row_edges_of[id(f)] for f in plan.fields if id(f) in writer.row_edges_of]
    # The page may read fewer columns only when nothing else of the connection reads its rows
    # (`edges` selected again with a resolver below builds items from every column).
    others = [f for f in plan.fields if id(f) not in writer.row_edges_of and f.kind != TYPENAME]
    if fused and all(_reads_no_rows(origin, f) for f in others) and all(e.mapping.rows for e in fused):
        read = [e.columns() for e in fused]
        plan.row_fields = None if None in read else frozenset(c for columns in read if columns for c in columns)


class _Writer(RowWriter):
    def inline(self, field: FieldPlan) -> bool:
        if field.kind == TYPENAME:
            return True
        if field.kind == DIRECT:
            return self.row_edges(field) is not None
        return field.kind == ATTRIBUTE and self.completes_inline(field, field.completion)

    def function(self, plan: SelectionPlan, inline: list[bool]) -> Fast | None:
        lines = ["def fast(src, out, later=None):", " try:"]
        for field, done in zip(plan.fields, inline, strict=True):
            key = repr(field.key)
            if not done:
                lines.append(f"  out[{key}] = None")
            elif field.kind == TYPENAME:
                lines.append(f"  out[{key}] = {plan.type_name!r}")
            elif field.kind == DIRECT:
                lines.extend(self.edges_from_rows(field, f"out[{key}]"))
            else:
                lines.append(f"  v = src.{field.attribute}")
                lines.extend(self.value(field, field.completion, "v", f"out[{key}]", "  "))
        lines += ["  return True", " except Exception:", "  return False"]
        return self.compiled(lines, f"<compiled {plan.type_name} selection>", len(plan.fields))


def _reads_no_rows(connection: type | None, field: FieldPlan) -> bool:
    """Whether the connection's type declares the field as one that reads none of its rows
    (`resolvers.common.relay.Connection.fields_without_rows`)."""
    declared: frozenset[str] = getattr(connection, "fields_without_rows", frozenset())
    name = field.call.field.python_name if field.call is not None else field.attribute
    return name in declared
