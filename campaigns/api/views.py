"""/api/v1/campaigns/: advertisers, memberships, the campaign tree, bulk bids and change history.

Every queryset is scoped by `visible_to(request.user)` (see campaigns.api.scoping): another
advertiser's row answers 404; a role too low on a row the caller sees answers 403.
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from campaigns.api import filters
from campaigns.api.scoping import (
    ScopedCreateListRetrieveUpdateViewSet,
    ScopedModelViewSet,
    ScopedReadOnlyModelViewSet,
    service_errors,
)
from campaigns.api.serializers import (
    AdvertiserSerializer,
    BulkBidItemSerializer,
    BulkBidsErrorSerializer,
    BulkBidsRequestSerializer,
    BulkBidsSerializer,
    CampaignDuplicateSerializer,
    CampaignSerializer,
    ChangeRecordSerializer,
    DetailSerializer,
    KeywordSerializer,
    LineItemSerializer,
    MembershipSerializer,
    ProductAdSerializer,
    ProductTargetSerializer,
)
from campaigns.choices import EntityState, Role
from campaigns.models import Advertiser, Campaign, ChangeRecord, Keyword, LineItem, Membership, ProductAd, ProductTarget
from campaigns.permissions import SuperuserWrites
from campaigns.services import (
    BUDGET_FIELDS,
    BidChange,
    BulkBidError,
    campaign_duplicate,
    entity_check_modifiable,
    entity_delete,
    entity_set_state,
    keyword_bids_set,
    membership_delete,
)

_CONFLICT = OpenApiResponse(DetailSerializer, description="Archived (final), or the object may have spend.")


_PARENT_ARCHIVED = OpenApiResponse(DetailSerializer, description="The parent is archived (final): nothing is "
                                                                  "created under it.")


def _tree_schema(serializer, *, has_parent: bool = True):
    """Documents the inherited actions with this viewset's serializer, and the 409s (a create
    under an archived campaign or line item is one too)."""
    state_action = extend_schema(request=None, responses={200: serializer, 409: _CONFLICT})
    with_conflict = extend_schema(responses={200: serializer, 409: _CONFLICT})
    create = {"create": extend_schema(responses={201: serializer, 409: _PARENT_ARCHIVED})} if has_parent else {}
    return extend_schema_view(
        pause=state_action, enable=state_action, archive=state_action,
        update=with_conflict, partial_update=with_conflict,
        destroy=extend_schema(responses={204: None, 409: _CONFLICT}),
        **create,
    )


class AdvertiserViewSet(ScopedCreateListRetrieveUpdateViewSet):
    """Advertisers the caller is a member of (superusers: all). Only superusers create or change them."""

    queryset = Advertiser.objects.all()
    serializer_class = AdvertiserSerializer
    permission_classes = [IsAuthenticated, SuperuserWrites]
    filterset_class = filters.AdvertiserFilter
    search_fields = ["name"]
    ordering_fields = ["name", "country", "currency", "created_at", "id"]


class MembershipViewSet(ScopedModelViewSet):
    """Who holds which role on an advertiser; only its managers (and superusers) see and change them."""

    queryset = Membership.objects.select_related("user", "advertiser")
    serializer_class = MembershipSerializer
    filterset_class = filters.MembershipFilter
    search_fields = ["user__username", "advertiser__name"]
    ordering_fields = ["advertiser__name", "user__username", "role", "id"]
    read_role = Role.MANAGER
    write_role = Role.MANAGER
    parent_field = "advertiser"

    def scope(self, queryset):
        return queryset.filter(advertiser__in=Advertiser.objects.visible_to(self.request.user, Role.MANAGER))

    def destroy_object(self, instance) -> None:
        membership_delete(membership=instance, by=self.request.user)


class TreeViewSet(ScopedModelViewSet):
    """The campaign tree: archived rows are final; deletes only under a draft campaign;
    pause, enable and archive through the services."""

    modifying_actions = ScopedModelViewSet.modifying_actions | {"pause", "enable", "archive"}

    def check_modifiable(self, obj) -> None:
        entity_check_modifiable(obj=obj)

    def destroy_object(self, instance) -> None:
        entity_delete(obj=instance, by=self.request.user)

    def _set_state(self, state: str) -> Response:
        obj = self.get_object()
        with service_errors():
            entity_set_state(obj=obj, state=state, by=self.request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data)

    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause (trader). Archived objects answer 409."""
        return self._set_state(EntityState.PAUSED)

    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        """Enable (trader). Archived objects answer 409."""
        return self._set_state(EntityState.ENABLED)

    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Archive (trader): final, and it cascades to everything below."""
        return self._set_state(EntityState.ARCHIVED)


@_tree_schema(CampaignSerializer, has_parent=False)
class CampaignViewSet(TreeViewSet):
    """Campaigns of the caller's advertisers. Traders edit; budgets, creates and copies need a manager
    (a campaign is a budget). Archived is final (409); only drafts can be deleted."""

    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    filterset_class = filters.CampaignFilter
    search_fields = ["name"]
    ordering_fields = ["name", "status", "phase", "start_date", "end_date", "daily_budget", "total_budget",
                       "created_at", "updated_at", "id"]
    parent_field = "advertiser"
    manager_fields = BUDGET_FIELDS[Campaign]
    # A copy is a new budget commitment, like a create.
    action_roles = {"duplicate": Role.MANAGER}

    @extend_schema(request=CampaignDuplicateSerializer, responses={201: CampaignSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        """Deep copy of the campaign and its live tree, as a draft (manager)."""
        campaign = self.get_object()
        body = CampaignDuplicateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            copy = campaign_duplicate(campaign=campaign, by=request.user, name=body.validated_data.get("name"))
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)


@_tree_schema(LineItemSerializer)
class LineItemViewSet(TreeViewSet):
    """Line items (Amazon ad groups). Traders edit them and their default bids; budgets need a manager.
    Archived is final (409); deletes only under a draft campaign."""

    queryset = LineItem.objects.select_related("campaign")
    serializer_class = LineItemSerializer
    filterset_class = filters.LineItemFilter
    search_fields = ["name", "campaign__name"]
    ordering_fields = ["name", "status", "format", "default_bid", "budget", "start_date", "end_date",
                       "created_at", "updated_at", "id", "campaign"]
    parent_field = "campaign"
    manager_fields = BUDGET_FIELDS[LineItem]


class _LineItemChildViewSet(TreeViewSet):
    parent_field = "line_item"
    ORDERING = ["state", "created_at", "updated_at", "id", "line_item"]


@_tree_schema(KeywordSerializer)
class KeywordViewSet(_LineItemChildViewSet):
    """Keywords and their bids. Archived is final (409); deletes only under a draft campaign."""

    queryset = Keyword.objects.select_related("line_item__campaign")
    serializer_class = KeywordSerializer
    filterset_class = filters.KeywordFilter
    search_fields = ["text"]
    ordering_fields = [*_LineItemChildViewSet.ORDERING, "text", "match_type", "bid"]

    @extend_schema(
        request=BulkBidsRequestSerializer,
        responses={
            200: KeywordSerializer(many=True),
            400: OpenApiResponse(BulkBidsErrorSerializer, description="Per-item errors; nothing was written."),
            403: DetailSerializer,
        },
        summary="Set many keyword bids at once, all or nothing",
    )
    @action(detail=False, methods=["post"], url_path="bulk-bids", pagination_class=None, filter_backends=[])
    def bulk_bids(self, request):
        """Set up to 1,000 keyword bids in one request, all or nothing. Every keyword needs the trader
        role on its advertiser; ids outside the caller's advertisers are "Not found." like missing ones."""
        shape = BulkBidsSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        errors, changes, positions = [], [], []
        for index, raw in enumerate(shape.validated_data["items"]):
            item = BulkBidItemSerializer(data=raw)
            if item.is_valid():
                changes.append(BidChange(item.validated_data["keyword_id"], item.validated_data["bid"]))
                positions.append(index)
            else:
                errors.append({"index": index, "keyword_id": _echo_id(raw), "errors": _messages(item.errors)})
        self._check_trader_on_every_advertiser([change.keyword_id for change in changes])
        updated = []
        with transaction.atomic():
            try:
                updated = keyword_bids_set(
                    keywords=Keyword.objects.visible_to(request.user, Role.TRADER),
                    changes=changes, by=request.user, source="api",
                )
            except BulkBidError as refusal:
                errors += [{**error, "index": positions[error["index"]]} for error in refusal.errors]
            if errors:  # the shape errors too: all or nothing
                transaction.set_rollback(True)
        if errors:
            return Response({"errors": sorted(errors, key=lambda e: e["index"])}, status=status.HTTP_400_BAD_REQUEST)
        return Response(KeywordSerializer(updated, many=True, context=self.get_serializer_context()).data)

    def _check_trader_on_every_advertiser(self, keyword_ids: list[int]) -> None:
        """403 when a keyword the caller can see belongs to an advertiser they only view.
        Keywords they cannot see are left to the service: "Not found.", like missing ones."""
        if self.request.user.is_superuser or not keyword_ids:
            return
        seen = set(
            Keyword.objects.visible_to(self.request.user)
            .filter(pk__in=keyword_ids)
            .values_list("line_item__campaign__advertiser_id", flat=True)
        )
        writable = set(
            Advertiser.objects.visible_to(self.request.user, Role.TRADER)
            .filter(pk__in=seen)
            .values_list("pk", flat=True)
        )
        if seen - writable:
            self.permission_denied(
                self.request, message="Setting bids needs the trader role on every keyword's advertiser."
            )


def _echo_id(raw):
    value = raw.get("keyword_id") if isinstance(raw, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return value[:100] if isinstance(value, str) else None


def _messages(errors) -> list[str]:
    if isinstance(errors, list):
        return [str(e) for e in errors]
    return [
        f"{field}: {message}" if field != "non_field_errors" else str(message)
        for field, messages in errors.items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]


@_tree_schema(ProductAdSerializer)
class ProductAdViewSet(_LineItemChildViewSet):
    """Product ads (SKU/ASIN). Archived is final (409); deletes only under a draft campaign."""

    queryset = ProductAd.objects.select_related("line_item__campaign")
    serializer_class = ProductAdSerializer
    filterset_class = filters.ProductAdFilter
    search_fields = ["sku", "asin"]
    ordering_fields = [*_LineItemChildViewSet.ORDERING, "sku", "asin"]


@_tree_schema(ProductTargetSerializer)
class ProductTargetViewSet(_LineItemChildViewSet):
    """Product targets and their bids. Archived is final (409); deletes only under a draft campaign."""

    queryset = ProductTarget.objects.select_related("line_item__campaign")
    serializer_class = ProductTargetSerializer
    filterset_class = filters.ProductTargetFilter
    search_fields = ["expression"]
    ordering_fields = [*_LineItemChildViewSet.ORDERING, "expression", "bid", "negative"]


class ChangeRecordViewSet(ScopedReadOnlyModelViewSet):
    """Budget and bid history: who changed what, when, from what to what."""

    queryset = ChangeRecord.objects.select_related("changed_by")
    serializer_class = ChangeRecordSerializer
    filterset_class = filters.ChangeRecordFilter
    search_fields = ["field", "old_value", "new_value"]
    ordering_fields = ["changed_at", "object_type", "object_id", "field", "id"]


__all__ = [
    "AdvertiserViewSet", "CampaignViewSet", "ChangeRecordViewSet", "KeywordViewSet", "LineItemViewSet",
    "MembershipViewSet", "ProductAdViewSet", "ProductTargetViewSet",
]
