"""Changelist filters that answer account managers' questions, scoped to the user's advertisers
(Django's related-field filter would list every advertiser in the database)."""

import zoneinfo
from datetime import timedelta

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.choices import CampaignStatus, EntityState, Role
from campaigns.models import Advertiser, LineItem

ENDING_SOON_DAYS = 7


def advertiser_filter(path: str = "advertiser", role: str = Role.VIEWER) -> type[admin.SimpleListFilter]:
    """A filter by advertiser, for a model that reaches it through `path`, offering only the
    advertisers where the user holds at least `role`."""

    class AdvertiserFilter(admin.SimpleListFilter):
        title = "advertiser"
        parameter_name = "advertiser"

        def lookups(self, request, model_admin):
            visible = Advertiser.objects.visible_to(request.user, role).values_list("pk", "name")
            return [(str(pk), name) for pk, name in visible]

        def queryset(self, request, queryset):
            value = self.value()
            if not value:
                return queryset
            if not value.isdigit():
                return queryset.none()
            return queryset.filter(**{f"{path}_id": int(value)})

    return AdvertiserFilter


def _today_by_timezone(advertiser_ids) -> dict[str, object]:
    now = timezone.now()
    zones = Advertiser.objects.filter(pk__in=advertiser_ids).values_list("timezone", flat=True).distinct()
    return {zone: now.astimezone(zoneinfo.ZoneInfo(zone)).date() for zone in zones}


class EndingSoonFilter(admin.SimpleListFilter):
    """Campaigns (not archived) whose end date falls today or in the next 7 days, "today" being
    each advertiser's own day."""

    title = "ending"
    parameter_name = "ending"

    def lookups(self, request, model_admin):
        return [("7d", f"In the next {ENDING_SOON_DAYS} days"), ("ended", "Already ended")]

    def queryset(self, request, queryset):
        if self.value() not in ("7d", "ended"):
            return queryset
        todays = _today_by_timezone(queryset.values("advertiser_id"))
        if not todays:
            return queryset.none()
        window = Q()
        for zone, today in todays.items():
            if self.value() == "7d":
                dates = Q(end_date__gte=today, end_date__lte=today + timedelta(days=ENDING_SOON_DAYS))
            else:
                dates = Q(end_date__lt=today)
            window |= Q(advertiser__timezone=zone) & dates
        return queryset.filter(window).exclude(status=CampaignStatus.ARCHIVED)


class LineItemActivityFilter(admin.SimpleListFilter):
    """Campaigns that cannot spend because nothing under them is enabled."""

    title = "line items"
    parameter_name = "line_items"

    def lookups(self, request, model_admin):
        return [("no_active", "No active line items"), ("none", "No line items at all")]

    def queryset(self, request, queryset):
        if self.value() == "no_active":
            active = LineItem.objects.filter(campaign=OuterRef("pk"), status=EntityState.ENABLED)
            return queryset.exclude(Exists(active))
        if self.value() == "none":
            return queryset.exclude(Exists(LineItem.objects.filter(campaign=OuterRef("pk"))))
        return queryset


class OwnBidFilter(admin.SimpleListFilter):
    """Keywords and targets bidding their own amount, or the line item's default."""

    title = "bid"
    parameter_name = "bid"

    def lookups(self, request, model_admin):
        return [("own", "Own bid"), ("default", "Line item's default")]

    def queryset(self, request, queryset):
        if self.value() == "own":
            return queryset.filter(bid__isnull=False)
        if self.value() == "default":
            return queryset.filter(bid__isnull=True)
        return queryset


class CampaignTreeFilter(admin.SimpleListFilter):
    """History of one campaign and everything under it (linked from the campaign page); shown
    only while it is applied."""

    title = "campaign tree"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, f"Campaign #{value} and its children")] if value and value.isdigit() else []

    def queryset(self, request, queryset):
        from campaigns.admin_console.history import tree_history_q

        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(tree_history_q(campaign_ids=[int(value)]))
