"""/api/v1/campaigns/bulk-sheets/: create an export or an import, follow its progress, confirm
an import's dry run, download the files. Scoped like every tenant row (campaigns.api.scoping):
another advertiser's job answers 404."""

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from campaigns.api.scoping import Conflict, ExactJSONParser, ScopedQuerysetMixin
from campaigns.bulksheets.api.serializers import (
    BulkSheetConfirmSerializer,
    BulkSheetCreateSerializer,
    BulkSheetJobSerializer,
)
from campaigns.bulksheets.choices import JobKind
from campaigns.bulksheets.models import BulkSheetJob
from campaigns.bulksheets.safety import SheetRefused
from campaigns.bulksheets.services import (
    BudgetRoleRequired,
    IdempotencyConflict,
    JobConflict,
    bulk_sheet_confirm,
    bulk_sheet_export_create,
    bulk_sheet_import_create,
)
from campaigns.choices import Role

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_response(field, filename: str) -> FileResponse:
    response = FileResponse(field.open("rb"), as_attachment=True, filename=filename, content_type=XLSX)
    response["Cache-Control"] = "no-store"
    return response


class BulkSheetJobViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulk-sheet jobs of the caller's advertisers. An import stops at awaiting_confirmation with
    its dry run in `diff`; POST …/confirm/ writes it (Idempotency-Key header honoured)."""

    queryset = BulkSheetJob.objects.select_related("advertiser", "requested_by", "confirmed_by")
    serializer_class = BulkSheetJobSerializer
    parser_classes = [MultiPartParser, FormParser, ExactJSONParser]
    filterset_fields = ["advertiser", "kind", "status"]
    ordering_fields = ["created_at", "id"]
    # Exporting reads only; importing and confirming write (budgets on confirm: a manager).
    action_roles = {"download": Role.VIEWER, "errors": Role.VIEWER}

    def get_serializer_class(self):
        if self.action == "create":
            return BulkSheetCreateSerializer
        if self.action == "confirm":
            return BulkSheetConfirmSerializer
        return BulkSheetJobSerializer

    def _job(self, job, code=status.HTTP_200_OK, **headers) -> Response:
        data = BulkSheetJobSerializer(job, context=self.get_serializer_context()).data
        return Response(data, status=code, headers=headers or None)

    @extend_schema(request={"multipart/form-data": BulkSheetCreateSerializer, "application/json": BulkSheetCreateSerializer},
                   responses={202: BulkSheetJobSerializer})
    def create(self, request, *args, **kwargs):
        """Queue an export, or upload a sheet for a dry run (202; follow the job's progress)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        advertiser = data["advertiser"]
        if data["kind"] == JobKind.EXPORT:
            self.check_role(advertiser.pk, Role.VIEWER)
            job = bulk_sheet_export_create(advertiser=advertiser, by=request.user,
                                           metrics_start=data.get("metrics_start"), metrics_end=data.get("metrics_end"))
        else:
            self.check_role(advertiser.pk, Role.TRADER)
            upload = data["file"]
            try:
                job = bulk_sheet_import_create(advertiser=advertiser, fileobj=upload, filename=upload.name,
                                               by=request.user, mode=data["mode"])
            except SheetRefused as exc:
                raise ValidationError({"file": [str(exc)]}) from None
        return self._job(job, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=BulkSheetConfirmSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={202: BulkSheetJobSerializer, 409: OpenApiResponse(description="Not awaiting confirmation, rows "
                   "with errors and mode all, or the idempotency key used with other parameters.")},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Apply the dry run: all rows (nothing is written if one has an error) or only the valid ones."""
        job = self.get_object()  # 404 outside the caller's advertisers, 403 below trader
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job, replayed = bulk_sheet_confirm(job=job, apply_mode=serializer.validated_data["mode"], by=request.user,
                                               idempotency_key=request.headers.get("Idempotency-Key", ""))
        except (JobConflict, IdempotencyConflict) as exc:
            raise Conflict(str(exc)) from None
        except BudgetRoleRequired as exc:
            raise PermissionDenied(str(exc)) from None
        return self._job(job, status.HTTP_202_ACCEPTED, **({"Idempotent-Replayed": "true"} if replayed else {}))

    @extend_schema(responses={(200, XLSX): OpenApiResponse(description="The sheet (uploaded, or the export).")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        job = self.get_object()
        if not job.file:
            raise NotFound("This job has no file yet.")
        return file_response(job.file, job.filename or f"bulk-sheet-{job.pk}.xlsx")

    @extend_schema(responses={(200, XLSX): OpenApiResponse(description="The error workbook of the dry run.")})
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        job = self.get_object()
        if not job.error_file:
            raise NotFound("This job has no error workbook.")
        return file_response(job.error_file, f"bulk-sheet-{job.pk}-errors.xlsx")
