"""The ops console for the campaign tree: account managers' daily pages.

Who may do what is one rule, written in campaigns/admin_console/access.py: membership roles,
not Django model permissions, decide for staff users who are not superusers, and every page
is scoped to their advertisers through `visible_to`. Writes go through campaigns.services.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import path, reverse
from django.utils.html import format_html

from campaigns.admin_console.access import TreeAdmin, TreeInline
from campaigns.admin_console.filters import (
    EndingSoonFilter,
    LineItemActivityFilter,
    OwnBidFilter,
    advertiser_filter,
)
from campaigns.admin_console.forms import TreeEntityForm
from campaigns.admin_console.history import render_history
from campaigns.admin_console.tenancy import AdvertiserAdmin, ChangeRecordAdmin, MembershipAdmin
from campaigns.admin_views import campaign_tree_view
from campaigns.choices import EntityState, Role
from campaigns.models import (
    Advertiser,
    Campaign,
    ChangeRecord,
    Keyword,
    LineItem,
    Membership,
    ProductAd,
    ProductTarget,
)
from campaigns.services import campaign_duplicate, campaigns_set_status, entities_set_state


def count_of(model, fk: str):
    """A correlated COUNT per row: one query for the page however many rows it has, and no
    row multiplication when several counts are annotated together."""
    counted = model.objects.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def link_to(obj, label=None):
    if obj is None:
        return "—"
    url = reverse(f"admin:campaigns_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or obj)


def _report(modeladmin, request, *, verb: str, selected: int, permitted: int, changed: int) -> None:
    noun = modeladmin.model._meta.verbose_name
    parts = [f"{verb} {changed} {noun}(s)."]
    if permitted - changed:
        parts.append(f"{permitted - changed} already in that state or archived (left as they were).")
    if selected - permitted:
        parts.append(f"{selected - permitted} you may not change (viewer role).")
    level = messages.SUCCESS if changed else messages.WARNING
    modeladmin.message_user(request, " ".join(parts), level)


def status_action(status: str, verb: str, done: str):
    """An admin action that moves the selected objects to `status` through the services."""

    def action(modeladmin, request, queryset):
        selected = len(queryset)
        editable = list(queryset.visible_to(request.user, Role.TRADER))
        if modeladmin.model is Campaign:
            changed = campaigns_set_status(campaigns=editable, status=status, by=request.user)
        else:
            changed = entities_set_state(objects=editable, state=status, by=request.user)
        _report(modeladmin, request, verb=done, selected=selected, permitted=len(editable), changed=changed)

    action.__name__ = f"{verb.lower()}_selected"
    return admin.action(description=f"{verb} selected %(verbose_name_plural)s", permissions=["change"])(action)


pause_selected = status_action(EntityState.PAUSED, "Pause", "Paused")
enable_selected = status_action(EntityState.ENABLED, "Enable", "Enabled")
archive_selected = status_action(EntityState.ARCHIVED, "Archive", "Archived")
STATUS_ACTIONS = [pause_selected, enable_selected, archive_selected]


class HistoryMixin:
    """A read-only "Budget and bid history" section on change pages."""

    @admin.display(description="Latest changes")
    def history(self, obj):
        return render_history(obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append(("Budget and bid history", {"fields": [("created_at", "updated_at"), "history"]}))
        return fieldsets


admin.site.register(Advertiser, AdvertiserAdmin)
admin.site.register(Membership, MembershipAdmin)
admin.site.register(ChangeRecord, ChangeRecordAdmin)


# --- inlines --------------------------------------------------------------------------------


class LineItemInline(TreeInline, admin.TabularInline):
    model = LineItem
    form = TreeEntityForm
    fields = ["name", "format", "status", "default_bid", "budget", "pacing"]  # the rest on its own page
    show_change_link = True

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0  # a new campaign starts with one line item row


class KeywordInline(TreeInline, admin.TabularInline):
    model = Keyword
    form = TreeEntityForm
    fields = ["text", "match_type", "bid", "state"]
    extra = 0
    show_change_link = True


class ProductAdInline(TreeInline, admin.TabularInline):
    model = ProductAd
    form = TreeEntityForm
    fields = ["sku", "asin", "state"]
    extra = 0
    show_change_link = True


class ProductTargetInline(TreeInline, admin.TabularInline):
    model = ProductTarget
    form = TreeEntityForm
    fields = ["expression", "negative", "bid", "state"]
    extra = 0
    show_change_link = True


# --- the tree -------------------------------------------------------------------------------


@admin.register(Campaign)
class CampaignAdmin(HistoryMixin, TreeAdmin):
    form = TreeEntityForm
    list_display = [
        "name", "advertiser", "phase", "status", "start_date", "end_date",
        "daily_budget", "total_budget", "line_item_count",
    ]
    list_display_links = ["name"]
    list_select_related = ["advertiser"]
    list_filter = [advertiser_filter(), "phase", "status", EndingSoonFilter, LineItemActivityFilter, "targeting_type"]
    search_fields = ["name"]  # external ids join through the hook in admin_console.access
    ordering = ["-created_at", "-id"]
    list_per_page = 100
    readonly_fields = ["history", "created_at", "updated_at"]
    readonly_on_change = ("advertiser",)
    fieldsets = [
        (None, {"fields": ["advertiser", "name", "phase", "status"]}),
        ("Flight and budget", {"fields": [("start_date", "end_date"), ("daily_budget", "total_budget")]}),
        ("Bidding", {"fields": ["target_roas", "bidding_strategy", "targeting_type", "goal_kpi"]}),
    ]
    inlines = [LineItemInline]
    actions = [*STATUS_ACTIONS, "duplicate_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("advertiser").annotate(
            line_item_count=count_of(LineItem, "campaign")
        )

    @admin.display(description="line items", ordering="line_item_count")
    def line_item_count(self, obj):
        return obj.line_item_count

    @admin.action(description="Duplicate selected campaigns (as drafts, with their tree)", permissions=["add"])
    def duplicate_selected(self, request, queryset):
        selected = len(queryset)
        copies, errors = 0, []
        for campaign in queryset.visible_to(request.user, Role.TRADER):
            try:
                campaign_duplicate(campaign=campaign, by=request.user)
                copies += 1
            except ValidationError as exc:
                errors.append(f"{campaign}: {' '.join(exc.messages)}")
        text = f"Duplicated {copies} campaign(s) as drafts."
        if selected - copies - len(errors):
            text += f" {selected - copies - len(errors)} you may not copy (viewer role)."
        self.message_user(request, text, messages.SUCCESS if copies else messages.WARNING)
        for error in errors:
            self.message_user(request, f"Not duplicated: {error}", messages.ERROR)

    def get_urls(self):
        tree = path(
            "<path:object_id>/tree/",
            self.admin_site.admin_view(lambda request, object_id: campaign_tree_view(self, request, object_id)),
            name="campaigns_campaign_tree",
        )
        return [tree, *super().get_urls()]


class ChildColumnsMixin:
    """campaign and advertiser columns for rows under a line item, without extra queries."""

    @admin.display(description="line item", ordering="line_item__name")
    def line_item_link(self, obj):
        return link_to(obj.line_item)

    @admin.display(description="campaign", ordering="line_item__campaign__name")
    def campaign_link(self, obj):
        return link_to(obj.line_item.campaign)

    @admin.display(description="advertiser", ordering="line_item__campaign__advertiser__name")
    def advertiser_column(self, obj):
        return obj.line_item.campaign.advertiser


@admin.register(LineItem)
class LineItemAdmin(HistoryMixin, TreeAdmin):
    form = TreeEntityForm
    list_display = [
        "name", "campaign_link", "advertiser_column", "format", "status", "default_bid", "budget",
        "pacing", "keyword_count", "product_ad_count", "target_count",
    ]
    list_select_related = ["campaign__advertiser"]
    list_filter = [advertiser_filter("campaign__advertiser"), "format", "status", "pacing", "campaign__status"]
    search_fields = ["name", "campaign__name"]
    autocomplete_fields = ["campaign"]
    ordering = ["-id"]
    list_per_page = 100
    readonly_fields = ["history", "created_at", "updated_at"]
    readonly_on_change = ("campaign",)
    fieldsets = [
        (None, {"fields": ["campaign", "name", "format", "status"]}),
        ("Bid and budget", {"fields": ["default_bid", "budget", "pacing"]}),
        ("Flight", {"fields": [("start_date", "end_date")]}),
        ("Frequency cap", {"fields": [("frequency_cap_impressions", "frequency_cap_period", "frequency_cap_unit")]}),
    ]
    inlines = [KeywordInline, ProductAdInline, ProductTargetInline]
    actions = STATUS_ACTIONS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("campaign__advertiser").annotate(
            keyword_count=count_of(Keyword, "line_item"),
            product_ad_count=count_of(ProductAd, "line_item"),
            target_count=count_of(ProductTarget, "line_item"),
        )

    @admin.display(description="campaign", ordering="campaign__name")
    def campaign_link(self, obj):
        return link_to(obj.campaign)

    @admin.display(description="advertiser", ordering="campaign__advertiser__name")
    def advertiser_column(self, obj):
        return obj.campaign.advertiser

    @admin.display(description="keywords", ordering="keyword_count")
    def keyword_count(self, obj):
        return obj.keyword_count

    @admin.display(description="product ads", ordering="product_ad_count")
    def product_ad_count(self, obj):
        return obj.product_ad_count

    @admin.display(description="targets", ordering="target_count")
    def target_count(self, obj):
        return obj.target_count


class LeafAdmin(ChildColumnsMixin, TreeAdmin):
    """Keywords, product ads and targets: one line item's rows, listed across campaigns."""

    form = TreeEntityForm
    list_select_related = ["line_item__campaign__advertiser"]
    autocomplete_fields = ["line_item"]
    readonly_on_change = ("line_item",)
    ordering = ["-id"]
    list_per_page = 200
    actions = STATUS_ACTIONS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("line_item__campaign__advertiser")


@admin.register(Keyword)
class KeywordAdmin(HistoryMixin, LeafAdmin):
    list_display = ["text", "match_type", "bid", "state", "line_item_link", "campaign_link", "advertiser_column"]
    list_filter = [
        advertiser_filter("line_item__campaign__advertiser"), "match_type", "state", OwnBidFilter,
        "line_item__format",
    ]
    search_fields = ["text", "line_item__name", "line_item__campaign__name"]
    readonly_fields = ["history", "created_at", "updated_at"]
    fieldsets = [(None, {"fields": ["line_item", "text", "match_type", "bid", "state"]})]


@admin.register(ProductAd)
class ProductAdAdmin(LeafAdmin):
    list_display = ["__str__", "sku", "asin", "state", "line_item_link", "campaign_link", "advertiser_column"]
    list_filter = [advertiser_filter("line_item__campaign__advertiser"), "state", "line_item__format"]
    search_fields = ["sku", "=asin", "line_item__name", "line_item__campaign__name"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["line_item", "sku", "asin", "state", "created_at", "updated_at"]


@admin.register(ProductTarget)
class ProductTargetAdmin(HistoryMixin, LeafAdmin):
    list_display = ["expression", "negative", "bid", "state", "line_item_link", "campaign_link", "advertiser_column"]
    list_filter = [advertiser_filter("line_item__campaign__advertiser"), "state", "negative", OwnBidFilter]
    search_fields = ["expression", "line_item__name", "line_item__campaign__name"]
    readonly_fields = ["history", "created_at", "updated_at"]
    fieldsets = [(None, {"fields": ["line_item", "expression", "negative", "bid", "state"]})]


from campaigns.rules import admin as rules_admin  # noqa: E402,F401
from campaigns.bulksheets import admin as bulksheets_admin  # noqa: E402,F401
