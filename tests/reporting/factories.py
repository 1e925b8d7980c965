from datetime import date, timedelta
from decimal import Decimal

import factory

from reporting.choices import PerformanceSource
from reporting.models import DailyPerformance
from reporting.selectors import default_as_of
from tests.campaigns.factories import LineItemFactory


class DailyPerformanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyPerformance

    line_item = factory.SubFactory(LineItemFactory)
    date = factory.LazyAttribute(lambda row: default_as_of(row.line_item.campaign.advertiser))
    impressions = 10_000
    clicks = 120
    conversions = 6
    spend = Decimal("60.00")
    sales = Decimal("240.00")
    # 80 % of impressions measured, 75 % of those viewable (the constraints need viewable ≤ measurable ≤ impressions).
    measurable_impressions = factory.LazyAttribute(lambda row: row.impressions * 8 // 10)
    viewable_impressions = factory.LazyAttribute(lambda row: row.measurable_impressions * 3 // 4)
    video_starts = 0
    video_completions = 0
    source = PerformanceSource.UPLOAD


def deliver(line_item, *, days: int, last: date | None = None, **values) -> list[DailyPerformance]:
    """`days` consecutive days of the same delivery for a line item, ending on `last`
    (default: the advertiser's last complete day)."""
    last = last or default_as_of(line_item.campaign.advertiser)
    return [
        DailyPerformanceFactory(line_item=line_item, date=last - timedelta(days=offset), **values)
        for offset in range(days)
    ]


def as_of(advertiser) -> date:
    return default_as_of(advertiser)
