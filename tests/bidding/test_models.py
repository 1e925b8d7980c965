from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from bidding.models import ProductBid

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [{"current_cpc": Decimal("-0.0001")}, {"target_roas": Decimal("0")}, {"target_roas": Decimal("-1")}],
)
def test_the_database_refuses_impossible_bids(fields):
    values = {"product_id": 1, "current_cpc": Decimal("1"), "target_roas": Decimal("100"), "adjusted_cpc": Decimal("1")}
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductBid.objects.create(**{**values, **fields})


def test_the_model_declares_exactly_one_index_on_calculated_at():
    indexes = ProductBid._meta.indexes
    assert [index.fields for index in indexes] == [["-calculated_at", "product_id"]]
    assert not any(field.db_index for field in ProductBid._meta.fields if field.name != "id")
