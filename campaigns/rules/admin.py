"""The ops console for the rules engine: events and what rules did with them, and the rules.

Rights follow the console's one rule (campaigns/admin_console/access.py): rows of the user's
advertisers only; viewers look, traders edit rules and retry events, managers also save rules
that move budgets; deletes are for superusers (disable a rule instead).
"""

from django import forms
from django.contrib import admin

from campaigns.admin_console.access import TenantAdmin, TenantInline, has_role
from campaigns.admin_console.filters import advertiser_filter
from campaigns.choices import Role
from campaigns.rules.actions import required_role
from campaigns.rules.models import Event, EventStatus, Rule, RuleMatch
from campaigns.rules.services import events_retry, rule_save


class _ReadOnly(TenantAdmin):
    """Rows written by the engine, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RuleMatchInline(TenantInline, admin.TabularInline):
    model = RuleMatch
    fields = ["rule", "action_index", "action", "target_type", "target_id", "status", "detail", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rule").order_by("rule_id", "action_index", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(_ReadOnly):
    """Events come from partners; the console reads them and may retry failed ones."""

    list_display = ["event_id", "type", "advertiser", "status", "attempts", "rules_matched", "occurred_at",
                    "received_at", "processed_at"]
    list_filter = ["status", "type", advertiser_filter(), "received_at"]
    list_select_related = ["advertiser"]
    search_fields = ["=event_id", "type"]
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in Event._meta.fields]
    inlines = [RuleMatchInline]
    actions = ["retry_failed"]
    list_per_page = 100

    def has_retry_permission(self, request):
        return has_role(request, Role.TRADER)

    @admin.action(description="Retry selected failed events", permissions=["retry"])
    def retry_failed(self, request, queryset):
        queryset = queryset.visible_to(request.user, Role.TRADER)
        skipped = queryset.exclude(status=EventStatus.FAILED).count()
        retried = events_retry(events=queryset)
        self.message_user(request, f"Queued {retried} failed event(s) again; {skipped} were not failed.")


class RuleAdminForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ["advertiser", "name", "event_type", "priority", "enabled", "conditions", "actions"]

    def clean(self):
        cleaned = super().clean()
        needed = required_role(cleaned.get("actions"))
        advertiser = cleaned.get("advertiser")
        if advertiser and needed != Role.TRADER and not has_role(self.request, needed, advertiser.pk):
            raise forms.ValidationError(f"Rules that change budgets need the {needed} role on this advertiser.")
        return cleaned


@admin.register(Rule)
class RuleAdmin(TenantAdmin):
    form = RuleAdminForm
    list_display = ["name", "advertiser", "event_type", "enabled", "priority", "updated_at"]
    list_filter = ["enabled", "event_type", advertiser_filter()]
    list_select_related = ["advertiser"]
    search_fields = ["name", "event_type"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request  # the role check needs the user
        return form

    def save_model(self, request, obj, form, change):
        rule_save(rule=obj, by=request.user)


@admin.register(RuleMatch)
class RuleMatchAdmin(_ReadOnly):
    list_display = ["created_at", "event", "rule", "action", "target_type", "target_id", "status"]
    list_filter = ["status", "action", advertiser_filter()]
    list_select_related = ["event", "rule"]
    search_fields = ["=event__event_id", "rule__name"]
    readonly_fields = [f.name for f in RuleMatch._meta.fields]
    list_per_page = 100
