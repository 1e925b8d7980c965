"""HTTP for the rules engine: events in (202, idempotent), rules CRUD, rule matches out.

Every queryset goes through `visible_to`; rows of other advertisers answer 404.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import RestrictedError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from campaigns.choices import Role
from campaigns.models import Advertiser
from campaigns.rules.api.auth import EventTokenAuthentication
from campaigns.rules.api.filters import EventFilter, RuleFilter, RuleMatchFilter
from campaigns.rules.api.serializers import (
    EventCreateSerializer,
    EventSerializer,
    RuleMatchSerializer,
    RuleSerializer,
    advertiser_not_found,
    event_input,
)
from campaigns.rules.exactjson import ExactJSONParser, ExactJSONRenderer
from campaigns.rules.models import Event, Rule, RuleMatch
from campaigns.rules.services import AdvertiserNotWritable, EventConflict, RuleRoleError, event_ingest, rule_save


class _ExactJSON:
    """Numbers in payloads, conditions and actions stay exact decimals, in and out."""

    parser_classes = [ExactJSONParser]
    renderer_classes = [ExactJSONRenderer]


class TraderMayWrite(permissions.BasePermission):
    """Viewers read; changing an object needs at least trader on its advertiser (403, since the
    caller can already see the object)."""

    message = "Changing this needs the trader role on its advertiser."

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return Advertiser.objects.visible_to(request.user, Role.TRADER).filter(pk=obj.advertiser_id).exists()


class _Scoped:
    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


_IDEMPOTENCY_KEY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                    description="The event's id, when the body has no event_id.")


class EventViewSet(_ExactJSON, _Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Events sent by partners. POST stores one and answers 202 at once; a worker applies rules."""

    # The configured authentication, with the token lookup as one query written out once.
    authentication_classes = [EventTokenAuthentication if cls is TokenAuthentication else cls
                              for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilter
    ordering_fields = ["received_at", "occurred_at", "id"]

    @extend_schema(
        request=EventCreateSerializer, parameters=[_IDEMPOTENCY_KEY],
        responses={202: EventSerializer, 200: OpenApiResponse(EventSerializer, "Already received (duplicate)"),
                   400: OpenApiResponse(description="Invalid"),
                   409: OpenApiResponse(description="event_id reused with a different body")},
        summary="Send an event (idempotent on event_id)",
    )
    def create(self, request):
        incoming = event_input(request.data, idempotency_key=request.headers.get("Idempotency-Key"))
        try:
            event, created = event_ingest(**incoming, by=request.user)
        except AdvertiserNotWritable as refused:
            # Exactly what an id that does not exist gets: no hint that it does.
            raise DRFValidationError({"advertiser": [advertiser_not_found(refused.advertiser_id)]}) from None
        except EventConflict as conflict:
            return Response(
                {"detail": "This event_id was already used with a different body.",
                 "event_id": conflict.event.event_id, "id": conflict.event.pk},
                status=status.HTTP_409_CONFLICT,
            )
        body = {**EventSerializer(event).data, "duplicate": not created}
        if created:
            return Response(body, status=status.HTTP_202_ACCEPTED)
        # Stripe's replay: the stored event, its current status, and a header saying so.
        return Response(body, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})


class RuleViewSet(_ExactJSON, _Scoped, viewsets.ModelViewSet):
    """An advertiser's rules: viewers read, traders write (managers for budget actions)."""

    queryset = Rule.objects.all()
    serializer_class = RuleSerializer
    filterset_class = RuleFilter
    permission_classes = [permissions.IsAuthenticated, TraderMayWrite]
    ordering_fields = ["priority", "name", "id", "updated_at"]

    def _save(self, serializer):
        instance = serializer.instance or Rule()
        for name, value in serializer.validated_data.items():
            setattr(instance, name, value)
        try:
            serializer.instance = rule_save(rule=instance, by=self.request.user)
        except RuleRoleError as exc:
            raise PermissionDenied(str(exc)) from None
        except DjangoValidationError as exc:
            raise DRFValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None

    perform_create = perform_update = _save

    def destroy(self, request, *args, **kwargs):
        try:
            return super().destroy(request, *args, **kwargs)
        except RestrictedError:
            return Response({"detail": "This rule has matches, kept as history; disable it instead."},
                            status=status.HTTP_409_CONFLICT)


class RuleMatchViewSet(_Scoped, viewsets.ReadOnlyModelViewSet):
    """What rules did: one row per action and target, applied, skipped or error."""

    queryset = RuleMatch.objects.select_related("event", "rule")
    serializer_class = RuleMatchSerializer
    filterset_class = RuleMatchFilter
    renderer_classes = [ExactJSONRenderer]
    ordering_fields = ["created_at", "id"]
