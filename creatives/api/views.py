"""/api/v1/creatives/: creatives (upload, list, retrieve, rename, reprocess, assign), batches,
assignments and the ad specs. Scoped like every app (campaigns.api.scoping): another
advertiser's rows answer 404; viewers read, traders write."""

from django.db import transaction
from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from campaigns.api.scoping import Conflict, ExactJSONParser, ScopedQuerysetMixin, service_errors
from creatives import conf
from creatives.api import serializers as s
from creatives.api.filters import AdSpecFilter, AssignmentFilter, CreativeFilter
from creatives.api.uploads import install_upload_cap, precheck, single_upload_limit
from creatives.models import AdSpec, Creative, ProcessingRun, Rendition, RenditionAssignment, SpecVerdict, UploadBatch
from creatives.services import (
    CreativeNotReady,
    ZipRefused,
    batch_create_from_files,
    batch_create_from_zip,
    creative_create_tag,
    creative_process_enqueue,
    creative_upload,
    renditions_assign,
)
from creatives.services.batches import with_progress

UPLOAD_PARSERS = [MultiPartParser, FormParser, ExactJSONParser]


class CappedUploadsMixin:
    """Uploads are cut off at `upload_limit()` while they stream in (413), before DRF parses them."""

    def upload_limit(self) -> int:
        return conf.CREATIVES_MAX_UPLOAD_BYTES

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            install_upload_cap(request, self.upload_limit())
        return super().initialize_request(request, *args, **kwargs)


class CreativeViewSet(CappedUploadsMixin, ScopedQuerysetMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                      mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    queryset = Creative.objects.all()
    parser_classes = UPLOAD_PARSERS
    filterset_class = CreativeFilter
    search_fields = ["name", "original_filename", "=sha256"]
    ordering_fields = ["created_at", "name", "size_bytes", "status"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def upload_limit(self) -> int:
        return single_upload_limit()

    def get_queryset(self):
        queryset = super().get_queryset().annotate(
            passed_specs=Count("verdicts", filter=Q(verdicts__passed=True)),
            failed_specs=Count("verdicts", filter=Q(verdicts__passed=False)),
        ).order_by("-created_at", "-id")  # explicit: Meta.ordering does not apply to GROUP BY queries
        if self.action != "list":
            queryset = queryset.prefetch_related(
                Prefetch("verdicts", SpecVerdict.objects.select_related("spec")),
                Prefetch("renditions", Rendition.objects.select_related("spec").prefetch_related("assignments")),
                Prefetch("runs", ProcessingRun.objects.order_by("-created_at", "-id")),
                "requested_specs",
            )
        return queryset

    def get_serializer_class(self):
        if self.action == "create":
            return s.CreativeCreateSerializer
        if self.action == "assign":
            return s.AssignSerializer
        return s.CreativeSerializer if self.action == "list" else s.CreativeDetailSerializer

    def _detail(self, creative: Creative, code: int) -> Response:
        creative = self.get_queryset().get(pk=creative.pk)
        return Response(s.CreativeDetailSerializer(creative, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=s.CreativeCreateSerializer, responses={201: s.CreativeDetailSerializer,
                                                                  200: s.CreativeDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Upload a file (multipart) or register a tag; 201 when new, 200 when these bytes were
        already uploaded for the advertiser (the existing creative)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        advertiser = data["advertiser"]
        self.check_role(advertiser.pk, self.write_role)
        upload = data.get("file")
        with service_errors():
            if upload is not None:
                precheck(upload)
                result = creative_upload(advertiser=advertiser, fh=upload, filename=upload.name, name=data.get("name", ""),
                                         by=request.user, specs=data.get("specs"))
            else:
                result = creative_create_tag(
                    advertiser=advertiser, name=data.get("name", ""), width=data.get("width"), height=data.get("height"),
                    third_party_tag=data.get("third_party_tag", ""), vast_url=data.get("vast_url", ""), by=request.user,
                    specs=data.get("specs"),
                )
        return self._detail(result.creative, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    def perform_update(self, serializer):
        serializer.save()  # only the name is writable

    @extend_schema(request=None, responses={202: s.CreativeDetailSerializer})
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        """Check the creative again against the current specs (after a spec changed)."""
        creative = self.get_object()
        creative_process_enqueue(creative=creative, reason="reprocess")
        return self._detail(creative, status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.AssignSerializer, responses={200: s.AssignmentSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Put the creative's renditions on line items whose format fits (all or nothing)."""
        creative = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with service_errors():
                assignments = renditions_assign(
                    creative=creative, line_items=serializer.validated_data["line_items"],
                    specs=serializer.validated_data.get("specs"), by=request.user,
                )
        except CreativeNotReady as exc:
            raise Conflict(str(exc)) from None
        return Response(s.AssignmentSerializer(assignments, many=True).data)


class UploadBatchViewSet(CappedUploadsMixin, ScopedQuerysetMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                         mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Many files, or a zip, at once; progress counts each file's creative."""

    queryset = UploadBatch.objects.all()
    parser_classes = UPLOAD_PARSERS
    ordering_fields = ["created_at"]

    def get_queryset(self):
        queryset = with_progress(super().get_queryset()).order_by("-created_at", "-id")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("items__creative")
        return queryset

    def get_serializer_class(self):
        return {"create": s.BatchCreateSerializer, "retrieve": s.BatchDetailSerializer}.get(self.action, s.BatchSerializer)

    @extend_schema(request=s.BatchCreateSerializer, responses={202: s.BatchDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        advertiser = data["advertiser"]
        self.check_role(advertiser.pk, self.write_role)
        try:
            if data.get("archive") is not None:
                batch = batch_create_from_zip(advertiser=advertiser, fh=data["archive"], filename=data["archive"].name,
                                              by=request.user)
            else:
                for upload in data["files"]:
                    precheck(upload, field="files")
                batch = batch_create_from_files(advertiser=advertiser, uploads=data["files"], by=request.user)
        except ZipRefused as refusal:
            raise ValidationError({"archive": [refusal.message]}) from None
        batch = self.get_queryset().prefetch_related("items__creative").get(pk=batch.pk)
        return Response(s.BatchDetailSerializer(batch, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)


class AssignmentViewSet(ScopedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Renditions on line items; DELETE takes one off its line item."""

    queryset = RenditionAssignment.objects.select_related("rendition__spec")
    serializer_class = s.AssignmentSerializer
    filterset_class = AssignmentFilter

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()


class AdSpecViewSet(viewsets.ReadOnlyModelViewSet):
    """The specs every creative is checked against (global, not per advertiser; edited in the admin)."""

    queryset = AdSpec.objects.all()
    serializer_class = s.AdSpecSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = AdSpecFilter
    ordering_fields = ["kind", "group", "width", "height", "code"]
