"""Delivery metrics as SQL expressions, reusable in any queryset over DailyPerformance rows.

Every metric is a ratio of two summed columns, computed by the database over whatever grouping
the query has (a day, a campaign, a week, all of it), never in Python. A zero denominator gives
NULL (`x / NULLIF(y, 0)`), which reaches Python as None: no error, and no misleading 0.

Scales (what a value of 1 means):
- ctr, acos, viewability_rate, video_completion_rate: fractions (0.0125 is 1.25 %), 6 places;
- roas: sales per unit of spend (3.5 means 3.5 : 1, Amazon's ROAS), 4 places;
- cpc, cpm, cpa: money per click / thousand impressions / conversion, 4 places (DSP CPMs and
  CPCs are often fractions of a cent, so they are not rounded to the currency's minor unit).
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import BigIntegerField, DecimalField, F, Func, Q, Sum, Value
from django.db.models.functions import Coalesce, NullIf, Round

from reporting.models import MONEY_FIELDS, VALUE_FIELDS


class Numeric(Func):
    """The value as an exact number on PostgreSQL. SQLite has no exact decimals and its NUMERIC
    keeps whole numbers as integers (so clicks / impressions would divide as integers): REAL."""

    template = "CAST(%(expressions)s AS NUMERIC)"
    output_field = DecimalField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="CAST(%(expressions)s AS REAL)", **extra_context)


class QuantizedDecimalField(DecimalField):
    """Output field for sums and ratios: values come back with exactly `decimal_places`.

    PostgreSQL returns exact numerics with that scale (ROUND(x, n), SUM of numeric(14, 2));
    SQLite computes in floats and Django only quantizes plain columns there, so 180.0 would
    otherwise come back as Decimal("180").
    """

    def get_db_converters(self, connection):
        converters = super().get_db_converters(connection)
        if connection.vendor == "postgresql":
            return converters  # exact already: no per-value Python work on large reports
        return [*converters, self._quantize]

    def _quantize(self, value, expression, connection):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal(1).scaleb(-self.decimal_places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Metric:
    numerator: str
    denominator: str
    places: int
    scale: int = 1
    label: str = ""

    def expression(self, value: Callable[[str], object]):
        numerator = Numeric(value(self.numerator))
        if self.scale != 1:
            numerator = numerator * Value(Decimal(self.scale))
        ratio = numerator / NullIf(Numeric(value(self.denominator)), Value(Decimal(0)), output_field=DecimalField())
        return Round(ratio, self.places, output_field=QuantizedDecimalField(max_digits=30, decimal_places=self.places))


METRICS: dict[str, Metric] = {
    "ctr": Metric("clicks", "impressions", 6, label="CTR"),
    "cpc": Metric("spend", "clicks", 4, label="CPC"),
    "cpm": Metric("spend", "impressions", 4, scale=1000, label="CPM"),
    "cpa": Metric("spend", "conversions", 4, label="CPA"),
    "roas": Metric("sales", "spend", 4, label="ROAS"),
    "acos": Metric("spend", "sales", 6, label="ACOS"),
    "viewability_rate": Metric("viewable_impressions", "measurable_impressions", 6, label="Viewability rate"),
    "video_completion_rate": Metric("video_completions", "video_starts", 6, label="Video completion rate"),
}

# Summed columns are annotated under these names: an annotation may not reuse a field's name.
SUM_PREFIX = "sum_"


def sum_alias(field: str) -> str:
    return SUM_PREFIX + field


def summed(field: str, *, prefix: str = "", filter: Q | None = None):
    """SUM of one column, 0 rather than NULL over no rows (money stays a Decimal)."""
    if field in MONEY_FIELDS:
        zero, output = Value(Decimal("0.00")), QuantizedDecimalField(max_digits=20, decimal_places=2)
    else:
        zero, output = Value(0), BigIntegerField()
    return Coalesce(Sum(prefix + field, filter=filter, output_field=output), zero, output_field=output)


def sum_expressions(*, prefix: str = "", filter: Q | None = None, fields=VALUE_FIELDS) -> dict:
    """{"sum_impressions": SUM(impressions), …} for an annotate()/aggregate() call.

    `prefix` reaches the rows through a relation ("daily_performance__" from LineItem), and
    `filter` restricts them (a date range) the way Sum(filter=…) does.
    """
    return {sum_alias(field): summed(field, prefix=prefix, filter=filter) for field in fields}


def metric_expressions(*, prefix: str = "", filter: Q | None = None, names=None) -> dict:
    """{"ctr": SUM(clicks) / NULLIF(SUM(impressions), 0), …}: aggregates, for grouped queries."""
    return {
        name: METRICS[name].expression(lambda field: Sum(prefix + field, filter=filter))
        for name in (names or METRICS)
    }


def row_metric_expressions(names=None) -> dict:
    """The same metrics over one row's own columns (no aggregation), e.g. for a list of days."""
    return {name: METRICS[name].expression(F) for name in (names or METRICS)}


__all__ = [
    "METRICS",
    "Metric",
    "metric_expressions",
    "row_metric_expressions",
    "sum_alias",
    "sum_expressions",
    "summed",
]
