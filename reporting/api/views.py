"""/api/v1/reporting/: grouped reports and their exports, daily rows, imports, pacing and
budget recommendations.

Tenancy is the campaigns app's rule (campaigns.api.scoping): every queryset goes through
`visible_to(request.user)`; an advertiser, campaign or line item of another advertiser, named in
a path or a filter, answers 404 exactly like one that does not exist.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import F
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from campaigns.api.scoping import Conflict, ScopedReadOnlyModelViewSet, service_errors
from campaigns.choices import Role
from campaigns.models import Advertiser, Campaign, LineItem
from reporting.api.filters import (
    DailyPerformanceFilter,
    PacingCampaignFilter,
    PacingLineItemFilter,
    RecommendationFilter,
)
from reporting.api.serializers import (
    CampaignPacingSerializer,
    DailyPerformanceSerializer,
    ExportParamsSerializer,
    PacingSerializer,
    PerformanceImportSerializer,
    RecommendationSerializer,
    ReportParamsSerializer,
    UploadSerializer,
    query_data,
)
from reporting.exports import export_response
from reporting.metrics import row_metric_expressions
from reporting.imports import performance_import_create
from reporting.models import BudgetRecommendation, DailyPerformance, PerformanceImport
from reporting.recommendations import (
    RecommendationConflict,
    budget_recommendation_accept,
    budget_recommendation_propose,
)
from reporting.reports import (
    ReportSpec,
    as_json_value,
    report_queryset,
    report_row,
    report_rows,
    report_totals,
)
from reporting.selectors import live_campaigns, live_line_items, pacing_for_campaigns, pacing_for_line_items
from reporting.uploads import UploadRefused

REPORT_PARAMETERS = [
    OpenApiParameter("group_by", str, required=True, description="advertiser, campaign, phase, line_item, day, week (comma-separated, up to 3)"),
    OpenApiParameter("start", OpenApiTypes.DATE, required=True, description="First day, advertiser's time zone"),
    OpenApiParameter("end", OpenApiTypes.DATE, required=True, description="Last day, inclusive"),
    OpenApiParameter("advertiser", str, description="Advertiser ids (comma-separated)"),
    OpenApiParameter("campaign", str, description="Campaign ids"),
    OpenApiParameter("line_item", str, description="Line item ids"),
    OpenApiParameter("phase", str, description="awareness, consideration, conversion"),
    OpenApiParameter("format", str, description="Line item formats"),
    OpenApiParameter("ordering", str, description="Columns, '-' for descending, e.g. -roas,campaign_name"),
]


def check_visible_ids(user, spec: ReportSpec) -> None:
    """404 when a filter names an object the caller cannot see (or that does not exist)."""
    for model, ids in ((Advertiser, spec.advertiser_ids), (Campaign, spec.campaign_ids), (LineItem, spec.line_item_ids)):
        if ids and model.objects.visible_to(user).filter(pk__in=ids).count() != len(set(ids)):
            raise NotFound(f"No such {model._meta.verbose_name}.")


class ReportMixin:
    params_serializer = ReportParamsSerializer

    @cached_property
    def spec(self) -> ReportSpec:
        params = self.params_serializer(data=query_data(self.request.query_params))
        params.is_valid(raise_exception=True)
        self.params = params.validated_data
        check_visible_ids(self.request.user, params.validated_data["spec"])
        return params.validated_data["spec"]

    def performance(self):
        return DailyPerformance.objects.visible_to(self.request.user)


class ReportView(ReportMixin, GenericAPIView):
    """Grouped performance over a date range: summed columns and metrics per group, paginated,
    with the range's totals per currency."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=REPORT_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        spec = self.spec
        page = self.paginate_queryset(report_queryset(self.performance(), spec))
        columns = spec.columns()
        response = self.get_paginated_response(
            [{k: as_json_value(v) for k, v in report_row(row, columns).items()} for row in page]
        )
        response.data["columns"] = columns
        response.data["totals"] = [
            {k: as_json_value(v) for k, v in row.items()} for row in report_totals(self.performance(), spec)
        ]
        return response


class ReportExportView(ReportMixin, GenericAPIView):
    """The same report as a CSV or XLSX file (`file_format`), every group, streamed."""

    permission_classes = [IsAuthenticated]
    params_serializer = ExportParamsSerializer

    @extend_schema(
        parameters=[*REPORT_PARAMETERS, OpenApiParameter("file_format", str, enum=["csv", "xlsx"])],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        spec = self.spec
        columns = spec.columns()
        rows = ([row[c] for c in columns] for row in report_rows(self.performance(), spec))
        filename = f"report-{'-'.join(spec.group_by)}-{spec.start}-{spec.end}"
        return export_response(file_format=self.params["file_format"], filename=filename, header=columns, rows=rows)


class PerformanceImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Daily performance uploads (CSV or XLSX), read and written by a worker: POST the file (202),
    then poll the job until it succeeded (counts) or failed (nothing written; `errors` lists the
    failing rows, `error` says why). Every row valid, or nothing written; re-uploading a day
    replaces it, and the same file twice changes nothing. Each user sees their own uploads."""

    queryset = PerformanceImport.objects.select_related("requested_by")
    serializer_class = PerformanceImportSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["status"]
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def get_serializer_class(self):
        return UploadSerializer if self.action == "create" else PerformanceImportSerializer

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={202: PerformanceImportSerializer})
    def create(self, request, *args, **kwargs):
        if not Advertiser.objects.visible_to(request.user, Role.TRADER).exists():
            raise PermissionDenied("Importing performance needs the trader role on an advertiser.")
        upload = self.get_serializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            job = performance_import_create(upload=upload.validated_data["file"], by=request.user)
        except UploadRefused as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        data = PerformanceImportSerializer(job, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class DailyPerformanceViewSet(ScopedReadOnlyModelViewSet):
    """Daily rows with their own metrics; filter by date range, advertiser, campaign, line item."""

    queryset = DailyPerformance.objects.annotate(
        campaign_id=F("line_item__campaign_id"),
        advertiser_id=F("line_item__campaign__advertiser_id"),
        currency=F("line_item__campaign__advertiser__currency"),
        **row_metric_expressions(),
    )
    serializer_class = DailyPerformanceSerializer
    filterset_class = DailyPerformanceFilter
    ordering_fields = ["date", "spend", "impressions", "roas", "id"]
    ordering = ["-date", "line_item_id"]


class CampaignPacingViewSet(ScopedReadOnlyModelViewSet):
    """Pacing of live campaigns (list) or of any visible campaign with its line items (detail)."""

    queryset = Campaign.objects.select_related("advertiser").order_by("advertiser__name", "name", "pk")
    serializer_class = CampaignPacingSerializer
    filterset_class = PacingCampaignFilter

    def get_queryset(self):
        queryset = super().get_queryset()
        return live_campaigns(queryset) if self.action == "list" else queryset

    @extend_schema(responses=PacingSerializer(many=True))
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PacingSerializer(pacing_for_campaigns(page), many=True).data)

    def retrieve(self, request, *args, **kwargs):
        campaign = self.get_object()
        pacing = pacing_for_campaigns([campaign])[0]
        line_items = LineItem.objects.filter(campaign=campaign).select_related("campaign__advertiser").order_by("pk")
        pacing.extra["line_items"] = pacing_for_line_items(line_items, as_of=pacing.as_of)
        return Response(CampaignPacingSerializer(pacing).data)


class LineItemPacingViewSet(ScopedReadOnlyModelViewSet):
    """Pacing of the enabled line items of live campaigns."""

    queryset = LineItem.objects.select_related("campaign__advertiser").order_by("campaign_id", "pk")
    serializer_class = PacingSerializer
    filterset_class = PacingLineItemFilter

    def get_queryset(self):
        queryset = super().get_queryset()
        return live_line_items(queryset) if self.action == "list" else queryset

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PacingSerializer(pacing_for_line_items(page), many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(PacingSerializer(pacing_for_line_items([self.get_object()])[0]).data)


class RecommendationViewSet(ScopedReadOnlyModelViewSet):
    """Budget recommendations: propose (trader), read (viewer), accept (manager)."""

    queryset = BudgetRecommendation.objects.select_related("advertiser").prefetch_related("lines__campaign")
    serializer_class = RecommendationSerializer
    filterset_class = RecommendationFilter
    action_roles = {"accept": Role.MANAGER}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self.check_role(data["advertiser"].pk, Role.TRADER)
        with service_errors():
            recommendation = budget_recommendation_propose(
                advertiser=data["advertiser"], by=request.user, lookback_days=data["lookback_days"],
                min_share=data["min_share"], max_share=data["max_share"],
            )
        return Response(self.get_serializer(self.get_queryset().get(pk=recommendation.pk)).data, status=201)

    @extend_schema(request=None, responses={
        200: RecommendationSerializer,
        409: OpenApiResponse(description="Accepted or superseded already, or the budgets changed since it was proposed."),
    })
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        recommendation = self.get_object()
        try:
            with service_errors():
                budget_recommendation_accept(recommendation=recommendation, by=request.user)
        except RecommendationConflict as exc:
            raise Conflict(str(exc)) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=recommendation.pk)).data)

