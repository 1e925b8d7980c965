"""Console pages for tenancy and audit: advertisers, memberships and the budget/bid history.

Registered by campaigns/admin.py. The rule they follow is the one in `access`: superusers manage
advertisers; managers see their advertisers and manage those advertisers' memberships (except
their own); the history is read-only for everyone, scoped like every other page.
"""

from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from campaigns.admin_console.access import TenantAdmin, TenantInline, has_role
from campaigns.admin_console.filters import CampaignTreeFilter, advertiser_filter
from campaigns.admin_console.history import change_url
from campaigns.choices import Role
from campaigns.models import Advertiser, Campaign, Membership
from campaigns.services import TRACKED_FIELDS, advertiser_save, membership_delete, membership_save


def _managed_memberships(request, queryset):
    if request.user.is_superuser:
        return queryset
    return queryset.filter(advertiser__in=Advertiser.objects.visible_to(request.user, Role.MANAGER).values("pk"))


def _is_own_membership(request, obj) -> bool:
    return obj is not None and not request.user.is_superuser and obj.user_id == request.user.pk


class MembershipInline(TenantInline, admin.TabularInline):
    """Memberships on the advertiser page, for its managers."""

    model = Membership
    fields = ["user", "role"]
    extra = 0
    view_role = Role.MANAGER
    edit_role = Role.MANAGER

    def get_queryset(self, request):
        return _managed_memberships(request, admin.TabularInline.get_queryset(self, request)).select_related("user")

    def has_delete_permission(self, request, obj=None):
        return has_role(request, Role.MANAGER, obj.pk if obj is not None else None)


class AdvertiserAdmin(TenantAdmin):
    list_display = ["name", "currency", "country", "timezone", "campaign_count", "created_at"]
    list_filter = ["currency", "country"]
    search_fields = ["name"]
    fields = ["name", "currency", "country", "timezone", "created_at"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        counted = (
            Campaign.objects.filter(advertiser=OuterRef("pk")).order_by().values("advertiser")
            .annotate(n=Count("pk")).values("n")
        )
        return super().get_queryset(request).annotate(
            campaign_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0)
        )

    @admin.display(description="campaigns", ordering="campaign_count")
    def campaign_count(self, obj):
        return obj.campaign_count

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        # Managers "change" their advertiser only to edit its memberships inline: every field of
        # the advertiser itself stays read-only to them.
        return has_role(request, Role.MANAGER, obj.pk if obj is not None else None)

    def get_readonly_fields(self, request, obj=None):
        if not request.user.is_superuser:
            return self.fields
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.campaign_count:
            readonly += ["currency", "country"]  # its budgets and bids were validated against them
        return readonly

    def save_model(self, request, obj, form, change):
        if request.user.is_superuser:
            advertiser_save(advertiser=obj, by=request.user)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        kept_own = False
        for membership in formset.deleted_objects:
            if _is_own_membership(request, membership):
                kept_own = True
            else:
                membership_delete(membership=membership, by=request.user)
        for membership in instances:
            if membership.pk and _is_own_membership(request, membership):
                kept_own = True  # nobody demotes or removes themselves
            else:
                membership_save(membership=membership, by=request.user)
        if kept_own:
            self.message_user(request, "Your own membership was left as it was.", messages.WARNING)


class MembershipAdmin(TenantAdmin):
    list_display = ["user", "advertiser", "role"]
    list_select_related = ["user", "advertiser"]
    list_filter = [advertiser_filter(role=Role.MANAGER), "role"]
    search_fields = ["user__username", "user__email", "advertiser__name"]
    fields = ["advertiser", "user", "role"]
    readonly_on_change = ("advertiser", "user")
    view_role = Role.MANAGER
    edit_role = Role.MANAGER

    def scope(self, request, queryset):
        return _managed_memberships(request, queryset)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "advertiser")

    def has_change_permission(self, request, obj=None):
        return not _is_own_membership(request, obj) and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        membership_save(membership=obj, by=request.user)

    def delete_model(self, request, obj):
        membership_delete(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            membership_delete(membership=membership, by=request.user)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None or _is_own_membership(request, obj):
            return False
        return has_role(request, Role.MANAGER, obj.advertiser_id)


class _StaticChoicesFilter(admin.SimpleListFilter):
    options: list[tuple[str, str]] = []

    def lookups(self, request, model_admin):
        return self.options

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class ObjectTypeFilter(_StaticChoicesFilter):
    title = "object type"
    parameter_name = "object_type"
    options = [(m._meta.model_name, m._meta.verbose_name) for m in TRACKED_FIELDS]


class TrackedFieldFilter(_StaticChoicesFilter):
    title = "field"
    parameter_name = "field"
    options = [(f, f.replace("_", " ")) for f in sorted({f for names in TRACKED_FIELDS.values() for f in names})]


class ChangeRecordAdmin(TenantAdmin):
    """Who changed which budget or bid, when, from what to what. Written only by the services."""

    list_display = [
        "changed_at", "advertiser", "object_link", "field", "old_value", "new_value", "changed_by", "source",
    ]
    list_select_related = ["advertiser", "changed_by"]
    list_filter = [
        advertiser_filter(), CampaignTreeFilter, ObjectTypeFilter, TrackedFieldFilter, "source", "changed_at",
    ]
    search_fields = ["changed_by__username", "new_value", "old_value"]
    ordering = ["-changed_at", "-id"]
    list_per_page = 200

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("advertiser", "changed_by")

    @admin.display(description="object", ordering="object_type")
    def object_link(self, obj):
        url = change_url(obj.object_type, obj.object_id)
        label = f"{obj.object_type} #{obj.object_id}"
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
