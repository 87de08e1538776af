"""Building GraphQL objects from rows cheaply: a page builds one object (and one edge) per row.

`enum_reader(Enum)` reads a stored value as its member with one dict lookup, where `Enum(value)`
goes through the enum metaclass's call; an unknown value still goes to the constructor, so
it fails as before. `builder(Type)` is `Type(**fields)` without the class call: a function
compiled once that makes the instance with `object.__new__` and stores each field, which is
all a strawberry type's dataclass `__init__` does when it has no `__post_init__` and no
default factories (otherwise the builder is the class itself).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
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
