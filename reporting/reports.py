"""Grouped performance reports: one SQL query for any grouping, metrics included.

A report groups DailyPerformance rows by one or more dimensions (advertiser, campaign, phase,
line item, day, week) over a date range and returns, per group, the summed columns and every
metric (reporting.metrics). Money is never added across currencies: a row is always within one
currency, so a report by day over two advertisers in USD and EUR has a row per day and currency.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import F, Min, OuterRef, Subquery
from django.db.models.functions import TruncWeek

from campaigns.models import Advertiser, Campaign, LineItem
from reporting.choices import Dimension
from reporting.metrics import METRICS, metric_expressions, sum_alias, sum_expressions
from reporting.models import VALUE_FIELDS, DailyPerformance

_ADVERTISER = "line_item__campaign__advertiser"
_CAMPAIGN = "line_item__campaign"


def _label(model, key: str, field: str) -> Subquery:
    return Subquery(model.objects.filter(pk=OuterRef(key)).order_by().values(field)[:1])


# Rows are grouped by keys only (ids, days, phase); names are looked up per group afterwards by
# correlated subqueries. Grouping by names instead would make PostgreSQL sort every daily row by
# text before aggregating (on disk, for large reports): about twice as slow for 10,000 line items.
# line_item_id and date are the model's own columns: selected by name (an annotation may not
# reuse a field's name).
DIMENSION_KEYS: dict[str, dict[str, object]] = {
    Dimension.ADVERTISER: {"advertiser_id": F(f"{_CAMPAIGN}__advertiser_id")},
    Dimension.CAMPAIGN: {"campaign_id": F(f"{_CAMPAIGN}_id")},
    Dimension.PHASE: {"phase": F(f"{_CAMPAIGN}__phase")},
    Dimension.LINE_ITEM: {"line_item_id": "line_item_id"},
    Dimension.DAY: {"date": "date"},
    Dimension.WEEK: {"week": TruncWeek("date")},
}
DIMENSION_LABELS: dict[str, dict[str, Callable[[], Subquery]]] = {
    Dimension.ADVERTISER: {"advertiser_name": lambda: _label(Advertiser, "advertiser_id", "name")},
    Dimension.CAMPAIGN: {"campaign_name": lambda: _label(Campaign, "campaign_id", "name")},
    Dimension.LINE_ITEM: {"line_item_name": lambda: _label(LineItem, "line_item_id", "name")},
}
# A group within one line item, campaign or advertiser has a single currency, so MIN() over the
# group is that currency (cheaper than a per-group lookup through two joins). Other groupings
# (days, weeks, phases) may span advertisers: the currency is then part of the key.
OWNER_DIMENSIONS = {Dimension.LINE_ITEM, Dimension.CAMPAIGN, Dimension.ADVERTISER}
# Sorting within each dimension: by name, then id, so equal names keep a stable order.
DIMENSION_ORDER = {
    Dimension.ADVERTISER: ["advertiser_name", "advertiser_id"],
    Dimension.CAMPAIGN: ["campaign_name", "campaign_id"],
    Dimension.PHASE: ["phase"],
    Dimension.LINE_ITEM: ["line_item_name", "line_item_id"],
    Dimension.DAY: ["date"],
    Dimension.WEEK: ["week"],
}
CURRENCY = {"currency": F(f"{_ADVERTISER}__currency")}
# The order people read a report in: delivery, money, then the quality counters.
VALUE_COLUMNS = [
    "impressions", "clicks", "conversions", "spend", "sales",
    "viewable_impressions", "measurable_impressions", "video_starts", "video_completions", *METRICS,
]
assert set(VALUE_COLUMNS) == {*VALUE_FIELDS, *METRICS}
MAX_DIMENSIONS = 3
MAX_DAYS = 366


@dataclass(frozen=True)
class ReportSpec:
    """What to report: validated by the API's serializer or built by code."""

    group_by: tuple[str, ...]
    start: date
    end: date
    advertiser_ids: tuple[int, ...] = ()
    campaign_ids: tuple[int, ...] = ()
    line_item_ids: tuple[int, ...] = ()
    phases: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    ordering: tuple[str, ...] = field(default=())

    def columns(self) -> list[str]:
        """Output columns in order: dimensions (key, then name), currency, values and metrics."""
        names = [name for d in self.group_by for name in (*DIMENSION_KEYS[d], *DIMENSION_LABELS.get(d, ()))]
        return [*names, "currency", *VALUE_COLUMNS]

    def orderable(self) -> set[str]:
        return {*self.columns()}


def filtered(performance, spec: ReportSpec):
    """`performance` (already scoped to the caller) narrowed to the spec's days and filters."""
    rows = performance.between(spec.start, spec.end)
    if spec.advertiser_ids:
        rows = rows.filter(**{f"{_CAMPAIGN}__advertiser_id__in": spec.advertiser_ids})
    if spec.campaign_ids:
        rows = rows.filter(**{f"{_CAMPAIGN}_id__in": spec.campaign_ids})
    if spec.line_item_ids:
        rows = rows.filter(line_item_id__in=spec.line_item_ids)
    if spec.phases:
        rows = rows.filter(**{f"{_CAMPAIGN}__phase__in": spec.phases})
    if spec.formats:
        rows = rows.filter(line_item__format__in=spec.formats)
    return rows


def _order_by(spec: ReportSpec) -> list:
    internal = {f: sum_alias(f) for f in VALUE_FIELDS}
    order = []
    for key in spec.ordering:
        name = key.lstrip("-")
        column = F(internal.get(name, name))
        order.append(column.desc(nulls_last=True) if key.startswith("-") else column.asc(nulls_last=True))
    for dimension in spec.group_by:
        order += DIMENSION_ORDER[dimension]
    return [*order, "currency"]


def report_queryset(performance, spec: ReportSpec):
    """Grouped rows as dicts (summed columns under "sum_<field>"; see report_row)."""
    fields, keys, labels = [], {}, {}
    for dimension in spec.group_by:
        for name, selector in DIMENSION_KEYS[dimension].items():
            if isinstance(selector, str):
                fields.append(selector)
            else:
                keys[name] = selector
        labels.update({name: make() for name, make in DIMENSION_LABELS.get(dimension, {}).items()})
    single_currency = bool(OWNER_DIMENSIONS & set(spec.group_by))
    if not single_currency:
        keys.update(CURRENCY)
    return (
        filtered(performance, spec)
        .order_by()
        .values(*fields, **keys)
        .annotate(
            **sum_expressions(), **metric_expressions(),
            **({"currency": Min(CURRENCY["currency"])} if single_currency else {}),
        )
        # Names last, in an annotate() without aggregates: Django then leaves them out of the
        # GROUP BY (they would be computed for every daily row instead of once per group).
        .annotate(**labels)
        .order_by(*_order_by(spec))
    )


def report_totals(performance, spec: ReportSpec) -> list[dict]:
    """The whole range's totals and metrics, one row per currency."""
    rows = (
        filtered(performance, spec)
        .order_by()
        .values(**CURRENCY)
        .annotate(**sum_expressions(), **metric_expressions())
        .order_by("currency")
    )
    return [report_row(row, ["currency", *VALUE_COLUMNS]) for row in rows]


def report_row(row: dict, columns: list[str]) -> dict:
    """A grouped row with the public column names, in `columns` order."""
    return {name: row[sum_alias(name)] if name in VALUE_FIELDS else row[name] for name in columns}


def report_rows(performance, spec: ReportSpec, *, chunk_size: int = 2000) -> Iterator[dict]:
    """Every row of the report, read in chunks (a server-side cursor on PostgreSQL)."""
    columns = spec.columns()
    for row in report_queryset(performance, spec).iterator(chunk_size=chunk_size):
        yield report_row(row, columns)


def as_json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def report_for(performance=None, **spec) -> list[dict]:
    """All rows of a report as dicts (for code and tests; the API paginates instead)."""
    performance = DailyPerformance.objects.all() if performance is None else performance
    return list(report_rows(performance, ReportSpec(**spec)))
