"""Typed rows and what page statements select for them: built by column name, each column selected once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import uuid4

import pytest

from gateway.data.brain.campaigns import CampaignRow
from gateway.data.brain.creatives import SORTABLE, CreativeRow
from gateway.data.brain.metrics import CREATIVE, MetricsRow, measured_ordering
from gateway.data.brain.sql import Selected, Sortable, Where, ordering_of
from gateway.data.filters import DayRange, Sort
from gateway.data.rows import columns, is_row, row_of
from resolvers.actions.common import _plain_row, typed


def _creative() -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    return {
        "id": uuid4(),
        "campaign_id": uuid4(),
        "external_id": "x-1",
        "name": "Spring",
        "format": "image",
        "status": "active",
        "headline": None,
        "created_at": now,
        "updated_at": now,
        "sort_0": "ignored",  # a record may hold more than the row's columns
    }


def test_a_row_is_built_by_column_name_and_stays_immutable() -> None:
    record = _creative()
    row = row_of(CreativeRow)(record)
    assert type(row) is CreativeRow and row._asdict() == {k: v for k, v in record.items() if k != "sort_0"}
    assert row_of(CreativeRow) is row_of(CreativeRow)  # built once per type
    with pytest.raises(AttributeError):
        row.name = "Autumn"  # type: ignore[misc]
    assert row._replace(name="Autumn").name == "Autumn" and row.name == "Spring"
    assert columns(CreativeRow, "t.").startswith("t.id, t.campaign_id, t.external_id")
    with pytest.raises(KeyError):
        row_of(CreativeRow)({"id": uuid4()})


def test_a_stored_row_is_a_plain_mapping_built_back_into_the_same_row() -> None:
    row = row_of(CreativeRow)(_creative())
    stored = _plain_row(row)
    assert is_row(row) and not is_row(stored) and not is_row((1, 2)) and isinstance(stored, dict)
    assert typed(CreativeRow, lambda r: r)(stored) == row
    assert _plain_row(7) == 7


def test_sort_keys_of_the_rows_own_columns_are_read_from_them() -> None:
    by_name = ordering_of([Sort("name")], SORTABLE)
    selected = Selected.of(CreativeRow, by_name, "campaign_id")
    assert (selected.added, selected.sort_names, selected.parent_name) == ((), ("name", "id"), "campaign_id")
    assert selected.select_list() == columns(CreativeRow, "t.")
    assert selected.output_names() == columns(CreativeRow)
    record = _creative()
    selected_record = tuple(record[name] for name in selected.output_names().split(", "))  # as selected, by position
    assert selected.sort_values()(selected_record) == (record["name"], record["id"])
    assert selected.row()(selected_record) == row_of(CreativeRow)(record)
    assert selected.parent_position() == 1 and selected_record[1] == record["campaign_id"]


def test_measures_and_a_parent_the_row_lacks_are_selected_under_names_of_their_own() -> None:
    where = Where(3)
    days = DayRange(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    _, by_spend = measured_ordering(where, [Sort("spend", descending=True)], SORTABLE, CREATIVE, days)
    selected = Selected.of(CreativeRow, by_spend, "channel_id")
    assert selected.added == (("p.spend", "sort_0"), ("t.channel_id", "parent_key"))
    assert selected.sort_names == ("sort_0", "id") and selected.parent_name == "parent_key"
    assert selected.select_list().endswith("t.updated_at, p.spend AS sort_0, t.channel_id AS parent_key")
    assert selected.output_names().endswith("updated_at, sort_0, parent_key")
    record = {**_creative(), "sort_0": Decimal("1.50"), "parent_key": uuid4()}
    selected_record = tuple(record[name] for name in selected.output_names().split(", "))
    assert selected.sort_values()(selected_record)[0] == Decimal("1.50")
    assert selected_record[selected.parent_position()] == record["parent_key"]
    # A key naming another table's column of the same name is not the row's.
    joined = Selected.of(CampaignRow, ordering_of([Sort("x")], {"x": Sortable("ch.name", "s")}))
    assert joined.added == (("ch.name", "sort_0"),) and joined.sort_names == ("sort_0", "id")
    assert MetricsRow.zero("USD").spend == Decimal("0.00")


def test_a_page_that_reads_some_fields_selects_the_others_as_null() -> None:
    by_name = ordering_of([Sort("name")], SORTABLE)
    selected = Selected.of(CreativeRow, by_name, "campaign_id", frozenset({"status"}))
    # The id, the sort keys and the parent column are read whatever the reader uses.
    assert selected.unread == {"external_id", "format", "headline", "created_at", "updated_at"}
    listed = selected.select_list()
    assert listed.startswith("t.id, t.campaign_id, NULL AS external_id, t.name, NULL AS format, t.status")
    assert "NULL AS created_at" in listed and "t.created_at" not in listed
    everything = Selected.of(CreativeRow, by_name, "campaign_id")
    assert everything.unread == frozenset() and "NULL" not in everything.select_list()
