"""Building GraphQL objects from rows cheaply, and what the planned executor may know about it.

A page builds one object (and one edge) per row, so each step is kept to a few C calls:

- `enum_reader(Enum)` reads a stored value as its member with one dict lookup, where
  `Enum(value)` goes through the enum metaclass's call; an unknown value still goes to the
  constructor, so it fails as before.
- `builder(Type)` is `Type(**fields)` without the class call: a function compiled once that
  makes the instance with `object.__new__` and stores each field, which is all a strawberry
  type's dataclass `__init__` does when it has no `__post_init__` and no default factories
  (otherwise the builder is the class itself).
- `row_builder(Type, field=derivation, ...)` is `Type.from_row`, declared field by field from
  a typed row. The declaration is kept: a page whose selection reads only such fields is
  written by the planned executor straight from the rows, and its store reads only the
  columns those fields derive from.
- `batched(resolver, batch)` gives a field a resolver for a whole level of objects, which the
  planned executor calls once where the standard one calls the field's resolver per object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, ParamSpec, TypeVar

E = TypeVar("E", bound=Enum)
P = ParamSpec("P")
T = TypeVar("T")


class _Members(dict[Any, Any]):
    def __init__(self, enum: type[Enum]) -> None:
        super().__init__((member.value, member) for member in enum)
        self.enum = enum

    def __missing__(self, value: Any) -> Any:
        return self.enum(value)


def enum_reader(enum: type[E]) -> Callable[[Any], E]:
    """The member of `enum` whose value a store holds (a dict lookup; like `enum(value)` otherwise)."""
    lookup: Callable[[Any], E] = _Members(enum).__getitem__
    return lookup


def reader_members(function: Callable[..., Any]) -> dict[Any, Enum] | None:
    """The members by stored value of an `enum_reader`; None for any other function."""
    members = getattr(function, "__self__", None)
    return dict(members) if isinstance(members, _Members) and members else None


def builder(cls: Callable[P, T]) -> Callable[P, T]:
    """`cls(**fields)` as one compiled function of the same keyword arguments, for types built per row."""
    called = cls
    assert isinstance(cls, type) and dataclasses.is_dataclass(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    plain = (
        hasattr(cls, "__post_init__")
        or cls.__setattr__ is not object.__setattr__
        or any(f.default_factory is not dataclasses.MISSING for f in dataclasses.fields(cls))
    )
    if plain:
        return called
    assert not {"_new", "_cls", "_obj"} & {f.name for f in fields}, "the builder's own names"
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params = []
    for f in fields:
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    lines = [f"def build(*, {', '.join(params)}):", " _obj = _new(_cls)"]
    lines += [f" _obj.{f.name} = {f.name}" for f in fields]
    lines.append(" return _obj")
    exec(compile("\n".join(lines), f"<{cls.__name__} builder>", "exec"), namespace)
    built: Callable[P, T] = namespace["build"]
    return built


# How one field of a GraphQL type derives from a typed row: the row attribute as it is, or
# a function of one or more attributes (e.g. `(Money.of, "daily_budget", "currency")`).
Derivation = str | tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class RowMapping:
    """A type built from rows field by field, so the planned executor can write responses straight from rows."""

    cls: type
    build: Callable[[Any], Any]
    fields: dict[str, tuple[Callable[..., Any] | None, tuple[str, ...]]]


_MAPPINGS: dict[type, RowMapping] = {}


def row_builder(cls: type[T], **fields: Derivation) -> Callable[[Any], T]:
    """`row -> cls` (compiled like `builder`), each field of `cls` named with how it derives from the row.

    Every field the type's constructor takes must be named. A function is not applied
    to a missing value: the field is None when an attribute it derives from is None
    (a nullable column, or one a page did not read, see `row_fields` of the planned
    executor). The mapping is kept (`row_mapping`): a page of such objects whose
    selection reads only these fields is answered from the rows without building the objects.
    """
    assert dataclasses.is_dataclass(cls) and builder(cls) is not cls, f"{cls.__name__} is built field by field"
    wanted = {f.name for f in dataclasses.fields(cls) if f.init}
    assert wanted == set(fields), f"{cls.__name__}: row_builder must name exactly {sorted(wanted)}"
    derived: dict[str, tuple[Callable[..., Any] | None, tuple[str, ...]]] = {}
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def build(row):", " _obj = _new(_cls)"]
    for index, (name, how) in enumerate(fields.items()):
        if isinstance(how, str):
            derived[name] = (None, (how,))
            lines.append(f" _obj.{name} = row.{how}")
            continue
        function, *attributes = how
        assert callable(function) and attributes and all(isinstance(a, str) for a in attributes)
        derived[name] = (function, tuple(attributes))
        namespace[f"_f{index}"] = function
        reads = [f"row.{a}" for a in attributes]
        missing = " or ".join(f"{r} is None" for r in reads)
        lines.append(f" _obj.{name} = None if {missing} else _f{index}({', '.join(reads)})")
    lines.append(" return _obj")
    exec(compile("\n".join(lines), f"<{cls.__name__}.from_row>", "exec"), namespace)
    build: Callable[[Any], T] = namespace["build"]
    _MAPPINGS[cls] = RowMapping(cls, build, derived)
    return build


def row_mapping(cls: type) -> RowMapping | None:
    """How `cls` is built from rows, when it is (see `row_builder`)."""
    return _MAPPINGS.get(cls)


# A field's resolver for many objects at once: called with the objects (as `sources`) and the
# resolver's own other arguments, it returns one value or exception per object, in order.
Batch = Callable[..., Awaitable[list[Any]]]
_BATCHES: dict[Callable[..., Any], Batch] = {}


def batched(resolver: Callable[..., Any], batch: Batch) -> None:
    """Declare `batch` as a field's resolver over a whole level of objects, for the planned executor.

    `resolver` is the field's resolver function as the class holds it (`Campaign.performance`).

    The standard executor calls the field's own resolver per object; the planned
    one calls `batch` once for all the objects of a level that select the field.
    `batch` must answer for each object what the resolver would: the same value,
    or the same exception.
    """
    _BATCHES[resolver] = batch


def batch_of(resolver: Callable[..., Any]) -> Batch | None:
    """The batch declared for a field's resolver function (see `batched`)."""
    return _BATCHES.get(resolver)


def row_fields(info: Any) -> frozenset[str] | None:
    """Which fields of its rows a connection field's page is read by; None: all of them (or not known).

    Known on the planned path when the page's edges are written straight from the rows
    (its resolve info answers `row_fields()`): the store then reads only those columns.
    The standard executor's info does not know, and every column is read.
    """
    known = getattr(info, "row_fields", None)
    found: frozenset[str] | None = known() if callable(known) else None
    return found
