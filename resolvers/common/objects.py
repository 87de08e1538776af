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
  a typed row (`doc_builder` the same from a stored document). The declaration is kept: a
  page whose selection reads only such fields is written by the planned executor straight
  from the rows or documents, and a PostgreSQL page reads only the columns those fields
  derive from. `composed(Money.of, Money, ...)` declares a value type built from arguments,
  so a field derived by it (`spend=(Money.of, "spend", "currency")`) is written from the
  row's values too.
- `batched_field(Type, rows=...)` defines a field by its resolver for a whole level of objects;
  the standard executor's resolver per object is derived from it. `rows`: it answers rows.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, ParamSpec, TypeVar

import strawberry

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


# --- mappings: how a type's fields derive from what a store returned ---------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one value is read from a row or document: an attribute, a key, `.get` with a default, or the whole."""

    kind: str  # ATTRIBUTE, KEY, GET or WHOLE
    name: str = ""
    default: Any = None

    def expression(self, var: str, name_of: Callable[[Any], str]) -> str:
        """The Python source reading this value from the object named `var` (`name_of` names a constant)."""
        if self.kind == ATTRIBUTE:
            return f"{var}.{self.name}"
        if self.kind == KEY:
            return f"{var}[{self.name!r}]"
        if self.kind == GET:
            default = "" if self.default is None else f", {name_of(self.default)}"
            return f"{var}.get({self.name!r}{default})"
        return var


ATTRIBUTE, KEY, GET, WHOLE_KIND = "attribute", "key", "get", "whole"
WHOLE = Source(WHOLE_KIND)


def attribute(name: str) -> Source:
    """The attribute `name` of the source object (a typed row's column, a dataclass field)."""
    assert name.isidentifier(), name
    return Source(ATTRIBUTE, name)


def get(name: str, default: Any = None) -> Source:
    """`document.get(name, default)`: a key that may be missing."""
    return Source(GET, name, default)


# How one field derives from its source: read as it is (a column, a key, a `Source`), or a
# function of one or more such reads (e.g. `(Money.of, "daily_budget", "currency")`).
Derivation = str | Source | tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Derived:
    """How one field derives: `function(*sources)`, or the one source as it is when there is no function.

    With `skip_none` (typed rows) the function is not applied when a value read is
    None: the field is None (a nullable column, or a column a page did not read).
    """

    function: Callable[..., Any] | None
    sources: tuple[Source, ...]
    skip_none: bool

    @property
    def columns(self) -> tuple[str, ...]:
        """The attributes read (for a typed row: the columns the field needs)."""
        return tuple(s.name for s in self.sources if s.kind == ATTRIBUTE)

    def expression(self, var: str, name_of: Callable[[Any], str]) -> str:
        reads = [s.expression(var, name_of) for s in self.sources]
        if self.function is None:
            return reads[0]
        call = f"{name_of(self.function)}({', '.join(reads)})"
        if not self.skip_none:
            return call
        return f"None if {' or '.join(f'{r} is None' for r in reads)} else {call}"


@dataclasses.dataclass(frozen=True)
class RowMapping:
    """A type built from rows or documents field by field, so the planned executor can write answers from them.

    `rows`: the sources are typed rows, whose unread columns a page may leave NULL.
    """

    cls: type
    build: Callable[[Any], Any]
    fields: dict[str, Derived]
    rows: bool


_MAPPINGS: dict[type, RowMapping] = {}


def _derived(how: Any, reading: Callable[[str], Source], skip_none: bool) -> Derived:
    if isinstance(how, str | Source):
        return Derived(None, (reading(how) if isinstance(how, str) else how,), skip_none)
    function, *sources = how
    assert callable(function) and sources, how
    read = tuple(reading(s) if isinstance(s, str) else s for s in sources)
    assert all(isinstance(s, Source) for s in read), how
    return Derived(function, read, skip_none)


def _compile_builder(cls: type, derived: dict[str, Derived], label: str) -> Callable[[Any], Any]:
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}

    def name_of(value: Any) -> str:
        name = f"_c{len(namespace)}"
        namespace[name] = value
        return name

    lines = ["def build(row):", " _obj = _new(_cls)"]
    lines += [f" _obj.{name} = {how.expression('row', name_of)}" for name, how in derived.items()]
    lines.append(" return _obj")
    exec(compile("\n".join(lines), f"<{cls.__name__} {label}>", "exec"), namespace)
    build: Callable[[Any], Any] = namespace["build"]
    return build


def _mapped(cls: type[T], fields: dict[str, Any], reading: Callable[[str], Source], rows: bool) -> Callable[[Any], T]:
    assert dataclasses.is_dataclass(cls) and builder(cls) is not cls, f"{cls.__name__} is built field by field"
    wanted = {f.name for f in dataclasses.fields(cls) if f.init}
    assert wanted == set(fields), f"{cls.__name__}: the mapping must name exactly {sorted(wanted)}"
    derived = {name: _derived(how, reading, skip_none=rows) for name, how in fields.items()}
    build: Callable[[Any], T] = _compile_builder(cls, derived, "from its source")
    _MAPPINGS[cls] = RowMapping(cls, build, derived, rows)
    return build


_PARTIAL: dict[tuple[type, frozenset[str]], Callable[[Any], Any]] = {}


def partial_builder(mapping: RowMapping, names: frozenset[str]) -> Callable[[Any], Any]:
    """`source -> cls` with only the fields `names` set, for resolvers declared to read only those.

    A page written from rows builds its items only for the fields left to the general
    path; when those are batches that declare what they read (`batched_field(..., reads=...)`),
    the rest of the object is not computed (its global id, its enums, ...).
    """
    found = _PARTIAL.get((mapping.cls, names))
    if found is None:
        derived = {name: how for name, how in mapping.fields.items() if name in names}
        assert set(derived) == names, f"{mapping.cls.__name__} has no fields {sorted(names - set(derived))}"
        found = _PARTIAL[(mapping.cls, names)] = _compile_builder(mapping.cls, derived, f"with {sorted(names)}")
    return found


def row_builder(cls: type[T], **fields: Derivation) -> Callable[[Any], T]:
    """`row -> cls` (compiled like `builder`), each field of `cls` named with how it derives from a typed row.

    A field is a column (`"name"`) or a function of columns (`(Money.of, "daily_budget",
    "currency")`). Every field the type's constructor takes must be named. A function is
    not applied to a missing value: the field is None when a column it derives from is
    None (a nullable column, or one a page did not read, see `row_fields`). The mapping
    is kept (`row_mapping`): a page of such objects, or a batched field's rows, whose
    selection reads only these fields is answered from the rows without building objects.
    """
    return _mapped(cls, fields, attribute, rows=True)


def doc_builder(cls: type[T], **fields: Derivation) -> Callable[[Any], T]:
    """`document -> cls`, each field of `cls` named with how it derives from a stored document.

    A field is a key (`"name"`: `doc["name"]`, missing is an error), a `get("key",
    default)`, an `attribute("name")` (for sources that are objects), `WHOLE`, or a
    function of those (`(bool, get("enabled", True))`), applied to what is read, None
    included: exactly what a hand-written `from_doc` would do. The mapping is kept, as
    `row_builder`'s is, for pages answered straight from the documents.
    """
    return _mapped(cls, fields, lambda name: Source(KEY, name), rows=False)


def row_mapping(cls: type) -> RowMapping | None:
    """How `cls` is built from rows or documents, when it is (see `row_builder`, `doc_builder`)."""
    return _MAPPINGS.get(cls)


# Functions that return for any value a source can hold (they cannot fail), see `total`.
_TOTAL: set[Any] = {bool, str}


def total(function: Callable[..., T]) -> Callable[..., T]:
    """Mark `function` as one that never raises: a page written from documents need not call it for a
    field that is not selected to find out whether the standard executor's object would fail there."""
    _TOTAL.add(function)
    return function


def is_total(function: Callable[..., Any]) -> bool:
    try:
        return function in _TOTAL
    except TypeError:  # unhashable
        return False


@dataclasses.dataclass(frozen=True)
class Composed:
    """A function that builds `cls` from its arguments, each field a function of one argument (by position)."""

    cls: type
    fields: dict[str, tuple[Callable[..., Any] | None, int]]


_COMPOSED: dict[Any, Composed] = {}


def composed(function: Callable[..., Any], cls: type, **fields: tuple[Callable[..., Any] | None, int]) -> None:
    """Declare that `function(*args)` is `cls` with each field `f(args[i])` (`(None, i)`: the argument itself).

    A field of a mapped type derived by such a function (`spend=(Money.of, "spend",
    "currency")`) is then written straight from the row's values when its selection
    reads only these fields: no object is built for it.
    """
    wanted = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    assert wanted == set(fields), f"{cls.__name__}: composed must name exactly {sorted(wanted)}"
    _COMPOSED[function] = Composed(cls, dict(fields))


def composition(function: Callable[..., Any] | None) -> Composed | None:
    """What `composed` declared for `function` (a bound classmethod is found by equality)."""
    return None if function is None else _COMPOSED.get(function)


# A field's resolver for many objects at once (`sources`, then the field's arguments): one value or exception each.
Batch = Callable[..., Awaitable[list[Any]]]


@dataclasses.dataclass(frozen=True)
class Batched:
    """A field's batch, and when it answers rows rather than objects, the row builder of its type."""

    call: Batch
    rows: Callable[[Any], Any] | None = None
    reads: tuple[str, ...] | None = None


_BATCHES: dict[Callable[..., Any], Batched] = {}


def batched_field(
    answer: Any,
    *,
    rows: Callable[[Any], Any] | None = None,
    reads: tuple[str, ...] | None = None,
    **options: Any,
) -> Callable[[Batch], Any]:
    """A field defined once, by its batch: `batch(sources, <the field's arguments>)` answers, in
    order, a value or an exception per object of a whole level. `answer` is the field's type (a class, or the name of one defined later in the module);
    `options` are `strawberry.field`'s; the arguments are the batch's parameters after `sources`.
    The planned executor calls the batch once per level (`batch_of`), the standard one the
    resolver derived here per object (the batch for `[self]`): one code answers both, so a
    check in it holds on both paths. With `rows` (the type's `row_builder`) the batch answers
    rows, written straight out when the selection reads only mapped fields. `reads`: the
    attributes of the objects it reads (`("raw_id",)`), so that a page written from rows with
    this field beside them reads only the columns it needs.
    """

    def define(batch: Batch) -> Any:
        resolver = _per_object(batch, answer, rows)
        _BATCHES[resolver] = Batched(batch, rows, reads)
        return strawberry.field(resolver=resolver, **options)

    return define


def _per_object(batch: Batch, answer: Any, rows: Callable[[Any], Any] | None) -> Callable[..., Any]:
    """The resolver of one object the standard executor calls: `batch([self], ...)`'s one answer."""
    if rows is not None and isinstance(answer, type):  # `rows` must be the answer type's row builder
        assert getattr(row_mapping(answer), "build", None) is rows, answer

    async def resolve(self: Any, **arguments: Any) -> Any:
        found = (await batch([self], **arguments))[0]
        if isinstance(found, Exception):
            raise found
        return found if rows is None else rows(found)

    # Strawberry reads the arguments from the signature (resolved in its module): the batch's, `self` for `sources`.
    _, *parameters = inspect.signature(batch).parameters.values()
    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *parameters], return_annotation=answer
    )
    resolve.__module__, resolve.__name__, resolve.__qualname__ = batch.__module__, batch.__name__, batch.__qualname__
    return resolve


def batch_of(resolver: Callable[..., Any]) -> Batched | None:
    """The batch a field's resolver function was derived from (see `batched_field`)."""
    return _BATCHES.get(resolver)


# Fields whose value PostgreSQL can write as JSON text (see `resolvers.execution.in_postgres`): a
# connection field and the list it pages (`gateway.data.brain.json_text.PageSource`), or a batched
# totals field and its per-object totals (`json_text.TotalsSource`).
_IN_POSTGRES: dict[Callable[..., Any], Any] = {}


def written_in_postgres(resolver: Callable[..., Any], source: Any) -> None:
    """Declare what a field's resolver reads, so that PostgreSQL may write its answer as JSON text.

    The declaration must describe the resolver exactly: the same list in the same default
    order (a page), or the same totals (a batched field's rows).
    """
    _IN_POSTGRES[resolver] = source


def in_postgres(resolver: Callable[..., Any]) -> Any:
    """What `written_in_postgres` declared for a resolver, or None."""
    return _IN_POSTGRES.get(resolver)


def row_fields(info: Any) -> frozenset[str] | None:
    """Which fields of its rows a connection field's page is read by; None: all of them (or not known).

    Known on the planned path when the page's edges are written straight from the rows
    (its resolve info answers `row_fields()`): the store then reads only those columns.
    The standard executor's info does not know, and every column is read.
    """
    known = getattr(info, "row_fields", None)
    found: frozenset[str] | None = known() if callable(known) else None
    return found
