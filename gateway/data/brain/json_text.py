"""JSON text written by PostgreSQL: the values of a page's rows as the gateway writes them, and the statement.

The planned executor lets PostgreSQL write a page only when it can write it exactly as the
gateway would (see `resolvers.execution.in_postgres`). Each piece here is a `Json`: an SQL
expression of JSON text, and an SQL condition under which that text is what the gateway
writes. A value the gateway would refuse or write differently (an Int beyond 32 bits, a
float outside the range whose text is known, an amount with more than two decimals, a NULL
in a non-null field) makes the condition false: the statement then answers "not exact" and
the gateway reads the rows itself, which gives the same answer or the same error as always.

JSON text is parsed by the gateway (orjson) and written again with the rest of the answer,
so escapes and spacing need not match orjson's; numbers must (`2.0`, never `2`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.data.brain.metrics import SUMS, measures
from gateway.data.paging import Ordering

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
MIN_INT, MAX_INT = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class Json:
    """An SQL expression of JSON text, and the SQL condition under which it is exactly the gateway's.

    The text is kept as the operands of one `||` chain, adjacent string literals joined
    (`_cat`): PostgreSQL folds only a chain's leading literals, and each `||` left in a
    page's row costs a copy of the text so far, about 0.4 ms over 1,000 rows.
    """

    parts: tuple[str, ...]
    exact: str = "true"

    @property
    def text(self) -> str:
        return " || ".join(self.parts)


_LITERAL = re.compile(r"'(?:[^']|'')*'")


def _cat(*pieces: str | Json, exact: str = "true") -> Json:
    """The concatenation of `pieces` (SQL text expressions or Json texts), adjacent literals joined."""
    parts: list[str] = []
    for piece in pieces:
        for part in piece.parts if isinstance(piece, Json) else (piece,):
            if parts and _LITERAL.fullmatch(part) and _LITERAL.fullmatch(parts[-1]):
                parts[-1] = parts[-1][:-1] + part[1:]  # standard_conforming_strings is pinned on
            else:
                parts.append(part)
    return Json(tuple(parts), exact)


def _name(name: str) -> str:
    """A GraphQL name or type name written into SQL text: only a name can be (no quote, no backslash)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a GraphQL name")
    return name


def _nullable(expression: str, text: str | Json, exact: str, nullable: bool) -> Json:
    value = _cat(text)
    if nullable:
        return _cat(
            f"CASE WHEN ({expression}) IS NULL THEN 'null' ELSE {value.text} END",
            exact=f"(({expression}) IS NULL OR {exact})",
        )
    return _cat(value, exact=f"(({expression}) IS NOT NULL AND {exact})")


def string(expression: str, nullable: bool) -> Json:
    return _nullable(expression, f"to_json(({expression})::text)::text", "true", nullable)


def stripped(expression: str, nullable: bool) -> Json:
    """Python's `str.strip()` of a text: exact when neither end is whitespace (nothing to strip)."""
    text = f"({expression})::text"
    return _nullable(expression, f"to_json({text})::text", f"({text} = '' OR {text} ~ '^[!-~](.*[!-~])?$')", nullable)


def integer(expression: str, nullable: bool) -> Json:
    exact = f"({expression}) BETWEEN {MIN_INT} AND {MAX_INT}"
    return _nullable(expression, f"({expression})::text", exact, nullable)


def floating(expression: str, nullable: bool) -> Json:
    """A float8 as orjson writes it, for values of at most 15 significant digits (ratios rounded in SQL).

    Such a value's shortest text is its decimal (`x::numeric` prints it), and orjson writes
    it positionally between 1e-5 and 1e16, an integral value with `.0`. Outside those bounds
    (or with more digits than six decimals, which a ratio never has) the gateway writes it.
    """
    x = f"({expression})"
    text = f"CASE WHEN {x} = trunc({x}) THEN trunc({x})::numeric::text || '.0' ELSE {x}::numeric::text END"
    exact = f"({x} = 0 OR abs({x}) >= 1e-5) AND abs({x}) < 1e9 AND {x} = round({x}::numeric, 6)::float8"
    return _nullable(expression, text, exact, nullable)


def boolean(expression: str, nullable: bool) -> Json:
    return _nullable(expression, f"CASE WHEN {expression} THEN 'true' ELSE 'false' END", "true", nullable)


def amount(expression: str, nullable: bool) -> Json:
    """A decimal as a string with two decimals (`decimal_string`): exact when it has no more than two."""
    x = f"({expression})"
    return _nullable(expression, _cat("'\"'", f"round({x}, 2)::text", "'\"'"), f"{x} = round({x}, 2)", nullable)


def global_id(type_name: str, expression: str, nullable: bool) -> Json:
    """The global id of a row (`gateway.data.ids`): base64url of `Type:<id>` without padding."""
    encoded = f"encode(convert_to('{_name(type_name)}:' || ({expression})::text, 'UTF8'), 'base64')"
    # `encode` breaks its output into lines of 76 characters: the newlines are dropped with `+/`.
    text = f"rtrim(translate({encoded}, E'+/\\n', '-_'), '=')"
    prefix = f"{type_name}:".encode()
    if len(prefix) % 3 == 0:
        # The usual id, a UUID, is written without `translate` and `rtrim` (a fifth of the campaigns
        # page's time in PostgreSQL): base64 of a prefix of whole 3-byte groups is the prefix's base64 followed by
        # the rest's, and the 36 characters of a UUID's text ([0-9a-f-]) encode to 48 characters
        # with neither `+`, `/`, padding nor a line break (every 6-bit group of them is below 62).
        fast = f"'{base64.urlsafe_b64encode(prefix).decode()}' || encode(convert_to(({expression})::text, 'UTF8'), 'base64')"
        text = f"CASE WHEN pg_typeof({expression}) = 'uuid'::regtype THEN {fast} ELSE {text} END"
    return _nullable(expression, _cat("'\"'", text, "'\"'"), "true", nullable)


def enum(expression: str, outputs: Mapping[str, str], nullable: bool) -> Json:
    """A stored value written as its enum value's name; a value the enum does not know is not exact."""
    if not outputs:
        return _cat("'null'", exact="false")
    cases = " ".join(f"WHEN {_quote(stored)} THEN '\"{_name(output)}\"'" for stored, output in outputs.items())
    known = ", ".join(_quote(stored) for stored in outputs)
    return _nullable(
        expression, f"CASE ({expression})::text {cases} END", f"({expression})::text IN ({known})", nullable
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def typename(name: str) -> Json:
    return _cat(f"'\"{_name(name)}\"'")


def obj(entries: Sequence[tuple[str, Json]]) -> Json:
    """A JSON object of its entries in order (keys are response names)."""
    if not entries:
        return _cat("'{}'")
    pieces: list[str | Json] = []
    for i, (key, value) in enumerate(entries):
        pieces += [f"'{',' if i else '{'}\"{_name(key)}\":'", value]
    exact = " AND ".join(value.exact for _, value in entries if value.exact != "true") or "true"
    return _cat(*pieces, "'}'", exact=exact)


def unless_null(expressions: Sequence[str], value: Json, nullable: bool) -> Json:
    """`value`, or null when one of `expressions` is NULL (a field a row builder leaves None)."""
    missing = " OR ".join(f"({e}) IS NULL" for e in expressions)
    if nullable:
        return _cat(f"CASE WHEN {missing} THEN 'null' ELSE {value.text} END", exact=f"({missing} OR {value.exact})")
    return _cat(value, exact=f"(NOT ({missing}) AND {value.exact})")


@dataclass(frozen=True)
class PageSource:
    """A list PostgreSQL can write: its table, its default order, and for a child list the parent column."""

    table: str
    ordering: Ordering
    parent: str = ""

    def order_by(self, alias: str) -> str:
        keys = []
        for key in self.ordering.keys:
            column = key.column.removeprefix("t.")
            if not NAME.fullmatch(column) or key.nulls_first is not None:
                raise ValueError(f"{key.column} is not a plain column")
            keys.append(f"{alias}.{column} {'DESC' if key.descending else 'ASC'}")
        return ", ".join(keys)

    def rows(self, alias: str, limit: str, parent_id: str = "") -> str:
        """A FROM item of one page of the list (the organization's, or one parent's when `parent_id`)."""
        condition = f"{alias}.organization_id = $1"
        if self.parent:
            condition += f" AND {alias}.{self.parent} = {parent_id}"
        return (
            f"(SELECT * FROM {self.table} {alias} WHERE {condition} "
            f"ORDER BY {self.order_by(alias)} LIMIT {limit}) {alias}"
        )


def page(source: PageSource, alias: str, limit: str, edges: Sequence[Json], joins: str, parent_id: str = "") -> str:
    """A subquery of one page's edges: per `edges` entry, its JSON text `e<i>` and whether it is exact `x<i>`."""
    order = source.order_by(alias)
    aggregates = ", ".join(
        f"string_agg({edge.text}, ',' ORDER BY {order}) AS e{i}, bool_and(coalesce({edge.exact}, false)) AS x{i}"
        for i, edge in enumerate(edges)
    )
    return f"SELECT {aggregates} FROM {source.rows(alias, limit, parent_id)} {joins}"


def edges_of(alias: str, index: int) -> Json:
    """The JSON array of the `index`th edges of a page subquery aliased `alias`."""
    return _cat("'['", f"coalesce({alias}.e{index}, '')", "']'", exact=f"coalesce({alias}.x{index}, true)")


@dataclass(frozen=True)
class TotalsSource:
    """Per-object totals PostgreSQL can write: the metrics column of the object, and its currency's SQL.

    `currency` names the object's row as `{row}`.
    """

    column: str
    currency: str

    def rows(self, row: str, start: str, end: str) -> str:
        """A subquery of one object's totals over `start`..`end`, with the columns of a `MetricsRow`.

        The sums and ratios are `metrics.measures`, the same SQL the per-object loader runs.
        """
        return (
            f"SELECT {self.currency.format(row=row)} AS currency, {measures(lambda c: f's.{c}')} FROM "
            f"(SELECT {SUMS} FROM daily_metrics m WHERE m.organization_id = $1 "
            f"AND m.{_name(self.column)} = {row}.id AND m.date BETWEEN {start} AND {end}) s"
        )


# The totals of `Campaign.performance` and `Creative.performance`, in the campaign's currency.
CAMPAIGN_TOTALS = TotalsSource("campaign_id", "{row}.currency")
CREATIVE_TOTALS = TotalsSource(
    "creative_id", "(SELECT c.currency FROM campaigns c WHERE c.organization_id = $1 AND c.id = {row}.campaign_id)"
)


STATEMENT_ALIAS = "p0"


def statement(value: Json, subquery: str) -> str:
    """The statement answering (JSON text, exact) of one value over one subquery (aliased `STATEMENT_ALIAS`)."""
    return f"SELECT {value.text} AS json, {value.exact} AS exact FROM ({subquery}) {STATEMENT_ALIAS}"
