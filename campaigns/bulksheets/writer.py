"""Workbooks out: an advertiser's campaign tree in Amazon's download layout, and the error
workbook of an import. Both stream through openpyxl's write-only mode (rows go to a temporary
file as they are appended), and the export reads the tree through database iterators merged in
tree order, so memory does not grow with the number of rows. With a date range, campaign and ad
group rows carry their delivery in the performance columns (campaigns.bulksheets.metrics), read
the same way: two more grouped queries, streamed and merged.
"""

from collections.abc import Callable, Iterator
from datetime import date, datetime

from django.utils import timezone

from campaigns.bulksheets.columns import (
    BIDDING_STRATEGY_LABELS,
    CONFIG_SHEET,
    DOWNLOAD_HEADERS,
    INDEX,
    PLACEMENT_LABELS,
    PORTFOLIO_HEADERS,
    PORTFOLIOS_SHEET,
    PRODUCT,
    SP_SHEET,
    TARGETING_TYPE_LABELS,
    WIDTH,
)
from campaigns.bulksheets.metrics import METRIC_SLICE, MetricsRange, metric_rows
from campaigns.bulksheets.models import CampaignNegativeKeyword, CampaignNegativeTarget, PlacementAdjustment
from campaigns.bulksheets.reader import ID_SPACE_OURS
from campaigns.bulksheets.safety import neutralise
from campaigns.choices import CampaignStatus, MatchType
from campaigns.models import Campaign, Keyword, LineItem, ProductAd, ProductTarget

SUMMARY_SHEET = "Upload Processing Summary"
SUMMARY_HEADERS = ["Original record #", "Error type", "Error code", "Error message"]
ERROR_COLUMN = "Error message"
_CHUNK = 500
_NEGATIVES = MatchType.negatives()

(_PRODUCT, _ENTITY, _CAMPAIGN_ID, _AD_GROUP_ID, _AD_ID, _KEYWORD_ID, _TARGET_ID, _CAMPAIGN_NAME, _AD_GROUP_NAME,
 _CAMPAIGN_NAME_INFO, _AD_GROUP_NAME_INFO, _START, _END, _TARGETING, _STATE, _CAMPAIGN_STATE_INFO,
 _AD_GROUP_STATE_INFO, _BUDGET, _SKU, _ASIN_INFO, _DEFAULT_BID, _DEFAULT_BID_INFO, _BID, _KEYWORD, _MATCH,
 _STRATEGY, _PLACEMENT, _PERCENTAGE, _EXPRESSION, _RESOLVED) = (INDEX[f] for f in (
    "product", "entity", "campaign_id", "ad_group_id", "ad_id", "keyword_id", "product_targeting_id",
    "campaign_name", "ad_group_name", "campaign_name_info", "ad_group_name_info", "start_date", "end_date",
    "targeting_type", "state", "campaign_state_info", "ad_group_state_info", "daily_budget", "sku", "asin_info",
    "ad_group_default_bid", "ad_group_default_bid_info", "bid", "keyword_text", "match_type",
    "bidding_strategy", "placement", "percentage", "product_targeting_expression", "resolved_expression_info"))


def _day(value: date | None) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def _state(status: str) -> str:
    # Amazon has no draft: a draft campaign is not running, which Amazon calls paused.
    return "paused" if status == CampaignStatus.DRAFT else status


class _Merge:
    """Rows of an iterator sorted by parent id, handed out one parent at a time."""

    def __init__(self, rows):
        self.rows = iter(rows)
        self.head = next(self.rows, None)

    def take(self, parent_id: int) -> Iterator[tuple]:
        while self.head is not None and self.head[0] < parent_id:
            self.head = next(self.rows, None)  # an orphan cannot exist (foreign keys); skip it anyway
        while self.head is not None and self.head[0] == parent_id:
            yield self.head
            self.head = next(self.rows, None)


def export_row_count(advertiser) -> int:
    by_campaign = {"campaign__advertiser": advertiser}
    by_line_item = {"line_item__campaign__advertiser": advertiser}
    return (Campaign.objects.filter(advertiser=advertiser).count()
            + LineItem.objects.filter(**by_campaign).count()
            + PlacementAdjustment.objects.filter(**by_campaign).count()
            + CampaignNegativeKeyword.objects.filter(**by_campaign).count()
            + CampaignNegativeTarget.objects.filter(**by_campaign).count()
            + sum(m.objects.filter(**by_line_item).count() for m in (ProductAd, Keyword, ProductTarget)))


_NO_ROWS = iter(())


def _by_ad_group(rows) -> Iterator[tuple]:
    # (campaign id, line item id, *values) → ((campaign id, line item id), *values): one merge key
    # in the order the export walks ad groups.
    for row in rows:
        yield ((row[0], row[1]), *row[2:])


def export_rows(advertiser, metrics: MetricsRange | None = None) -> Iterator[list]:
    """The advertiser's tree as sheet rows, in Amazon's order: a campaign, its bidding
    adjustments, each ad group with its product ads, keywords and targets, then the campaign's
    negatives. One query per model, each read in chunks. With `metrics`, campaign and ad group
    rows carry their delivery over that range (numbers only: nothing there can start a formula);
    the rest of the performance columns stay blank, as they do without it."""
    by_campaign = {"campaign__advertiser": advertiser}
    by_line_item = {"line_item__campaign__advertiser": advertiser}
    child_order = ("line_item__campaign_id", "line_item_id", "id")

    def stream(queryset, *fields, order=("campaign_id", "id")):
        return queryset.order_by(*order).values_list(*fields).iterator(chunk_size=_CHUNK)

    placements = _Merge(stream(PlacementAdjustment.objects.filter(**by_campaign), "campaign_id", "placement",
                               "percentage", order=("campaign_id", "placement")))
    negative_keywords = _Merge(stream(CampaignNegativeKeyword.objects.filter(**by_campaign), "campaign_id", "id",
                                      "text", "match_type", "state"))
    negative_targets = _Merge(stream(CampaignNegativeTarget.objects.filter(**by_campaign), "campaign_id", "id",
                                     "expression", "state"))
    line_items = _Merge(stream(LineItem.objects.filter(**by_campaign), "campaign_id", "id", "name", "status",
                               "default_bid"))
    ads = _Merge(stream(ProductAd.objects.filter(**by_line_item), "line_item_id", "id", "sku", "asin", "state",
                        order=child_order))
    keywords = _Merge(stream(Keyword.objects.filter(**by_line_item), "line_item_id", "id", "text", "match_type",
                             "bid", "state", order=child_order))
    targets = _Merge(stream(ProductTarget.objects.filter(**by_line_item), "line_item_id", "id", "expression",
                            "negative", "bid", "state", order=child_order))
    if metrics is not None:
        campaign_figures, group_figures = metric_rows(advertiser=advertiser, span=metrics)
    else:
        campaign_figures, group_figures = _NO_ROWS, _NO_ROWS
    campaign_metrics, group_metrics = _Merge(campaign_figures), _Merge(_by_ad_group(group_figures))
    campaigns = Campaign.objects.filter(advertiser=advertiser).order_by("id").values_list(
        "id", "name", "status", "start_date", "end_date", "targeting_type", "daily_budget", "bidding_strategy"
    ).iterator(chunk_size=_CHUNK)

    for cid, name, status, start, end, targeting, budget, strategy in campaigns:
        cid_text, name_cell, state = str(cid), neutralise(name), _state(status)
        strategy_label = BIDDING_STRATEGY_LABELS.get(strategy, strategy)

        def row(entity: str) -> list:
            cells = [None] * WIDTH
            cells[_PRODUCT], cells[_ENTITY], cells[_CAMPAIGN_ID] = PRODUCT, entity, cid_text
            cells[_CAMPAIGN_NAME_INFO] = name_cell
            return cells

        cells = row("Campaign")
        cells[_CAMPAIGN_NAME], cells[_START], cells[_END] = name_cell, _day(start), _day(end)
        cells[_TARGETING], cells[_STATE], cells[_CAMPAIGN_STATE_INFO] = TARGETING_TYPE_LABELS.get(targeting), state, state
        cells[_BUDGET], cells[_STRATEGY] = budget, strategy_label
        for figures in campaign_metrics.take(cid):
            cells[METRIC_SLICE] = figures[1:]
        yield cells
        for _, placement, percentage in placements.take(cid):
            cells = row("Bidding Adjustment")
            cells[_STRATEGY], cells[_PLACEMENT], cells[_PERCENTAGE] = strategy_label, PLACEMENT_LABELS[placement], percentage
            yield cells
        for _, lid, group_name, group_status, default_bid in line_items.take(cid):
            lid_text, group_cell = str(lid), neutralise(group_name)
            cells = row("Ad Group")
            cells[_AD_GROUP_ID], cells[_AD_GROUP_NAME], cells[_AD_GROUP_NAME_INFO] = lid_text, group_cell, group_cell
            cells[_STATE], cells[_CAMPAIGN_STATE_INFO], cells[_AD_GROUP_STATE_INFO] = group_status, state, group_status
            cells[_DEFAULT_BID] = cells[_DEFAULT_BID_INFO] = default_bid
            for figures in group_metrics.take((cid, lid)):
                cells[METRIC_SLICE] = figures[1:]
            yield cells
            for _, pk, sku, asin, ad_state in ads.take(lid):
                cells = row("Product Ad")
                cells[_AD_GROUP_ID], cells[_AD_GROUP_NAME_INFO], cells[_AD_ID] = lid_text, group_cell, str(pk)
                cells[_STATE], cells[_SKU], cells[_ASIN_INFO] = ad_state, neutralise(sku) or None, asin or None
                yield cells
            for _, pk, text, match, bid, kw_state in keywords.take(lid):
                cells = row("Negative Keyword" if match in _NEGATIVES else "Keyword")
                cells[_AD_GROUP_ID], cells[_AD_GROUP_NAME_INFO], cells[_KEYWORD_ID] = lid_text, group_cell, str(pk)
                cells[_STATE], cells[_KEYWORD], cells[_MATCH], cells[_BID] = kw_state, neutralise(text), match, bid
                yield cells
            for _, pk, expression, negative, bid, target_state in targets.take(lid):
                cells = row("Negative Product Targeting" if negative else "Product Targeting")
                cells[_AD_GROUP_ID], cells[_AD_GROUP_NAME_INFO], cells[_TARGET_ID] = lid_text, group_cell, str(pk)
                cells[_STATE], cells[_BID] = target_state, bid
                cells[_EXPRESSION] = cells[_RESOLVED] = neutralise(expression)
                yield cells
        for _, pk, text, match, kw_state in negative_keywords.take(cid):
            cells = row("Campaign Negative Keyword")
            cells[_KEYWORD_ID], cells[_STATE], cells[_KEYWORD], cells[_MATCH] = str(pk), kw_state, neutralise(text), match
            yield cells
        for _, pk, expression, target_state in negative_targets.take(cid):
            cells = row("Campaign Negative Product Targeting")
            cells[_TARGET_ID], cells[_STATE] = str(pk), target_state
            cells[_EXPRESSION] = cells[_RESOLVED] = neutralise(expression)
            yield cells


def _config_rows(advertiser, id_space: str, metrics: MetricsRange | None = None) -> list[list[str]]:
    lines = [["key", "value"], ["version", "2"], ["id_space", id_space], ["advertiser", str(advertiser.pk)],
             ["currency", advertiser.currency], ["marketplace", advertiser.country],
             ["generated_at", timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")]]
    if metrics is not None:
        lines += [["performance_from", _day(metrics.start)], ["performance_to", _day(metrics.end)]]
    return lines


def write_export(*, advertiser, handle, progress: Callable[[int, int], None] | None = None, total: int = 0,
                 metrics: MetricsRange | None = None) -> int:
    """Write the export workbook to `handle` (binary, writable); returns the number of rows.
    `metrics`: the days whose delivery fills the performance columns (None: blank)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    workbook.create_sheet(PORTFOLIOS_SHEET).append(PORTFOLIO_HEADERS)
    sheet = workbook.create_sheet(SP_SHEET)
    sheet.append(DOWNLOAD_HEADERS)
    append = sheet.append
    written = 0
    for written, cells in enumerate(export_rows(advertiser, metrics), start=1):
        append(cells)
        if progress is not None and written % _CHUNK == 0:
            progress(written, total)
    config = workbook.create_sheet(CONFIG_SHEET)
    config.sheet_state = "hidden"
    for line in _config_rows(advertiser, ID_SPACE_OURS, metrics):
        config.append(line)
    workbook.save(handle)
    if progress is not None:
        progress(written, total or written)
    return written


def _cell(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # an id typed as a number stays a whole number
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    if value == "":
        return None
    return neutralise(value)


def write_error_workbook(*, handle, advertiser, id_space: str, header: list, rows: dict[int, list],
                         errors: dict[int, list]) -> None:
    """Amazon's error report: the "Upload Processing Summary" tab (one line per error) and the
    Sponsored Products tab with each failed row as uploaded and its messages at the far right,
    ready to be fixed and uploaded again."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(SUMMARY_SHEET)
    summary.append(SUMMARY_HEADERS)
    for number in sorted(errors):
        for error in errors[number]:
            summary.append([number, error.type, error.code, neutralise(error.message)])
    sheet = workbook.create_sheet(SP_SHEET)
    width = len(header)
    sheet.append([neutralise(h) for h in header] + [ERROR_COLUMN])
    for number in sorted(errors):
        cells = rows.get(number, [])
        cells = [_cell(v) for v in cells[:width]] + [None] * (width - len(cells))
        sheet.append(cells + [neutralise("; ".join(e.message for e in errors[number]))])
    config = workbook.create_sheet(CONFIG_SHEET)
    config.sheet_state = "hidden"
    for line in _config_rows(advertiser, id_space):
        config.append(line)
    workbook.save(handle)
