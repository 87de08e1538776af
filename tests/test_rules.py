"""The business rules, on real values: pure functions, so no store and no server."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from gateway.core.rules import Rejected, budget, schedule, text
from gateway.core.rules.invitations import (
    acceptance_error,
    addressed_to,
    check_address_free,
    check_no_account,
    token_hash,
)
from gateway.core.rules.seats import Seats, take_seat

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Campaign(NamedTuple):
    status: str
    daily_budget: Decimal
    currency: str


def code_of(raised: pytest.ExceptionInfo[Rejected]) -> tuple[str, str | None]:
    (error,) = raised.value.errors
    return error.code, error.field


# --- budget conservation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("give", "take", "amount"),
    [("100.00", "0.00", "100.00"), ("100.00", "50.50", "0.01"), ("0.02", "999999999999.98", "0.01")],
)
def test_a_shift_keeps_the_sum(give: str, take: str, amount: str) -> None:
    source, target = Campaign("active", Decimal(give), "EUR"), Campaign("paused", Decimal(take), "EUR")
    after_source, after_target = budget.shifted(source, target, Decimal(amount))
    assert after_source + after_target == source.daily_budget + target.daily_budget
    assert after_source == Decimal(give) - Decimal(amount) >= 0
    assert after_target == Decimal(take) + Decimal(amount)


@pytest.mark.parametrize(
    ("source", "target", "amount", "expected"),
    [
        (
            Campaign("active", Decimal("10"), "EUR"),
            Campaign("active", Decimal("0"), "EUR"),
            "10.01",
            "INSUFFICIENT_BUDGET",
        ),
        (Campaign("active", Decimal("10"), "EUR"), Campaign("active", Decimal("0"), "USD"), "1", "CURRENCY_MISMATCH"),
        (Campaign("archived", Decimal("10"), "EUR"), Campaign("active", Decimal("0"), "EUR"), "1", "CAMPAIGN_ARCHIVED"),
        (Campaign("active", Decimal("10"), "EUR"), Campaign("archived", Decimal("0"), "EUR"), "1", "CAMPAIGN_ARCHIVED"),
        (
            Campaign("active", Decimal("10"), "EUR"),
            Campaign("active", budget.MAX_BUDGET, "EUR"),
            "0.01",
            "INVALID_AMOUNT",
        ),
        (Campaign("active", Decimal("10"), "EUR"), Campaign("active", Decimal("0"), "EUR"), "0", "INVALID_AMOUNT"),
        (Campaign("active", Decimal("10"), "EUR"), Campaign("active", Decimal("0"), "EUR"), "-5", "INVALID_AMOUNT"),
    ],
)
def test_a_shift_that_would_create_or_lose_budget_moves_nothing(
    source: Campaign, target: Campaign, amount: str, expected: str
) -> None:
    with pytest.raises(Rejected) as raised:
        budget.shifted(source, target, Decimal(amount))
    assert code_of(raised)[0] == expected


def test_the_archived_side_is_named() -> None:
    live, archived = Campaign("active", Decimal("5"), "EUR"), Campaign("archived", Decimal("5"), "EUR")
    with pytest.raises(Rejected) as raised:
        budget.shifted(live, archived, Decimal("1"))
    assert code_of(raised) == ("CAMPAIGN_ARCHIVED", "toCampaignId")


def test_amounts() -> None:
    assert budget.check_amount(Decimal("0"), "dailyBudget", allow_zero=True) == 0
    with pytest.raises(Rejected) as raised:
        budget.check_amount(Decimal("0"), "amount")
    assert code_of(raised) == ("INVALID_AMOUNT", "amount")
    with pytest.raises(Rejected):
        budget.check_amount(Decimal("-0.01"), "dailyBudget", allow_zero=True)


# --- seats -------------------------------------------------------------------------------


def test_a_seat_is_taken_while_one_is_left() -> None:
    assert take_seat(Seats(members=3, open_invitations=1), limit=5) == 5
    assert Seats(members=1, open_invitations=1, joining=1, in_flight=1).taken == 4


@pytest.mark.parametrize("seats", [Seats(5, 0), Seats(2, 3), Seats(2, 1, joining=1, in_flight=1), Seats(9, 9)], ids=str)
def test_no_seat_beyond_the_limit(seats: Seats) -> None:
    with pytest.raises(Rejected) as raised:
        take_seat(seats, limit=5)
    assert code_of(raised) == ("QUOTA_EXCEEDED", "email")


# --- invitations -------------------------------------------------------------------------


def test_acceptance_by_status_and_time() -> None:
    later = NOW + dt.timedelta(days=1)
    assert acceptance_error("pending", later, NOW, "token") is None
    for status, expires, code in [
        ("pending", NOW, "EXPIRED"),  # expiring this very moment is expired
        ("pending", NOW - dt.timedelta(seconds=1), "EXPIRED"),
        ("expired", later, "EXPIRED"),
        ("accepted", later, "NOT_PENDING"),
        ("revoked", later, "NOT_PENDING"),
    ]:
        error = acceptance_error(status, expires, NOW, "invitationId")
        assert error is not None and (error.errors[0].code, error.errors[0].field) == (code, "invitationId")


def test_addressee() -> None:
    assert addressed_to("  Ann@Example.COM ", True, "ann@example.com")
    assert addressed_to("ann@example.com", None, "ann@example.com")  # no claim about verification
    assert not addressed_to("ann@example.com", False, "ann@example.com")  # marked unverified
    assert not addressed_to("bob@example.com", True, "ann@example.com")
    assert not addressed_to(None, True, "ann@example.com")
    assert not addressed_to("", True, "")


def test_members_elsewhere_never_join() -> None:
    check_no_account("invitee", None, "org-a", False, "token")
    check_no_account("user", "org-a", "org-a", False, "token")  # the organization's own member may pass here
    for kind, member_of, has_account in [("user", "org-b", False), ("invitee", None, True), ("user", None, False)]:
        with pytest.raises(Rejected) as raised:
            check_no_account(kind, member_of, "org-a", has_account, "invitationId")
        assert code_of(raised) == ("ALREADY_MEMBER", "invitationId")


def test_an_address_with_an_account_is_not_free() -> None:
    check_address_free(None, "org-a", "ann@example.com", "token")
    with pytest.raises(Rejected) as raised:
        check_address_free("org-a", "org-a", "ann@example.com", "token")
    assert code_of(raised)[0] == "ALREADY_MEMBER"
    with pytest.raises(Rejected) as raised:
        check_address_free("org-b", "org-a", "ann@example.com", "token")
    assert code_of(raised)[0] == "EMAIL_IN_USE"


def test_tokens_are_kept_as_digests() -> None:
    assert token_hash("secret") == token_hash("secret") != token_hash("secret ")
    assert len(token_hash("secret")) == 64 and "secret" not in token_hash("secret")


# --- schedules ---------------------------------------------------------------------------


def test_next_run_is_read_in_the_zone_and_answered_in_utc() -> None:
    berlin = schedule.timezone("Europe/Berlin")
    # 06:00 in Berlin is 05:00 UTC in winter and 04:00 UTC in summer.
    assert schedule.next_run("0 6 * * *", berlin, NOW) == dt.datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert schedule.next_run("0 6 * * *", berlin, dt.datetime(2026, 7, 1, 12, tzinfo=UTC)) == dt.datetime(
        2026, 7, 2, 4, 0, tzinfo=UTC
    )
    # Across the spring change (29 March 2026, 02:00 -> 03:00 local).
    spring = dt.datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert schedule.next_run("30 3 * * *", berlin, spring) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert schedule.next_run("*/5 * * * *", ZoneInfo("UTC"), NOW).microsecond == 0


def test_cron_expressions() -> None:
    assert schedule.cron("  0   6 * *  1-5 ") == "0 6 * * 1-5"
    for bad in ["", "* * * *", "0 0 * * * 30", "61 * * * *", "0 0 30 2 *", "x" * 10_000, "0 0 * * *\x00"]:
        with pytest.raises(Rejected) as raised:
            schedule.cron(bad)
        assert code_of(raised) == ("INVALID_CRON", "cron")


def test_time_zones() -> None:
    assert schedule.timezone(" Asia/Kolkata ").key == "Asia/Kolkata"
    for bad in ["Europe", "Mars/Olympus", "../../etc/passwd", "", "A" * 65, "Europe/Berlin\x00"]:
        with pytest.raises(Rejected) as raised:
            schedule.timezone(bad)
        assert code_of(raised) == ("INVALID_TIMEZONE", "timezone")


# --- input text --------------------------------------------------------------------------


def test_email() -> None:
    assert text.email("  Ann.Lee+ads@Example.CO.uk ") == "ann.lee+ads@example.co.uk"
    for bad in ["ann", "ann@", "@example.com", "ann@example", "a b@example.com", "a@" + "b" * 250 + ".com"]:
        with pytest.raises(Rejected) as raised:
            text.email(bad)
        assert code_of(raised) == ("INVALID_EMAIL", "email")


def test_names_descriptions_reasons() -> None:
    assert text.name("  Weekly digest ") == "Weekly digest"
    assert text.description("   ") is None
    assert text.description(None) is None
    assert text.reason(" low CTR ", required=True) == "low CTR"
    assert text.reason(None, required=False) is None
    for call, code in [
        (lambda: text.name("   "), "INVALID_NAME"),
        (lambda: text.name("n" * (text.MAX_NAME + 1)), "INVALID_NAME"),
        (lambda: text.description("d" * (text.MAX_DESCRIPTION + 1)), "INVALID_DESCRIPTION"),
        (lambda: text.reason("  ", required=True), "REASON_REQUIRED"),
        (lambda: text.reason("r" * (text.MAX_REASON + 1), required=False), "REASON_TOO_LONG"),
    ]:
        with pytest.raises(Rejected) as raised:
            call()
        assert code_of(raised)[0] == code


def test_json_objects() -> None:
    assert text.json_object(None, "input") == {}
    given = {"window": "7d", "nested": [{"a": 1}, None], "ünïcode": "✓"}
    assert text.json_object(given, "input") is given
    deep: object = {}
    for _ in range(text.MAX_JSON_DEPTH + 1):
        deep = {"d": deep}
    for bad in [
        [1, 2],
        "text",
        {"$where": "sleep(1000)"},
        {"a": {"b.c": 1}},
        {"a": [{"$gt": ""}]},
        {"nul\x00": 1},
        deep,
        {"big": "x" * text.MAX_JSON_BYTES},
    ]:
        with pytest.raises(Rejected) as raised:
            text.json_object(bad, "steps[2].params")
        assert code_of(raised) == ("INVALID_JSON", "steps[2].params")


# --- where the rules and the writes sit --------------------------------------------------------


def _loaded_after(modules: list[str]) -> set[str]:
    code = f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint('\\n'.join(sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_rules_know_no_store_access_and_no_graphql_schema() -> None:
    loaded = _loaded_after(
        [f"gateway.core.rules.{name}" for name in ("budget", "invitations", "schedule", "seats", "text")]
    )
    above = ("gateway.data", "gateway.http", "resolvers", "strawberry")
    assert sorted(m for m in loaded if any(m == top or m.startswith(top + ".") for top in above)) == []


def test_writes_import_no_schema() -> None:
    writes = ["action_logs", "campaigns", "creatives", "listing"]
    enterprise = ["invitations", "members", "seats", "workflows", "executions", "schedules", "agents", "audit"]
    loaded = _loaded_after(
        [f"gateway.data.brain.{name}" for name in writes] + [f"gateway.data.enterprise.{name}" for name in enterprise]
    )
    above = ("gateway.http", "resolvers", "strawberry")
    assert sorted(m for m in loaded if any(m == top or m.startswith(top + ".") for top in above)) == []
