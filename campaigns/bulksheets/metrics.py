"""The performance columns of an export (Impressions … ROAS), filled over a chosen date range.

Amazon's download carries them for information, and an import ignores them (columns.py maps
them to no field). The figures live in reporting, which campaigns may not import: reporting
registers the source from its AppConfig.ready (`register_metrics_source`), the way integrations
registers the console's external-id search.

A source is called as `source(advertiser=…, start=…, end=…)` (both days inclusive, in the
advertiser's time zone) and returns two iterators of tuples, each streamed from the database:

* campaigns: `(campaign_id, *values)`, ordered by campaign id;
* ad groups: `(campaign_id, line_item_id, *values)`, ordered by campaign id, then line item id
  (the order the export walks the tree in);

`values` in METRIC_HEADERS' order: whole numbers, exact Decimals, or None for a blank cell. An
object without a row has no delivery in the range: its cells stay blank.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from campaigns.bulksheets.choices import JobKind
from campaigns.bulksheets.columns import DOWNLOAD_HEADERS, FIELDS

METRIC_HEADERS = tuple(DOWNLOAD_HEADERS[len(FIELDS):])
METRIC_SLICE = slice(len(FIELDS), len(DOWNLOAD_HEADERS))
# Longer ranges are reports, not bulk sheets (Amazon's download offers at most a few months).
MAX_RANGE_DAYS = 366

MetricsSource = Callable[..., tuple[Iterator[tuple], Iterator[tuple]]]
_SOURCES: list[MetricsSource] = []


class MetricsUnavailable(RuntimeError):
    """An export asked for performance columns, but no app provides them."""


@dataclass(frozen=True)
class MetricsRange:
    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None) -> "MetricsRange | None":
        """The range, None for no metrics; ValueError when only one end is given, the end comes
        before the start, or the range is longer than MAX_RANGE_DAYS."""
        if start is None and end is None:
            return None
        if start is None or end is None:
            raise ValueError("Give both the first and the last day of the performance columns, or neither.")
        if end < start:
            raise ValueError("The last day of the performance columns cannot be before the first.")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise ValueError(f"The performance columns cover at most {MAX_RANGE_DAYS} days.")
        return cls(start, end)


def range_problem(kind: str, start: date | None, end: date | None) -> tuple[str, str] | None:
    """(field, message) when a job of `kind` cannot have these performance days, else None: the
    console form and the API ask this, so both refuse alike."""
    if kind == JobKind.IMPORT and (start or end):
        return "metrics_start", "Only an export has performance columns."
    try:
        MetricsRange.of(start, end)
    except ValueError as exc:
        return ("metrics_end" if start else "metrics_start"), str(exc)
    return None


def register_metrics_source(source: MetricsSource) -> MetricsSource:
    if source not in _SOURCES:
        _SOURCES.clear()  # one source: the last app to register it wins (reloads register again)
        _SOURCES.append(source)
    return source


def metric_rows(*, advertiser, span: MetricsRange) -> tuple[Iterator[tuple], Iterator[tuple]]:
    if not _SOURCES:
        raise MetricsUnavailable("Performance columns need the reporting app, which is not installed.")
    return _SOURCES[0](advertiser=advertiser, start=span.start, end=span.end)
