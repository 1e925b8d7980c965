"""List filters for /api/v1/reporting/. Ids are bounded integers (campaigns.api.filters.IdFilter):
a filter naming another advertiser's object simply matches nothing in the caller's rows."""

import django_filters

from campaigns.api.filters import IdFilter
from campaigns.choices import LineItemFormat, Phase
from campaigns.models import Campaign, LineItem
from reporting.models import BudgetRecommendation, DailyPerformance


class DailyPerformanceFilter(django_filters.FilterSet):
    start = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    end = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    advertiser = IdFilter(field_name="line_item__campaign__advertiser_id")
    campaign = IdFilter(field_name="line_item__campaign_id")
    line_item = IdFilter(field_name="line_item_id")

    class Meta:
        model = DailyPerformance
        fields = ["start", "end", "advertiser", "campaign", "line_item"]


class PacingCampaignFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="advertiser_id")
    phase = django_filters.MultipleChoiceFilter(choices=Phase.choices)

    class Meta:
        model = Campaign
        fields = ["advertiser", "phase"]


class PacingLineItemFilter(django_filters.FilterSet):
    advertiser = IdFilter(field_name="campaign__advertiser_id")
    campaign = IdFilter(field_name="campaign_id")
    format = django_filters.MultipleChoiceFilter(choices=LineItemFormat.choices)

    class Meta:
        model = LineItem
        fields = ["advertiser", "campaign", "format"]


class RecommendationFilter(django_filters.FilterSet):
    # An id, not a choice of every advertiser: "does not exist" (400) against another advertiser's
    # (empty list) would tell which ids exist, and an id past BIGINT would reach the database.
    advertiser = IdFilter(field_name="advertiser_id")

    class Meta:
        model = BudgetRecommendation
        fields = ["advertiser", "status"]
