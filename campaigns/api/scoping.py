"""Tenant-scoped API plumbing for every app whose rows belong to an advertiser.

- Every queryset goes through `visible_to(request.user)`: another advertiser's row answers 404,
  exactly like a row that does not exist.
- A parent id in a request body (advertiser, campaign, line item) is looked up the same way, so
  another advertiser's id is refused like a missing one: 400 "Invalid pk … does not exist".
- Roles are checked on rows the caller can already see (403): object permissions for updates,
  deletes and actions; the parent's advertiser for creates; `manager_fields` need a manager.
- Service refusals become API answers: ValidationError → 400 {field: [..]}, archived and
  "archive instead" → 409.
- JSON numbers are parsed as Decimal (never float); NaN and Infinity are refused.

Usage in another app:

    class CreativeViewSet(ScopedModelViewSet):
        queryset = Creative.objects.select_related("advertiser")
        serializer_class = CreativeSerializer
        parent_field = "advertiser"
"""

import codecs
import json
from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import APIException, ParseError, PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.settings import api_settings

from campaigns.choices import Role
from campaigns.models import ArchivedError
from campaigns.permissions import HasAdvertiserRole, advertiser_id_of, has_role, role_message
from campaigns.services import DeletionRefused

# Primary keys are BIGINT: larger ids cannot exist, and some databases raise on them in lookups.
PK_MAX = 2**63 - 1


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the object's state."
    default_code = "conflict"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows.")


def _exact_number(text: str) -> Decimal:
    return Decimal(text)


class ExactJSONParser(JSONParser):
    """JSON with exact numbers: 1.25 arrives as Decimal("1.25"), never as a float."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return json.load(
                codecs.getreader(encoding)(stream), parse_float=_exact_number, parse_constant=_refuse_constant
            )
        # ArithmeticError: 1e999999999999999999; LookupError: an unknown charset in the Content-Type.
        except (ValueError, ArithmeticError, RecursionError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def validation_detail(exc: DjangoValidationError) -> dict:
    """A Django ValidationError in DRF's shape: {field: [messages]}."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


@contextmanager
def service_errors():
    """Service refusals as API answers: 409 for state conflicts, 400 for invalid values."""
    try:
        yield
    except ArchivedError as exc:  # before ValidationError: it is one
        raise Conflict(exc.messages[0]) from None
    except DeletionRefused as exc:
        raise Conflict(str(exc)) from None
    except (ProtectedError, RestrictedError):
        raise Conflict("Other records depend on this object; archive it instead.") from None
    except DjangoValidationError as exc:
        raise ValidationError(validation_detail(exc)) from None


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id that is an integer: 1.5 is refused, not rounded to row 1; true is not row 1 either."""

    def to_internal_value(self, data):
        if isinstance(data, str) and data.isascii() and data.isdigit():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= PK_MAX:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class ScopedPrimaryKeyRelatedField(StrictPrimaryKeyRelatedField):
    """A related id looked up among the rows the caller can see: another advertiser's id is
    refused exactly like one that does not exist."""

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        return queryset.visible_to(getattr(request, "user", None))


class ScopedQuerysetMixin:
    """Querysets through `visible_to`, roles on the owning advertiser, exact JSON in."""

    permission_classes = [IsAuthenticated, HasAdvertiserRole]
    parser_classes = [ExactJSONParser]
    filter_backends = [DjangoFilterBackend, SearchFilter, OrderingFilter]
    # The role that makes a row visible at all (memberships: manager).
    read_role = Role.VIEWER
    # The role that creates, updates, deletes and runs actions; `action_roles` overrides per action.
    write_role = Role.TRADER
    action_roles: dict[str, str] = {}
    # Fields only a manager may set or change (budgets).
    manager_fields: tuple[str, ...] = ()
    # The serializer field naming the parent on create (its advertiser is the one checked). It must
    # be a ScopedPrimaryKeyRelatedField, so another advertiser's parent is "does not exist".
    parent_field: str | None = None

    def scope(self, queryset):
        return queryset.visible_to(self.request.user, self.read_role)

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return queryset.none()
        return self.scope(queryset)

    def required_role(self) -> str | None:
        if self.action in self.action_roles:
            return self.action_roles[self.action]
        if self.request.method in SAFE_METHODS:
            return None
        return self.write_role

    def check_role(self, advertiser_id: int, role: str) -> None:
        if not has_role(self.request.user, advertiser_id, role):
            raise PermissionDenied(role_message(role))

    def touched_manager_fields(self, validated_data: dict, instance=None) -> list[str]:
        if instance is None:
            return [f for f in self.manager_fields if validated_data.get(f) is not None]
        return [f for f in self.manager_fields if f in validated_data and validated_data[f] != getattr(instance, f)]


class ScopedModelViewSet(ScopedQuerysetMixin, viewsets.ModelViewSet):
    """ModelViewSet for tenant rows: see the module docstring."""

    # Actions that change the object: refused with 409 while it (or a parent) is archived.
    modifying_actions = frozenset({"update", "partial_update", "destroy"})

    def get_object(self):
        obj = super().get_object()  # 404 outside the caller's advertisers, then role (403)
        if self.action in self.modifying_actions:
            with service_errors():
                self.check_modifiable(obj)
        return obj

    def check_modifiable(self, obj) -> None:
        """Raise a service error (ArchivedError …) when `obj` cannot change; a hook."""

    def perform_create(self, serializer):
        parent = serializer.validated_data.get(self.parent_field) if self.parent_field else None
        if parent is None:  # fail closed: without a parent there is no advertiser to hold a role on
            if not self.request.user.is_superuser:
                raise PermissionDenied("Only superusers can create this.")
        else:
            touched = self.touched_manager_fields(serializer.validated_data)
            self.check_role(advertiser_id_of(parent), Role.MANAGER if touched else self.write_role)
        with service_errors():
            serializer.save()

    def perform_update(self, serializer):
        if self.touched_manager_fields(serializer.validated_data, serializer.instance):
            self.check_role(advertiser_id_of(serializer.instance), Role.MANAGER)
        with service_errors():
            serializer.save()

    def perform_destroy(self, instance):
        with service_errors():
            self.destroy_object(instance)

    def destroy_object(self, instance) -> None:
        instance.delete()


class ScopedReadOnlyModelViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve, scoped: for history and other read-only tenant rows."""


class ScopedCreateListRetrieveUpdateViewSet(
    ScopedQuerysetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """No delete: for rows that others depend on (advertisers)."""

    def perform_create(self, serializer):
        with service_errors():
            serializer.save()

    def perform_update(self, serializer):
        with service_errors():
            serializer.save()
