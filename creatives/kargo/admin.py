"""Ops console for Kargo: formats (editable), deals with dates and floors (filters "ending in 14
days" and "not trafficked"), Kargo creatives, deal-list imports, and a panel on the line item page
with its targeted deals and the Kargo creatives running on them.

The line item panel is an inline added to the LineItem admin that campaigns registered
(`install_line_item_panel`, run when creatives.admin imports this module; admin autodiscovery
imports campaigns.admin first, INSTALLED_APPS order). Campaigns' code is not edited and imports
nothing of ours.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html_join

from campaigns.admin_console.access import TenantAdmin, TenantInline, has_role
from campaigns.admin_console.filters import advertiser_filter
from campaigns.choices import Role
from creatives.kargo.imports import MAX_BYTES, kargo_deal_import_start
from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealImport, KargoDealTarget, KargoFormat
from creatives.kargo.services import kargo_creative_create
from creatives.kargo.validation import validate_creative

ENDING_DAYS = 14


@admin.register(KargoFormat)
class KargoFormatAdmin(admin.ModelAdmin):
    list_display = ["name", "dsp_size", "media_type", "is_vast", "ad_spec", "is_active"]
    list_filter = ["media_type", "is_vast", "is_active"]
    list_select_related = ["ad_spec"]
    search_fields = ["name"]
    autocomplete_fields = ["ad_spec"]

    def has_module_permission(self, request):
        return request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # creatives and deals point at formats: deactivate instead


class EndingSoonFilter(admin.SimpleListFilter):
    title = "ending"
    parameter_name = "ending"

    def lookups(self, request, model_admin):
        return [("14", f"Ending in {ENDING_DAYS} days"), ("ended", "Ended")]

    def queryset(self, request, queryset):
        if self.value() == "14":
            return queryset.ending_within(ENDING_DAYS)
        if self.value() == "ended":
            return queryset.filter(end_date__lt=timezone.localdate())
        return queryset


class TraffickedFilter(admin.SimpleListFilter):
    title = "trafficked"
    parameter_name = "trafficked"

    def lookups(self, request, model_admin):
        return [("no", "Not trafficked"), ("yes", "Trafficked")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.not_trafficked()
        if self.value() == "yes":
            return queryset.trafficked()
        return queryset


@admin.register(KargoDeal)
class KargoDealAdmin(admin.ModelAdmin):
    """Deals are Kargo's data: superusers edit them (or imports bring them); staff see the deals
    offered to their advertisers."""

    list_display = ["deal_id", "name", "deal_type", "floor_cpm", "currency", "start_date", "end_date", "state",
                    "target_count"]
    list_filter = [EndingSoonFilter, TraffickedFilter, "deal_type", "state", "currency"]
    search_fields = ["deal_id", "name"]
    filter_horizontal = ["formats", "advertisers"]
    date_hierarchy = "end_date"
    ordering = ["end_date", "deal_id"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).annotate(n_targets=Count("targets"))

    @admin.display(description="line items", ordering="n_targets")
    def target_count(self, deal):
        return deal.n_targets

    def has_module_permission(self, request):
        return has_role(request, Role.VIEWER)

    def has_view_permission(self, request, obj=None):
        return has_role(request, Role.VIEWER)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and (obj is None or not obj.targets.exists())


class KargoCreativeForm(forms.ModelForm):
    class Meta:
        model = KargoCreative
        fields = ["advertiser", "name", "format", "deal", "tag_type", "tag", "vast_url", "vast_xml", "width",
                  "height", "click_through_url", "click_trackers", "impression_trackers"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not self.errors:
            errors = validate_creative(
                format=cleaned.get("format"), tag_type=cleaned.get("tag_type"), tag=cleaned.get("tag") or "",
                vast_url=cleaned.get("vast_url") or "", vast_xml=cleaned.get("vast_xml") or "",
                width=cleaned.get("width"), height=cleaned.get("height") or None,
                click_through_url=cleaned.get("click_through_url") or "",
                click_trackers=cleaned.get("click_trackers") or [],
                impression_trackers=cleaned.get("impression_trackers") or [])
            if errors:
                raise ValidationError(errors)
        return cleaned


@admin.register(KargoCreative)
class KargoCreativeAdmin(TenantAdmin):
    form = KargoCreativeForm
    list_display = ["name", "advertiser", "format", "deal", "tag_type", "creative_status", "trafficked_at"]
    list_filter = [advertiser_filter("advertiser"), "format", "tag_type"]
    list_select_related = ["advertiser", "format", "deal", "creative"]
    search_fields = ["name", "deal__deal_id"]
    readonly_on_change = ("advertiser", "format", "deal", "tag_type", "tag", "vast_url", "vast_xml", "width",
                          "height", "click_through_url", "click_trackers", "impression_trackers")

    @admin.display(description="pipeline")
    def creative_status(self, kc):
        return kc.creative.status if kc.creative_id else "validated (inline VAST)"

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "updated_at"])
            return
        data = form.cleaned_data
        created = kargo_creative_create(
            advertiser=data["advertiser"], name=data["name"], format=data["format"], deal=data["deal"],
            tag_type=data["tag_type"], tag=data.get("tag") or "", vast_url=data.get("vast_url") or "",
            vast_xml=data.get("vast_xml") or "", width=data.get("width"), height=data.get("height"),
            click_through_url=data.get("click_through_url") or "", click_trackers=data.get("click_trackers") or [],
            impression_trackers=data.get("impression_trackers") or [], by=request.user)
        obj.pk = created.pk


class KargoImportForm(forms.ModelForm):
    upload = forms.FileField(help_text="The deal list as Kargo sends it (CSV).")

    class Meta:
        model = KargoDealImport
        fields = ["advertiser"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        data = upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValidationError(f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
        try:
            self.csv_text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("The file is not UTF-8 text.") from None
        return upload


@admin.register(KargoDealImport)
class KargoDealImportAdmin(TenantAdmin):
    form = KargoImportForm
    list_display = ["__str__", "advertiser", "filename", "status", "progress", "created", "updated", "created_at"]
    list_filter = [advertiser_filter("advertiser"), "status"]
    list_select_related = ["advertiser"]
    readonly_fields = ["filename", "status", "progress_done", "progress_total", "created", "updated",
                       "error_report", "error", "created_at", "finished_at"]

    @admin.display(description="progress")
    def progress(self, job):
        return f"{job.progress_done}/{job.progress_total}"

    @admin.display(description="errors")
    def error_report(self, job):
        return format_html_join("\n", "<div>row {}: {}: {}</div>",
                                ((e["row"], e["field"], e["message"]) for e in job.errors)) or "—"

    def get_fields(self, request, obj=None):
        return ["advertiser", "upload"] if obj is None else ["advertiser", *self.readonly_fields]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        job = kargo_deal_import_start(advertiser=form.cleaned_data["advertiser"], content=form.csv_text,
                                      filename=form.cleaned_data["upload"].name, by=request.user)
        obj.pk = job.pk
        messages.info(request, f"Import {job.pk} queued; refresh its page for progress and the error report.")


class KargoDealTargetInline(TenantInline, admin.TabularInline):
    """The line item page's panel: its targeted deals and the Kargo creatives running on them."""

    model = KargoDealTarget
    fk_name = "line_item"
    extra = 0
    verbose_name = "targeted Kargo deal"
    verbose_name_plural = "Targeted Kargo deals and Kargo creatives"
    fields = ["deal", "deal_type", "floor", "flight", "trafficked_at", "kargo_creatives"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "line_item__campaign")

    @admin.display(description="type")
    def deal_type(self, target):
        return target.deal.get_deal_type_display()

    @admin.display(description="floor CPM")
    def floor(self, target):
        return f"{target.deal.floor_cpm} {target.deal.currency}"

    @admin.display(description="dates")
    def flight(self, target):
        return f"{target.deal.start_date} → {target.deal.end_date}"

    @admin.display(description="Kargo creatives")
    def kargo_creatives(self, target):
        advertiser_id = target.line_item.campaign.advertiser_id
        creatives = KargoCreative.objects.filter(deal=target.deal, advertiser_id=advertiser_id)
        return format_html_join(", ", "{} ({})", ((c.name, c.format) for c in creatives)) or "—"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def install_line_item_panel(site=admin.site) -> None:
    """Add the Kargo panel to the LineItem admin campaigns registered (idempotent)."""
    from campaigns.models import LineItem

    model_admin = site._registry.get(LineItem)
    if model_admin is not None and KargoDealTargetInline not in model_admin.inlines:
        model_admin.inlines = [*model_admin.inlines, KargoDealTargetInline]


install_line_item_panel()
