"""backend.db_rows: the multi-row INSERTs the hot write paths use instead of bulk_create."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend import db_rows
from campaigns.models import ChangeRecord
from tests.campaigns.factories import UserFactory

pytestmark = pytest.mark.django_db


def _record(advertiser, n, **fields):
    return ChangeRecord(advertiser=advertiser, object_type="keyword", object_id=n, field="bid",
                        old_value="0.50", new_value=f"0.{50 + n}", **fields)


def _stored():
    return list(ChangeRecord.objects.order_by("object_id").values(
        "advertiser_id", "object_type", "object_id", "field", "old_value", "new_value", "changed_by_id", "source"))


def test_rows_are_stored_as_bulk_create_stores_them_defaults_included(advertiser):
    user = UserFactory()
    db_rows.insert_instances(ChangeRecord, [_record(advertiser, 1, changed_by=user, source="rule"), _record(advertiser, 2)])
    written = _stored()
    ChangeRecord.objects.all().delete()
    ChangeRecord.objects.bulk_create([_record(advertiser, 1, changed_by=user, source="rule"), _record(advertiser, 2)])
    assert written == _stored()
    assert written[1]["source"] == "console"  # the field's default, as save() would store it
    assert all(r.changed_at is not None for r in ChangeRecord.objects.all())


def test_many_rows_go_in_statements_of_the_chunk_size(advertiser, monkeypatch):
    monkeypatch.setattr(db_rows, "ROWS_PER_STATEMENT", 2)
    with CaptureQueriesContext(connection) as queries:
        db_rows.insert_instances(ChangeRecord, [_record(advertiser, n) for n in range(5)])
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"] * 3
    assert [r["object_id"] for r in _stored()] == [0, 1, 2, 3, 4]


def test_awkward_text_and_nulls_are_stored_exactly(advertiser):
    awkward = ['quo"te \\ {brace}, ü', "NULL", "", "'; --", "\\N"]
    db_rows.insert_instances(ChangeRecord, [_record(advertiser, n, source=text) for n, text in enumerate(awkward)])
    assert list(ChangeRecord.objects.order_by("object_id").values_list("source", "changed_by_id")) == [
        (text, None) for text in awkward]


def test_nothing_to_insert_sends_nothing(advertiser, django_assert_num_queries):
    with django_assert_num_queries(0):
        db_rows.insert_instances(ChangeRecord, [])


def test_a_refused_row_refuses_the_statement(advertiser):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        db_rows.insert_instances(ChangeRecord, [_record(advertiser, 1), _record(advertiser, -1)])  # object_id >= 0
    assert ChangeRecord.objects.count() == 0
