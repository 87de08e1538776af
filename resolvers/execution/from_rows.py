"""Selections written straight from rows and documents, without building the objects they would become.

A type built field by field from a typed row or a stored document (`row_builder`,
`doc_builder`) keeps that declaration (`RowMapping`), and a compiled selection uses it:

- the edges of a connection whose items are built that way are written from its page's rows,
  with the same functions the builder applies, without an edge or item object; the item's
  fields the rows cannot answer (resolvers) are left to the general path, over an item built
  from the row (only with the attributes their batches read, when they declare them);
- a selection of such a type is written from one row (`from_source`): the rows a batched
  field answers (`batched_field(..., rows=...)`);
- a field derived by a composed function (`Money.of`) is written from the values the
  function would be called with, without the object.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resolvers.common.objects import (
    KEY,
    Composed,
    Derived,
    RowMapping,
    composition,
    is_total,
    partial_builder,
    row_mapping,
)
from resolvers.common.relay import CONNECTION_EDGES, EDGE_CURSOR
from resolvers.execution.plan import ATTRIBUTE, DIRECT, OBJECT, TYPENAME, Allowance, Fast, FieldPlan, SelectionPlan
from resolvers.execution.writer import SubPlan, Writer, class_check, origin_of, stored_outputs


@dataclass(frozen=True)
class _RowEdges:
    """A connection's `edges` written straight from its page's rows (see `_Writer.row_edges`).

    `rest`: the item's fields the rows cannot answer (resolvers), run on the general path
    over an item object built from the row; None when there are none.
    """

    mapping: RowMapping
    field: FieldPlan
    edge: SelectionPlan
    node_field: FieldPlan
    node: SelectionPlan
    rest: SelectionPlan | None

    def reads(self) -> frozenset[str] | None:
        """The item attributes the fields of `rest` read, when they all declare it (batches); else None."""
        found = set[str]()
        for f in self.rest.fields if self.rest is not None else ():
            reads = f.batch_reads if f.batch is not None else None
            if reads is None or any(a not in self.mapping.fields for a in reads):
                return None
            found.update(reads)
        return frozenset(found)

    def item_builder(self) -> Callable[[Any], Any]:
        """What builds the item the fields of `rest` run over: only the attributes they read, when known."""
        reads = self.reads()
        return self.mapping.build if reads is None else partial_builder(self.mapping, reads)

    def columns(self) -> frozenset[str] | None:
        """The row fields the items read; None when a resolver of `rest` may read any."""
        mapping, found = self.mapping, set[str]()
        for f in self.node.fields:
            if (
                f.kind == ATTRIBUTE
                and f.attribute in mapping.fields
                and (self.rest is None or f not in self.rest.fields)
            ):
                found.update(mapping.fields[f.attribute].columns)
        reads = self.reads()
        if reads is None:
            return None
        for attribute in reads:
            found.update(mapping.fields[attribute].columns)
        return frozenset(found)


class RowWriter(Writer):
    """A `Writer` that also writes selections from rows and documents."""

    def __init__(self, subplan: SubPlan, allowance: Allowance) -> None:
        super().__init__(subplan, allowance)
        self.row_edges_of: dict[int, _RowEdges] = {}
        self.deferred: list[_RowEdges] = []  # pages whose items have fields left to the general path

    def row_edges(self, field: FieldPlan) -> _RowEdges | None:
        """For `edges` of a connection whose items are built by a `row_builder` and selected by its fields only.

        Then each edge and item is written from the row, with the same functions
        the row builder applies, and no edge or item object is built. The standard
        executor would build the objects with the type's own class, so skipping
        their `is_type_of` changes nothing.
        """
        found = self.row_edges_of.get(id(field))
        if found is not None:
            return found
        call, item = field.call, field.completion.item
        if call is None or call.resolver is not CONNECTION_EDGES or item is None or item.kind != OBJECT:
            return None
        if class_check(item.type) is False:
            return None
        edge = self.subplan(field, item, item.type)
        nodes = [f for f in edge.fields if f.kind == ATTRIBUTE and f.attribute == "node"]
        for f in edge.fields:
            cursor = f.kind == DIRECT and f.call is not None and f.call.resolver is EDGE_CURSOR
            if f.kind != TYPENAME and not cursor and f not in nodes:
                return None
        if len(nodes) != 1 or nodes[0].completion.kind != OBJECT:
            return None
        node_field, node_completion = nodes[0], nodes[0].completion
        origin = class_check(node_completion.type)
        mapping = row_mapping(origin) if isinstance(origin, type) else None
        if mapping is None:
            return None
        node = self.subplan(node_field, node_completion, node_completion.type)
        left = [f for f in node.fields if f.kind != TYPENAME and not self.mapped_field_inline(f, mapping)]
        rest = None
        if left:
            # The item's other fields run on the general path, over the item built from its row.
            rest = copy.copy(node)
            rest.fast, rest.fields, rest.general, rest.deferred = None, left, left, []
        found = self.row_edges_of[id(field)] = _RowEdges(mapping, field, edge, node_field, node, rest)
        return found

    def mapped_field_inline(self, field: FieldPlan, mapping: RowMapping) -> bool:
        derived = mapping.fields.get(field.attribute) if field.kind == ATTRIBUTE else None
        if derived is None:
            return False
        return self.composed_of(field, derived) is not None or self.completes_inline(field, field.completion)

    def mapped_inline(self, plan: SelectionPlan, mapping: RowMapping) -> bool:
        """Whether every field of `plan` derives from the mapping's source and completes without the general path."""
        return all(f.kind == TYPENAME or self.mapped_field_inline(f, mapping) for f in plan.fields)

    def composed_of(self, field: FieldPlan, derived: Derived) -> Composed | None:
        """The composition a field's value is made by, when its selection reads only the composed fields."""
        composed = composition(derived.function)
        completion = field.completion
        if composed is None or completion.kind != OBJECT or origin_of(completion.type) is not composed.cls:
            return None
        if class_check(completion.type) is False:
            return None
        if any(index >= len(derived.sources) for _, index in composed.fields.values()):
            return None
        plan = self.subplan(field, completion, completion.type)
        for f in plan.fields:
            if f.kind == TYPENAME:
                continue
            if f.kind != ATTRIBUTE or f.attribute not in composed.fields or not self.completes_inline(f, f.completion):
                return None
        return composed

    def edges_from_rows(self, field: FieldPlan, target: str) -> list[str]:
        """Lines that write a connection's edges from its page's rows, or return False."""
        fused = self.row_edges_of[id(field)]
        mapping = fused.mapping
        lines = [f"  if src.build is not {self.name(mapping.build)}: return False"]  # built another way
        if fused.rest is not None:
            # Only the runner's levels take the items left to the general path (`later`).
            lines.append("  if later is None: return False")
            self.deferred.append(fused)
        lines += ["  _page = src.page", "  _edges = []", "  for _i, _row in enumerate(_page.rows):", "   _edge = {}"]
        for edge_field in fused.edge.fields:
            key = repr(edge_field.key)
            if edge_field.kind == TYPENAME:
                lines.append(f"   _edge[{key}] = {fused.edge.type_name!r}")
            elif edge_field.kind == DIRECT:  # the cursor
                lines.append("   _cursor = _page.cursor(_i)")
                lines.extend(self.value(edge_field, edge_field.completion, "_cursor", f"_edge[{key}]", "   "))
            else:
                lines.append("   _node = {}")
                lines += self.mapped_fields(fused.node, mapping, "_row", "_node", "   ", fused.rest)
                lines.append(f"   _edge[{key}] = _node")
                if fused.rest is not None:
                    which, build = len(self.deferred) - 1, self.name(fused.item_builder())
                    lines.append(f"   later.append(({which}, _i, _edges, _edge, _node, {build}(_row)))")
        lines += ["   _edges.append(_edge)", f"  {target} = _edges"]
        return lines

    def mapped_fields(
        self,
        plan: SelectionPlan,
        mapping: RowMapping,
        source: str,
        out: str,
        indent: str,
        rest: SelectionPlan | None = None,
    ) -> list[str]:
        """Lines that write `plan`'s fields into the dict `out` straight from the row or document `source`.

        The fields of `rest` get a placeholder, keeping the key order, for the general path to fill.
        """
        lines = []
        for field in plan.fields:
            key = repr(field.key)
            if field.kind == TYPENAME:
                lines.append(f"{indent}{out}[{key}] = {plan.type_name!r}")
                continue
            if rest is not None and field in rest.fields:
                lines.append(f"{indent}{out}[{key}] = None")
                continue
            derived = mapping.fields[field.attribute]
            target = f"{out}[{key}]"
            reads = [s.expression(source, self.name) for s in derived.sources]
            outputs = stored_outputs(derived.function, field.completion)
            if outputs is not None and len(reads) == 1:
                # A stored enum value straight to its output (a value it does not know: KeyError, general path).
                lookup = f"{self.name(outputs)}[{reads[0]}]"
                if derived.skip_none and field.completion.nullable:
                    lookup = f"None if {reads[0]} is None else {lookup}"
                lines.append(f"{indent}{target} = {lookup}")
                continue
            composed = self.composed_of(field, derived)
            if composed is not None:
                lines += self.composed(field, derived, composed, reads, target, indent)
                continue
            # As the builder does (for rows: a function is not applied to a missing value).
            lines.append(f"{indent}_value = {derived.expression(source, self.name)}")
            lines.extend(self.value(field, field.completion, "_value", target, indent))
        if not mapping.rows and rest is None:
            lines += self.unselected(plan, mapping, source, indent)
        return lines

    def unselected(self, plan: SelectionPlan, mapping: RowMapping, source: str, indent: str) -> list[str]:
        """For documents: read what the builder would read for the fields not selected, where that can fail.

        A document is not held to a schema as a row is, and the standard executor builds
        every field of the object: a missing key or a value the type's functions refuse
        must fail here too (the general path then raises the same error), not pass unseen.
        """
        selected = {f.attribute for f in plan.fields if f.kind == ATTRIBUTE}
        lines = []
        for name, derived in mapping.fields.items():
            if name in selected:
                continue
            if derived.function is None or is_total(derived.function):
                reads = [s.expression(source, self.name) for s in derived.sources if s.kind == KEY]
                lines += [f"{indent}{read}" for read in reads]  # a KeyError when the key is missing
            else:
                lines.append(f"{indent}{derived.expression(source, self.name)}")
        return lines

    def composed(
        self, field: FieldPlan, derived: Derived, composed: Composed, reads: list[str], target: str, indent: str
    ) -> list[str]:
        """Lines that write a composed value's selected fields from the arguments it would be built with."""
        self.serial += 1
        args = [f"_a{self.serial}_{i}" for i in range(len(reads))]
        lines = [f"{indent}{a} = {r}" for a, r in zip(args, reads, strict=True)]
        inner = indent
        if derived.skip_none:
            null = f"{target} = None" if field.completion.nullable else "return False"
            lines += [f"{indent}if {' or '.join(f'{a} is None' for a in args)}:", f"{indent} {null}", f"{indent}else:"]
            inner = indent + " "
        plan = self.subplan(field, field.completion, field.completion.type)
        built = f"_o{self.serial}"
        lines.append(f"{inner}{built} = {{}}")
        for f in plan.fields:
            if f.kind == TYPENAME:
                lines.append(f"{inner}{built}[{f.key!r}] = {plan.type_name!r}")
                continue
            function, index = composed.fields[f.attribute]
            read = args[index] if function is None else f"{self.name(function)}({args[index]})"
            lines.append(f"{inner}_value = {read}")
            lines += self.value(f, f.completion, "_value", f"{built}[{f.key!r}]", inner)
        lines.append(f"{inner}{target} = {built}")
        return lines

    def from_source(self, plan: SelectionPlan, mapping: RowMapping) -> Fast | None:
        """A function that writes `plan`'s fields from one row or document of the mapping, or returns False."""
        lines = ["def fast(src, out, later=None):", " try:"]
        lines += self.mapped_fields(plan, mapping, "src", "out", "  ")
        lines += ["  return True", " except Exception:", "  return False"]
        return self.compiled(lines, f"<{plan.type_name} selection from rows>", len(plan.fields))
