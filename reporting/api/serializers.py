"""Shapes of /api/v1/reporting/: report parameters in, rows, pacing and recommendations out."""

from datetime import timedelta
from decimal import Decimal

from rest_framework import serializers

from backend.api.progress import JobProgressMixin
from campaigns.api.scoping import PK_MAX, ScopedPrimaryKeyRelatedField
from campaigns.choices import LineItemFormat, Phase
from campaigns.models import Advertiser
from reporting.choices import Dimension, PacingStatus
from reporting.metrics import METRICS
from reporting.models import BudgetRecommendation, BudgetRecommendationLine, DailyPerformance, PerformanceImport
from reporting.recommendations import DEFAULT_LOOKBACK_DAYS, DEFAULT_MAX_SHARE, DEFAULT_MIN_SHARE
from reporting.reports import MAX_DAYS, MAX_DIMENSIONS, ReportSpec

LIST_PARAMS = ("group_by", "advertiser", "campaign", "line_item", "phase", "format", "ordering")


def query_data(query_params) -> dict:
    """Query parameters as serializer data: list parameters accept `a=1&a=2` and `a=1,2`."""
    data = {}
    for key in query_params:
        values = query_params.getlist(key)
        if key in LIST_PARAMS:
            data[key] = [part.strip() for value in values for part in value.split(",") if part.strip()]
        else:
            data[key] = values[-1]
    return data


class ReportParamsSerializer(serializers.Serializer):
    group_by = serializers.ListField(
        child=serializers.ChoiceField(choices=Dimension.choices), min_length=1, max_length=MAX_DIMENSIONS
    )
    start = serializers.DateField()
    end = serializers.DateField()
    advertiser = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=PK_MAX), required=False)
    campaign = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=PK_MAX), required=False)
    line_item = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=PK_MAX), required=False)
    phase = serializers.ListField(child=serializers.ChoiceField(choices=Phase.choices), required=False)
    format = serializers.ListField(child=serializers.ChoiceField(choices=LineItemFormat.choices), required=False)
    ordering = serializers.ListField(child=serializers.CharField(max_length=64), required=False)

    def validate_group_by(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each dimension at most once.")
        return value

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["The end date cannot be before the start date."]})
        if attrs["end"] - attrs["start"] >= timedelta(days=MAX_DAYS):
            raise serializers.ValidationError({"end": [f"At most {MAX_DAYS} days per report."]})
        spec = self.to_spec(attrs)
        unknown = [key for key in spec.ordering if key.lstrip("-") not in spec.orderable()]
        if unknown:
            raise serializers.ValidationError(
                {"ordering": [f"Cannot order by {', '.join(unknown)}; choose among: {', '.join(spec.columns())}."]}
            )
        attrs["spec"] = spec
        return attrs

    @staticmethod
    def to_spec(attrs) -> ReportSpec:
        return ReportSpec(
            group_by=tuple(attrs["group_by"]),
            start=attrs["start"],
            end=attrs["end"],
            advertiser_ids=tuple(attrs.get("advertiser", ())),
            campaign_ids=tuple(attrs.get("campaign", ())),
            line_item_ids=tuple(attrs.get("line_item", ())),
            phases=tuple(attrs.get("phase", ())),
            formats=tuple(attrs.get("format", ())),
            ordering=tuple(attrs.get("ordering", ())),
        )


class ExportParamsSerializer(ReportParamsSerializer):
    file_format = serializers.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")], default="csv")


def metric_field(name: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=30, decimal_places=METRICS[name].places, read_only=True, allow_null=True
    )


class DailyPerformanceSerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="campaign_id", read_only=True)
    advertiser = serializers.IntegerField(source="advertiser_id", read_only=True)
    currency = serializers.CharField(read_only=True)
    ctr = metric_field("ctr")
    cpc = metric_field("cpc")
    cpm = metric_field("cpm")
    cpa = metric_field("cpa")
    roas = metric_field("roas")
    acos = metric_field("acos")
    viewability_rate = metric_field("viewability_rate")
    video_completion_rate = metric_field("video_completion_rate")

    class Meta:
        model = DailyPerformance
        fields = [
            "id", "date", "advertiser", "campaign", "line_item", "currency", "impressions", "clicks", "conversions",
            "spend", "sales", "viewable_impressions", "measurable_impressions", "video_starts",
            "video_completions", *METRICS, "source", "updated_at",
        ]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False)


class ImportCountsSerializer(serializers.Serializer):
    """What an import found (rows) and, once it succeeded, what it did with them."""

    rows = serializers.IntegerField(required=False)
    created = serializers.IntegerField(required=False)
    updated = serializers.IntegerField(required=False)
    unchanged = serializers.IntegerField(required=False)


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The spreadsheet's row number (the header is row 1).")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Column → problems.")


class PerformanceImportSerializer(JobProgressMixin, serializers.ModelSerializer):
    """An upload's job: poll it until status is succeeded or failed."""

    counts = ImportCountsSerializer(read_only=True)
    errors = ImportRowErrorSerializer(many=True, read_only=True,
                                      help_text="The first failing rows (error_count counts them all).")
    requested_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = PerformanceImport
        fields = [
            "id", "status", "filename", "progress", "counts", "errors", "error_count", "error", "requested_by",
            "created_at", "started_at", "heartbeat_at", "finished_at",
        ]
        read_only_fields = fields


class PacingSerializer(serializers.Serializer):
    level = serializers.CharField()
    id = serializers.IntegerField(source="object_id")
    name = serializers.CharField()
    advertiser = serializers.IntegerField(source="advertiser_id")
    campaign = serializers.IntegerField(source="campaign_id")
    currency = serializers.CharField()
    pacing = serializers.CharField(source="plan.mode")
    budget_basis = serializers.CharField(source="plan.basis", allow_null=True)
    budget = serializers.DecimalField(source="plan.budget", max_digits=14, decimal_places=2, allow_null=True)
    planned_total = serializers.DecimalField(source="plan.planned_total", max_digits=20, decimal_places=2, allow_null=True)
    start_date = serializers.DateField(source="plan.start")
    end_date = serializers.DateField(source="plan.end", allow_null=True)
    as_of = serializers.DateField()
    flight_days = serializers.IntegerField(source="plan.flight_days", allow_null=True)
    elapsed_days = serializers.IntegerField()
    spent = serializers.DecimalField(max_digits=20, decimal_places=2)
    expected = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    even_expected = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    pace = serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True)
    forecast = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    # A plain string in the schema: one of PacingStatus (a second "status" enum would collide
    # with the campaign status enum's name in the OpenAPI components).
    status = serializers.CharField(help_text=f"One of: {', '.join(PacingStatus.values)}.")


class CampaignPacingSerializer(PacingSerializer):
    line_items = PacingSerializer(many=True, source="extra.line_items")


class RecommendationLineSerializer(serializers.ModelSerializer):
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    change = serializers.DecimalField(max_digits=15, decimal_places=2, read_only=True)

    class Meta:
        model = BudgetRecommendationLine
        fields = [
            "campaign", "campaign_name", "total_budget", "spent", "remaining", "recent_spend", "recent_sales",
            "roas", "proposed_remaining", "proposed_total_budget", "change",
        ]
        read_only_fields = fields


class RecommendationSerializer(serializers.ModelSerializer):
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    lookback_days = serializers.IntegerField(min_value=1, max_value=90, default=DEFAULT_LOOKBACK_DAYS)
    min_share = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=Decimal(0), max_value=Decimal(1), default=DEFAULT_MIN_SHARE
    )
    max_share = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=Decimal(0), max_value=Decimal(1), default=DEFAULT_MAX_SHARE
    )
    lines = RecommendationLineSerializer(many=True, read_only=True)

    class Meta:
        model = BudgetRecommendation
        fields = [
            "id", "advertiser", "status", "as_of", "lookback_days", "min_share", "max_share", "total_remaining",
            "created_by", "created_at", "decided_by", "decided_at", "lines",
        ]
        read_only_fields = [
            "status", "as_of", "total_remaining", "created_by", "created_at", "decided_by", "decided_at",
        ]
        # A new proposal supersedes the open one (the service does it), so the "one open proposal
        # per advertiser" constraint is not a reason to refuse the request.
        validators = []

    def validate(self, attrs):
        if attrs["min_share"] > attrs["max_share"]:
            raise serializers.ValidationError({"min_share": ["Cannot be above max_share."]})
        return attrs
