"""/api/v1/creatives/kargo/: formats (everyone reads, superusers edit), deals (scoped by the
advertisers they are offered to), deal targets (scoped by line item), Kargo creatives (by
advertiser) and deal-list imports (by advertiser; a job row polled for progress)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from campaigns.api.scoping import (
    ExactJSONParser,
    ScopedModelViewSet,
    ScopedQuerysetMixin,
    service_errors,
    validation_detail,
)
from campaigns.api.serializers import DetailSerializer
from campaigns.choices import Role
from campaigns.permissions import has_role
from creatives.kargo.api import serializers as s
from creatives.kargo.imports import ImportRefused, kargo_deal_import_start
from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealImport, KargoDealTarget, KargoFormat
from creatives.kargo.services import kargo_creative_create, kargo_deal_target_create


class SuperuserEdits(BasePermission):
    message = "Only superusers can change Kargo formats."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            request.method in SAFE_METHODS or request.user.is_superuser)


class KargoFormatViewSet(viewsets.ModelViewSet):
    queryset = KargoFormat.objects.select_related("ad_spec")
    serializer_class = s.KargoFormatSerializer
    permission_classes = [IsAuthenticated, SuperuserEdits]
    parser_classes = [ExactJSONParser]
    http_method_names = ["get", "post", "patch", "head", "options"]


class KargoDealViewSet(ScopedModelViewSet):
    """Deals offered to the caller's advertisers. Writing needs the trader role on every
    advertiser the caller offers the deal to (and, on change, on those it already sees)."""

    queryset = KargoDeal.objects.prefetch_related("advertisers", "formats", "targets")
    serializer_class = s.KargoDealSerializer
    permission_classes = [IsAuthenticated]  # a deal has many advertisers: roles are checked per write below
    filterset_fields = ["deal_type", "state", "currency"]
    search_fields = ["deal_id", "name"]
    ordering_fields = ["end_date", "floor_cpm", "deal_id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _check_advertisers(self, advertisers) -> None:
        for advertiser in advertisers:
            self.check_role(advertiser.pk, self.write_role)

    def perform_create(self, serializer):
        advertisers = serializer.validated_data.get("advertisers") or []
        if not advertisers and not self.request.user.is_superuser:
            raise ValidationError({"advertisers": ["Offer the deal to at least one of your advertisers."]})
        self._check_advertisers(advertisers)
        with service_errors():
            serializer.save()

    def perform_update(self, serializer):
        visible = serializer.instance.advertisers.visible_to(self.request.user)
        self._check_advertisers([*visible, *serializer.validated_data.get("advertisers", [])])
        with service_errors():
            serializer.save()


class KargoDealTargetViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                             mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    queryset = KargoDealTarget.objects.select_related("deal", "line_item")
    serializer_class = s.KargoDealTargetSerializer
    filterset_fields = ["line_item", "deal"]

    @extend_schema(responses={201: s.KargoDealTargetSerializer,
                              409: OpenApiResponse(DetailSerializer, description="The line item or its campaign "
                                                   "is archived (archived is final).")})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = serializer.validated_data
        self.check_role(data["line_item"].campaign.advertiser_id, self.write_role)
        with service_errors():
            serializer.instance = kargo_deal_target_create(deal=data["deal"], line_item=data["line_item"],
                                                           by=self.request.user)


class KargoCreativeViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                           mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = KargoCreative.objects.select_related("creative", "format", "deal")
    serializer_class = s.KargoCreativeSerializer
    filterset_fields = ["advertiser", "deal", "format", "tag_type"]
    search_fields = ["name"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        self.check_role(data["advertiser"].pk, self.write_role)
        with service_errors():
            serializer.instance = kargo_creative_create(by=self.request.user, **data)


class KargoDealImportViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                             mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = KargoDealImport.objects.all()
    serializer_class = s.KargoDealImportSerializer
    parser_classes = [MultiPartParser, FormParser, ExactJSONParser]
    filterset_fields = ["advertiser", "status"]

    @extend_schema(responses={202: s.KargoDealImportSerializer})
    def create(self, request, *args, **kwargs):
        """Queue a deal-list import (CSV); poll the returned row for progress and the error report."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self.check_role(data["advertiser"].pk, self.write_role)
        upload = data.get("file")
        try:
            job = kargo_deal_import_start(
                advertiser=data["advertiser"], content=upload.read(2 * 1024 * 1024 + 1) if upload else data["content"],
                filename=upload.name if upload else "", by=request.user)
        except ImportRefused as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
