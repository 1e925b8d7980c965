"""The performance columns of a bulk-sheet export, from DailyPerformance (registered with
campaigns.bulksheets.metrics by ReportingConfig.ready: campaigns does not import reporting).

Amazon's columns, computed by the database over the range (sums, and ratios with reporting.metrics'
exact NUMERIC expressions, rounded as Amazon's downloads show them):

    Impressions, Clicks             sums of whole numbers
    Click-through Rate              clicks / impressions, a fraction, 4 places (0.0127)
    Spend, Sales                    sums, in the advertiser's currency (exact decimals)
    Orders                          sum of conversions (purchases)
    Units                           blank: delivery rows carry no unit counts
    Conversion Rate                 orders / clicks, a fraction, 4 places
    ACOS                            spend / sales, a fraction, 4 places (0.2268, not 22.68)
    CPC                             spend / clicks, 2 places
    ROAS                            sales / spend, 2 places

A zero denominator gives a blank, never a 0 or an error. Performance is kept per line item
(ad group) and day, so ad groups get their own figures and campaigns the sums of theirs; the rows
below an ad group (keywords, product ads, targets) stay blank.
"""

from datetime import date

from django.db.models import Sum

from reporting.metrics import Metric, summed
from reporting.models import DailyPerformance

_RATIOS = {
    "ctr": Metric("clicks", "impressions", 4),
    "conversion_rate": Metric("conversions", "clicks", 4),
    "acos": Metric("spend", "sales", 4),
    "cpc": Metric("spend", "clicks", 2),
    "roas": Metric("sales", "spend", 2),
}
_SUMS = ("impressions", "clicks", "spend", "sales", "conversions")
# METRIC_HEADERS' order; Units (no data) is put in as None between Orders and Conversion Rate.
_BEFORE_UNITS = ("s_impressions", "s_clicks", "ctr", "s_spend", "s_sales", "s_conversions")
_AFTER_UNITS = ("conversion_rate", "acos", "cpc", "roas")
# Rows per fetch, as the export's own streams (campaigns.bulksheets.writer): a row of figures is
# about 1 KiB in Python, and the export holds up to two chunks per stream, so this bounds memory.
_CHUNK = 500


def _grouped(advertiser, start: date, end: date, keys: tuple[str, ...]):
    annotations = {f"s_{field}": summed(field) for field in _SUMS}
    annotations.update({name: metric.expression(Sum) for name, metric in _RATIOS.items()})
    return (
        DailyPerformance.objects.filter(line_item__campaign__advertiser=advertiser, date__gte=start, date__lte=end)
        .order_by()
        .values(*keys)
        .annotate(**annotations)
        .order_by(*keys)
        .values_list(*keys, *_BEFORE_UNITS, *_AFTER_UNITS)
        .iterator(chunk_size=_CHUNK)
    )


def _with_units(rows, width: int):
    cut = width + len(_BEFORE_UNITS)
    for row in rows:
        yield (*row[:cut], None, *row[cut:])


def bulk_sheet_metrics(*, advertiser, start: date, end: date):
    """(campaign rows, ad group rows), each streamed in the export's order (see
    campaigns.bulksheets.metrics for the contract)."""
    campaigns = _grouped(advertiser, start, end, ("line_item__campaign_id",))
    ad_groups = _grouped(advertiser, start, end, ("line_item__campaign_id", "line_item_id"))
    return _with_units(campaigns, 1), _with_units(ad_groups, 2)
