"""Ops console pages for partner connections.

Credentials are superuser business: the page never shows a stored secret (nor its ciphertext),
only whether one is set; a write-only field replaces it.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count

from integrations.models import AmazonAdvertiserLink, AmazonConnection

_SECRET_HELP = "Write-only. Leave blank to keep the stored value."


class AmazonConnectionForm(forms.ModelForm):
    new_client_secret = forms.CharField(
        label="Client secret", required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}), help_text=_SECRET_HELP,
    )
    new_refresh_token = forms.CharField(
        label="Refresh token", required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}), help_text=_SECRET_HELP,
    )

    base_url = forms.URLField(required=False, assume_scheme="https", max_length=300,
                              help_text="Blank: the region's API host.")
    token_url = forms.URLField(required=False, assume_scheme="https", max_length=300,
                               help_text="Blank: the region's LWA host.")

    class Meta:
        model = AmazonConnection
        fields = ["name", "region", "client_id", "profile_id", "dsp_account_id", "token_url", "base_url"]

    def clean(self):
        cleaned = super().clean()
        creating = self.instance.pk is None
        for field, stored in (("new_client_secret", "client_secret_encrypted"),
                              ("new_refresh_token", "refresh_token_encrypted")):
            if not cleaned.get(field) and (creating or not getattr(self.instance, stored)):
                self.add_error(field, "Required: no value is stored yet.")
        return cleaned

    def save(self, commit=True):
        connection = super().save(commit=False)
        if self.cleaned_data.get("new_client_secret"):
            connection.client_secret = self.cleaned_data["new_client_secret"]
        if self.cleaned_data.get("new_refresh_token"):
            connection.refresh_token = self.cleaned_data["new_refresh_token"]
        if commit:
            connection.save()
        return connection


class AmazonAdvertiserLinkInline(admin.TabularInline):
    """The advertisers this connection serves (an agency login serves many), each as its DSP advertiser."""

    model = AmazonAdvertiserLink
    fields = ["advertiser", "dsp_advertiser_id", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["advertiser"]
    extra = 0


@admin.register(AmazonConnection)
class AmazonConnectionAdmin(admin.ModelAdmin):
    form = AmazonConnectionForm
    inlines = [AmazonAdvertiserLinkInline]
    list_display = ["name", "region", "profile_id", "advertisers_served", "credentials", "updated_at"]
    list_filter = ["region"]
    search_fields = ["name", "links__advertiser__name", "links__dsp_advertiser_id", "profile_id"]
    readonly_fields = ["credentials", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "region"]}),
        ("Credentials", {"fields": ["client_id", "credentials", "new_client_secret", "new_refresh_token"]}),
        ("Scope (the advertisers it serves are listed below)", {"fields": ["profile_id", "dsp_account_id"]}),
        ("Hosts (blank: Amazon's regional hosts; set for the fake DSP)", {"fields": ["base_url", "token_url"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(served=Count("links"))

    @admin.display(description="advertisers", ordering="served")
    def advertisers_served(self, obj):
        return obj.served

    @admin.display(description="secrets")
    def credentials(self, obj):
        if obj is None or obj.pk is None:
            return "not set"
        secret = "client secret ••••••" if obj.client_secret_encrypted else "no client secret"
        token = "refresh token ••••••" if obj.refresh_token_encrypted else "no refresh token"
        return f"{secret}; {token} (stored encrypted)"

    # Stored credentials can spend any advertiser's budget: superusers only.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


# --- Amazon sync and competitor prices (appended; the AmazonConnection admin above is unchanged) ----

from django.contrib import messages  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from campaigns.choices import Role  # noqa: E402
from campaigns.models import Advertiser  # noqa: E402
from integrations.models import (  # noqa: E402
    AmazonAdvertiserLink,
    AmazonSyncAdvertiser,
    CompetitorPrice,
    CompetitorProduct,
    CompetitorSource,
    ConflictResolution,
    ExternalRef,
    SyncConflict,
    SyncDirection,
    SyncRun,
    SyncScope,
    SyncTrigger,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: the console shows them and acts through actions."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TenantScopedAdmin(ReadOnlyAdmin):
    """Non-superusers see their advertisers' rows only (the one tenancy helper, visible_to)."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff


def _writable_advertiser_ids(request, role=Role.TRADER) -> set[int]:
    return set(Advertiser.objects.visible_to(request.user, role).values_list("pk", flat=True))


@admin.register(SyncRun)
class SyncRunAdmin(TenantScopedAdmin):
    list_display = ["id", "advertiser", "direction", "scope", "status_badge", "dry_run", "progress", "created",
                    "updated", "unchanged", "failed", "conflicts", "trigger", "queued_at", "finished_at"]
    list_filter = ["status", "direction", "scope", "trigger", "dry_run"]
    list_select_related = ["advertiser", "connection"]
    search_fields = ["advertiser__name", "request_id"]
    date_hierarchy = "queued_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields] + ["errors_table"]
    exclude = ["errors"]
    actions = ["run_again"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = {"succeeded": "#2e7d32", "failed": "#c62828", "running": "#1565c0"}.get(obj.status, "#666")
        return format_html('<b style="color:{}">{}</b>', colour, obj.status)

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.progress_done}/{obj.progress_total}"

    @admin.display(description="errors")
    def errors_table(self, obj):
        if not obj.errors:
            return "none"
        rows = "".join(
            format_html("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", e.get("object"), e.get("code"),
                        e.get("message"), e.get("request_id") or "")
            for e in obj.errors[:200])
        return format_html("<table><tr><th>object</th><th>code</th><th>message</th><th>Amazon request id</th></tr>"
                           "{}</table>", format_html(rows))

    @admin.action(description="Run again (a new run like the selected ones)")
    def run_again(self, request, queryset):
        from integrations.sync import SyncAlreadyRunning, sync_run_requeue

        allowed = _writable_advertiser_ids(request)
        started = skipped = 0
        for run in queryset.select_related("advertiser", "connection"):
            if run.advertiser_id not in allowed:
                skipped += 1
                continue
            try:
                sync_run_requeue(run=run)
                started += 1
            except SyncAlreadyRunning:
                skipped += 1
        self.message_user(request, f"Queued {started} run(s); skipped {skipped} (already running or no permission).")


@admin.register(SyncConflict)
class SyncConflictAdmin(TenantScopedAdmin):
    list_display = ["object_label", "advertiser", "field", "our_value", "their_value", "base_value", "detected_at",
                    "state", "resolved_by", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "field", "resolution"]
    list_select_related = ["advertiser", "ref__content_type", "resolved_by"]
    search_fields = ["advertiser__name", "ref__external_id"]
    readonly_fields = ["object_label", "advertiser", "field", "our_value", "their_value", "base_value", "run",
                       "detected_at", "resolution", "resolved_by", "resolved_at"]
    exclude = ["ref"]
    actions = ["ours_wins", "theirs_wins"]

    @admin.display(description="object")
    def object_label(self, obj):
        return f"{obj.ref.content_type.model} {obj.ref.object_id} (Amazon {obj.ref.external_id})"

    @admin.display(description="state")
    def state(self, obj):
        return "open" if obj.is_open else (obj.get_resolution_display() or "settled")

    def _resolve(self, request, queryset, resolution: str):
        from integrations.sync import sync_conflict_resolve

        allowed = _writable_advertiser_ids(request)
        resolved, failures = 0, []
        for conflict in queryset.filter(resolved_at__isnull=True).select_related("ref__content_type"):
            if conflict.advertiser_id not in allowed:
                failures.append(f"{conflict.pk}: you need the trader role on this advertiser")
                continue
            try:
                sync_conflict_resolve(conflict=conflict, resolution=resolution, by=request.user)
                resolved += 1
            except Exception as exc:  # shown to the account manager; each conflict stands alone
                failures.append(f"{conflict.pk}: {exc}")
        self.message_user(request, f"Resolved {resolved} conflict(s) ({ConflictResolution(resolution).label}).")
        if failures:
            self.message_user(request, "Not resolved: " + "; ".join(failures[:20]), level=messages.WARNING)

    @admin.action(description="Ours wins: send our value to Amazon")
    def ours_wins(self, request, queryset):
        self._resolve(request, queryset, ConflictResolution.OURS)

    @admin.action(description="Theirs wins: take Amazon's value here")
    def theirs_wins(self, request, queryset):
        self._resolve(request, queryset, ConflictResolution.THEIRS)


@admin.register(ExternalRef)
class ExternalRefAdmin(TenantScopedAdmin):
    list_display = ["content_type", "object_id", "advertiser", "system", "external_id", "pending_since",
                    "delivery_status", "synced_at", "remote_seen_at"]
    list_filter = ["system", "content_type", ("pending_since", admin.EmptyFieldListFilter), "delivery_status"]
    list_select_related = ["content_type", "advertiser"]
    search_fields = ["external_id", "account_id"]
    readonly_fields = [f.name for f in ExternalRef._meta.fields]


@admin.register(AmazonAdvertiserLink)
class AmazonAdvertiserLinkAdmin(TenantScopedAdmin):
    """Which DSP advertiser each of the user's advertisers is, and the connection's name and region.
    Nothing else of the connection (credentials, the other advertisers it serves) is shown here;
    superusers edit links on the connection's page."""

    list_display = ["advertiser", "dsp_advertiser_id", "connection_name", "region", "created_at"]
    list_select_related = ["advertiser", "connection"]
    search_fields = ["advertiser__name", "dsp_advertiser_id"]
    fields = ["advertiser", "dsp_advertiser_id", "connection_name", "region", "created_at"]
    readonly_fields = fields

    @admin.display(description="connection", ordering="connection__name")
    def connection_name(self, obj):
        return obj.connection.name

    @admin.display(description="region", ordering="connection__region")
    def region(self, obj):
        return obj.connection.region


@admin.register(AmazonSyncAdvertiser)
class AmazonSyncAdmin(ReadOnlyAdmin):
    """Per advertiser: its connection and sync state, and the buttons that start a sync."""

    list_display = ["name", "connection", "dsp_advertiser", "last_successful_push", "last_successful_pull", "live",
                    "conflicts", "creates_in_doubt"]
    search_fields = ["name"]
    actions = ["push_now", "pull_now", "pull_performance_now", "dry_run_push"]

    @admin.display(description="connection", ordering="connection_name")
    def connection(self, obj):
        return obj.connection_name or "— none —"

    @admin.display(description="DSP advertiser", ordering="dsp_advertiser_id")
    def dsp_advertiser(self, obj):
        return obj.dsp_advertiser_id or "—"

    @admin.display(description="last push", ordering="last_push")
    def last_successful_push(self, obj):
        return obj.last_push

    @admin.display(description="last pull", ordering="last_pull")
    def last_successful_pull(self, obj):
        return obj.last_pull

    @admin.display(description="live runs", ordering="live_runs")
    def live(self, obj):
        return obj.live_runs

    @admin.display(description="open conflicts", ordering="open_conflicts")
    def conflicts(self, obj):
        return obj.open_conflicts

    @admin.display(description="creates in doubt", ordering="pending_creates")
    def creates_in_doubt(self, obj):
        return obj.pending_creates

    def get_queryset(self, request):
        from integrations.selectors import with_sync_state

        return with_sync_state(AmazonSyncAdvertiser.objects.visible_to(request.user))

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def _start(self, request, queryset, direction, scope=SyncScope.ALL, dry_run=False):
        from integrations.sync import NoConnection, SyncAlreadyRunning, sync_run_start

        allowed = _writable_advertiser_ids(request)
        started, skipped = 0, []
        for advertiser in queryset:
            if advertiser.pk not in allowed:
                skipped.append(f"{advertiser}: no trader role")
                continue
            try:
                sync_run_start(advertiser=advertiser, direction=direction, scope=scope, dry_run=dry_run,
                               trigger=SyncTrigger.ADMIN, by=request.user)
                started += 1
            except (SyncAlreadyRunning, NoConnection) as exc:
                skipped.append(f"{advertiser}: {exc}")
        self.message_user(request, f"Queued {started} {direction} run(s); follow them under Sync runs.")
        if skipped:
            self.message_user(request, "Skipped: " + "; ".join(skipped[:20]), level=messages.WARNING)

    @admin.action(description="Push to Amazon now")
    def push_now(self, request, queryset):
        self._start(request, queryset, SyncDirection.PUSH)

    @admin.action(description="Pull statuses from Amazon now")
    def pull_now(self, request, queryset):
        self._start(request, queryset, SyncDirection.PULL, SyncScope.ENTITIES)

    @admin.action(description="Pull daily performance (DSP report) now")
    def pull_performance_now(self, request, queryset):
        self._start(request, queryset, SyncDirection.PULL, SyncScope.PERFORMANCE)

    @admin.action(description="Dry-run push (what would change, nothing sent)")
    def dry_run_push(self, request, queryset):
        self._start(request, queryset, SyncDirection.PUSH, dry_run=True)


@admin.register(CompetitorSource)
class CompetitorSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "base_url", "enabled", "change_threshold_percent", "last_success_at",
                    "last_product_count", "failing"]
    list_filter = ["enabled"]
    search_fields = ["name", "base_url"]
    filter_horizontal = ["advertisers"]
    readonly_fields = ["last_attempt_at", "last_success_at", "last_error", "last_product_count", "created_at"]
    actions = ["fetch_now"]

    @admin.display(description="last error", boolean=False)
    def failing(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description="Fetch prices now (in the background)")
    def fetch_now(self, request, queryset):
        from integrations.tasks import fetch_competitor_source

        for source in queryset:
            fetch_competitor_source(source.pk)
        self.message_user(request, f"Queued {queryset.count()} fetch(es).")


class CompetitorPriceInline(admin.TabularInline):
    model = CompetitorPrice
    fields = ["observed_at", "previous_price", "price", "change_percent", "event_type"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-observed_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CompetitorProduct)
class CompetitorProductAdmin(ReadOnlyAdmin):
    list_display = ["title", "source", "brand", "category", "price", "changes", "last_seen_at"]
    list_filter = ["source", "category"]
    list_select_related = ["source"]
    search_fields = ["title", "brand", "sku", "external_id"]
    inlines = [CompetitorPriceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(price_rows=Count("prices"))

    @admin.display(description="price rows", ordering="price_rows")
    def changes(self, obj):
        return obj.price_rows


@admin.register(CompetitorPrice)
class CompetitorPriceAdmin(ReadOnlyAdmin):
    list_display = ["product", "previous_price", "price", "change_percent", "event_type", "observed_at"]
    list_filter = ["event_type", "product__source"]
    list_select_related = ["product"]
    search_fields = ["product__title", "product__sku"]
    date_hierarchy = "observed_at"
