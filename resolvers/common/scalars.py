"""Scalars and small shared value types."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, NewType

import orjson
import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from gateway.core.currencies import currency_problem
from resolvers.common.inputs import MAX_VALUE_DEPTH, value_problem
from resolvers.common.objects import builder, composed

JSON = NewType("JSON", object)
# An ISO 4217 code: stores hold it as text, inputs are checked against the codes of `gateway.core.currencies`.
Currency = NewType("Currency", str)
MAX_JSON_BYTES = 256 * 1024
# Amounts are stored as numeric(14, 2): at most 12 digits before the point and 2 after.
INTEGER_DIGITS, SCALE = 12, 2
_DECIMAL = re.compile(rf"-?[0-9]{{1,{INTEGER_DIGITS}}}(\.[0-9]{{1,{SCALE}}})?")


def _parse_decimal(value: object) -> Decimal:
    # A float has already lost exactness (and 1e400 is infinity): only its exact
    # text could be checked, which JSON parsing has thrown away.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('Decimal must be a string such as "12.50" or an integer')
    text = str(value)
    if not _DECIMAL.fullmatch(text):
        raise ValueError(
            f"{text[:40]!r} is not a decimal number with at most {INTEGER_DIGITS} digits before the point "
            f"and {SCALE} after it (no exponent, NaN or Infinity)"
        )
    return Decimal(text)


def _parse_decimal_literal(node: ValueNode, _variables: Any = None) -> Decimal:
    # The literal's own text, so `1e400` or `0.125` in a document is judged as written.
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return _parse_decimal(node.value)
    raise ValueError('Decimal must be a string such as "12.50" or an integer')


def _serialize_decimal(value: Decimal | str) -> str:
    # Amounts of answers arrive as their text already (`decimal_string`): written as they are.
    return value if value.__class__ is str else format(value, "f")  # type: ignore[return-value]


def _serialize_text(value: str) -> str:
    if value.__class__ is not str:
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value


def _parse_currency(value: object) -> str:
    problem = currency_problem(value)
    if problem is not None:
        raise ValueError(problem)
    assert isinstance(value, str)
    return value


# Serializers that write a `str` value unchanged: executors may pass such values as they are.
TEXT_SERIALIZERS = (_serialize_decimal, _serialize_text)


# Where each scalar's format is defined, published as `@specifiedBy` so client tooling (and people) can
# map it to a type. Decimal is XML Schema's `decimal` restricted by the pattern above (its totalDigits 14
# and fractionDigits 2 facets, no `+` sign, no bare point): the one public, stable definition it fits.
SPECIFIED_BY = {
    "Date": "https://www.iso.org/iso-8601-date-and-time-format.html",
    "DateTime": "https://www.rfc-editor.org/rfc/rfc3339",
    "Decimal": "https://www.w3.org/TR/xmlschema11-2/#decimal",
    "JSON": "https://www.rfc-editor.org/rfc/rfc8259",
    "Currency": "https://www.iso.org/iso-4217-currency-codes.html",
}

# Python types used in resolvers map to these GraphQL scalars (see resolvers.schema).
SCALAR_MAP: dict[object, ScalarDefinition] = {
    dt.date: strawberry.scalar(
        name="Date",
        specified_by_url=SPECIFIED_BY["Date"],
        description="A calendar date in ISO 8601 form, e.g. `2026-11-25`.",
        serialize=lambda v: v.isoformat(),
        parse_value=lambda v: _parse_date(v),
    ),
    dt.datetime: strawberry.scalar(
        name="DateTime",
        specified_by_url=SPECIFIED_BY["DateTime"],
        description=(
            "An instant in RFC 3339 form (ISO 8601 with a UTC offset), e.g. `2026-11-25T09:30:00+00:00`; "
            "answers are in UTC, and an input without an offset is read as UTC."
        ),
        serialize=lambda v: (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).isoformat(),
        parse_value=lambda v: _parse_datetime(v),
    ),
    Decimal: strawberry.scalar(
        name="Decimal",
        specified_by_url=SPECIFIED_BY["Decimal"],
        description=(
            'An exact decimal number, e.g. `"1250.50"`: a string (or an integer) of at most '
            f"{INTEGER_DIGITS} digits before the point and {SCALE} after it, with an optional leading minus. "
            "Exponents, NaN and Infinity are refused."
        ),
        serialize=_serialize_decimal,
        parse_value=lambda v: _parse_decimal(v),
        parse_literal=_parse_decimal_literal,
    ),
    Currency: strawberry.scalar(
        name="Currency",
        specified_by_url=SPECIFIED_BY["Currency"],
        description="An ISO 4217 alphabetic currency code in upper case, e.g. `USD` or `EUR`; inputs must be the "
        "code of a circulating currency.",
        serialize=_serialize_text,
        parse_value=lambda v: _parse_currency(v),
    ),
    JSON: strawberry.scalar(
        name="JSON",
        specified_by_url=SPECIFIED_BY["JSON"],
        description=(
            "Free-form JSON (objects, arrays, strings, numbers, booleans, null); "
            f"at most {MAX_VALUE_DEPTH} levels deep and {MAX_JSON_BYTES // 1024} KiB encoded."
        ),
        serialize=lambda v: v,
        parse_value=lambda v: _parse_json(v),
    ),
}


def _parse_json(value: object) -> object:
    problem = value_problem(value)
    if problem is not None:
        raise ValueError(f"JSON value {problem}")
    try:
        size = len(orjson.dumps(value))
    except TypeError:
        raise ValueError("not a JSON value") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"JSON value is {size} bytes encoded; at most {MAX_JSON_BYTES} are accepted")
    return value


def _parse_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("Date must be a string in YYYY-MM-DD form")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _parse_datetime(value: object) -> dt.datetime:
    # Normalised to UTC here, once: an instant at the edge of the calendar (year 1 at +14:00)
    # has no UTC form, and would otherwise fail deep in a store driver as an internal error.
    if not isinstance(value, str):
        raise ValueError("DateTime must be a string in ISO 8601 form")
    try:
        parsed = dt.datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"{value[:64]!r} is not an instant in ISO 8601 form within years 1 to 9999 (UTC)") from None


_CENT = Decimal("0.01")


def decimal_string(value: Decimal | int | float) -> str:
    # Quantized to cents the exponent is -2, so `str` writes plain notation (as the "f"
    # format does) at under half its cost; every amount of an answer passes here.
    return str((value if type(value) is Decimal else Decimal(value)).quantize(_CENT))


@strawberry.type(description="An amount of money: an exact decimal and an ISO 4217 currency code.")
class Money:
    amount: str = strawberry.field(
        graphql_type=Decimal, description='The amount with two decimals, e.g. `"1250.00"` (a `Decimal`).'
    )
    currency: str = strawberry.field(graphql_type=Currency, description="ISO 4217 currency code, e.g. `USD`.")

    @classmethod
    def of(cls, amount: Decimal | int | float, currency: str) -> Money:
        return _new_money(amount=decimal_string(amount), currency=currency.strip())

    @classmethod
    def maybe(cls, amount: Decimal | None, currency: str) -> Money | None:
        return None if amount is None else cls.of(amount, currency)

    @classmethod
    def from_cents(cls, cents: int, currency: str) -> Money:
        return cls.of(Decimal(cents) / 100, currency)


_new_money = builder(Money)
# What `Money.of` makes of its arguments, so a field derived by it is written from a row's values.
composed(Money.of, Money, amount=(decimal_string, 0), currency=(str.strip, 1))
