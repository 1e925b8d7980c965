"""Reporting in the ops console: dashboards, daily performance (with uploads) and budget
recommendations.

Access follows the console's one rule (campaigns.admin_console.access): membership roles decide
for staff who are not superusers, and every page is scoped through `visible_to` (another
advertiser's dashboard or recommendation is not found). Viewers read; traders upload and propose;
only managers accept a recommendation.
"""

from datetime import date

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from backend.admin_progress import progress_cell
from campaigns.admin_console.access import TenantAdmin, has_role
from campaigns.admin_console.filters import advertiser_filter
from campaigns.choices import Role
from campaigns.models import Advertiser, Campaign
from reporting.choices import ImportStatus, RecommendationStatus
from reporting.dashboards import advertiser_dashboard, campaign_dashboard
from reporting.metrics import row_metric_expressions
from reporting.models import AdvertiserDashboard, BudgetRecommendation, DailyPerformance, PerformanceImport
from reporting.recommendations import RecommendationConflict, budget_recommendation_accept, budget_recommendation_propose
from reporting.selectors import live_q
from reporting.imports import performance_import_create
from reporting.uploads import UploadRefused


def _date_param(request, name: str) -> date | None:
    try:
        return date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None


def _page(model_admin, request, template: str, title: str, context: dict) -> TemplateResponse:
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, {
        **model_admin.admin_site.each_context(request), "title": title, "opts": model_admin.model._meta, **context,
    })


@admin.register(AdvertiserDashboard)
class AdvertiserDashboardAdmin(TenantAdmin):
    """Advertisers, each opening its dashboard; campaign dashboards hang under it."""

    list_display = ["name", "currency", "timezone", "live_campaigns", "dashboard"]
    search_fields = ["name"]

    def get_queryset(self, request):
        live = (
            Campaign.objects.filter(live_q(), advertiser=OuterRef("pk")).order_by()
            .values("advertiser").annotate(n=Count("pk")).values("n")
        )
        return super().get_queryset(request).annotate(live_count=Coalesce(Subquery(live, output_field=IntegerField()), 0))

    @admin.display(description="live campaigns", ordering="live_count")
    def live_campaigns(self, obj):
        return obj.live_count

    @admin.display(description="")
    def dashboard(self, obj):
        return format_html('<a class="button" href="{}">Open dashboard</a>', reverse("admin:reporting_advertiserdashboard_change", args=[obj.pk]))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        advertiser = self.get_object(request, object_id)
        if advertiser is None or not self.has_view_permission(request, advertiser):
            raise Http404("No such advertiser.")
        context = advertiser_dashboard(advertiser=advertiser, start=_date_param(request, "start"), end=_date_param(request, "end"))
        context["can_propose"] = has_role(request, Role.TRADER, advertiser.pk)
        return _page(self, request, "admin/reporting/dashboard/advertiser.html", f"Dashboard: {advertiser}", context)

    def campaign_view(self, request, campaign_id):
        campaign = Campaign.objects.visible_to(request.user).select_related("advertiser").filter(pk=campaign_id).first()
        if campaign is None:
            raise Http404("No such campaign.")
        context = campaign_dashboard(campaign=campaign, start=_date_param(request, "start"), end=_date_param(request, "end"))
        return _page(self, request, "admin/reporting/dashboard/campaign.html", f"Dashboard: {campaign}", context)

    def get_urls(self):
        return [
            path("campaign/<int:campaign_id>/", self.admin_site.admin_view(self.campaign_view), name="reporting_campaign_dashboard"),
            *super().get_urls(),
        ]


@admin.register(DailyPerformance)
class DailyPerformanceAdmin(TenantAdmin):
    """Daily rows as imported; written only by uploads and the Amazon sync."""

    change_list_template = "admin/reporting/dailyperformance/change_list.html"
    list_display = [
        "date", "line_item", "campaign", "advertiser", "impressions", "clicks", "conversions", "spend", "sales",
        "roas", "viewability", "source",
    ]
    list_select_related = ["line_item__campaign__advertiser"]
    list_filter = [advertiser_filter("line_item__campaign__advertiser"), "source", "date", "line_item__format"]
    search_fields = ["line_item__name", "line_item__campaign__name"]
    date_hierarchy = "date"
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**row_metric_expressions(["roas", "viewability_rate"]))

    @admin.display(description="campaign", ordering="line_item__campaign__name")
    def campaign(self, obj):
        return obj.line_item.campaign

    @admin.display(description="advertiser", ordering="line_item__campaign__advertiser__name")
    def advertiser(self, obj):
        return obj.line_item.campaign.advertiser

    @admin.display(description="ROAS", ordering="roas")
    def roas(self, obj):
        return "—" if obj.roas is None else f"{obj.roas:.2f}"

    @admin.display(description="viewability", ordering="viewability_rate")
    def viewability(self, obj):
        return "—" if obj.viewability_rate is None else f"{obj.viewability_rate * 100:.1f} %"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def upload_view(self, request):
        if not has_role(request, Role.TRADER):
            raise PermissionDenied
        if request.method == "POST" and request.FILES.get("file"):
            try:
                job = performance_import_create(upload=request.FILES["file"], by=request.user)
            except UploadRefused as exc:
                messages.error(request, f"Nothing imported: {exc}")
            else:
                messages.success(request, "Upload queued: this page shows its progress, then what was imported.")
                return HttpResponseRedirect(reverse("admin:reporting_performanceimport_change", args=[job.pk]))
        return _page(self, request, "admin/reporting/dailyperformance/upload.html", "Upload daily performance", {})

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="reporting_dailyperformance_upload"),
            *super().get_urls(),
        ]


@admin.register(BudgetRecommendation)
class BudgetRecommendationAdmin(TenantAdmin):
    """Proposed reallocations beside the current split; a manager accepts one to apply it."""

    change_form_template = "admin/reporting/budgetrecommendation/change_form.html"
    list_display = ["__str__", "advertiser", "status", "as_of", "total_remaining", "created_by", "created_at", "decided_by"]
    list_select_related = ["advertiser", "created_by", "decided_by"]
    list_filter = [advertiser_filter(), "status"]
    fields = [
        "advertiser", "status", "as_of", "lookback_days", "min_share", "max_share", "total_remaining",
        "created_by", "created_at", "decided_by", "decided_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        recommendation = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if recommendation is not None:
            lines = list(recommendation.lines.select_related("campaign").order_by("campaign__name", "campaign_id"))
            for line in lines:
                line.current_share = line.remaining / recommendation.total_remaining * 100 if recommendation.total_remaining else None
                line.proposed_share = line.proposed_remaining / recommendation.total_remaining * 100 if recommendation.total_remaining else None
            extra.update(
                lines=lines,
                currency=recommendation.advertiser.currency,
                can_accept=recommendation.status == RecommendationStatus.PROPOSED
                and has_role(request, Role.MANAGER, recommendation.advertiser_id),
            )
        return super().change_view(request, object_id, form_url, extra)

    def propose_view(self, request, advertiser_id):
        advertiser = get_object_or_404(Advertiser.objects.visible_to(request.user), pk=advertiser_id)
        if not has_role(request, Role.TRADER, advertiser.pk):
            raise PermissionDenied
        try:
            recommendation = budget_recommendation_propose(advertiser=advertiser, by=request.user)
        except ValidationError as exc:
            messages.warning(request, " ".join(exc.messages))
            return HttpResponseRedirect(reverse("admin:reporting_advertiserdashboard_change", args=[advertiser.pk]))
        messages.success(request, "Proposed a reallocation; review it and accept it (managers) to apply it.")
        return HttpResponseRedirect(reverse("admin:reporting_budgetrecommendation_change", args=[recommendation.pk]))

    def accept_view(self, request, pk):
        recommendation = self.get_object(request, str(pk))
        if recommendation is None:
            raise Http404("No such recommendation.")
        if not has_role(request, Role.MANAGER, recommendation.advertiser_id):
            raise PermissionDenied
        try:
            budget_recommendation_accept(recommendation=recommendation, by=request.user)
        except RecommendationConflict as exc:
            messages.warning(request, str(exc))
        except ValidationError as exc:
            messages.error(request, "Not applied: " + " ".join(exc.messages))
        else:
            messages.success(request, f"Applied: {recommendation.lines.count()} campaign budget(s) updated and recorded in the budget history.")
        return HttpResponseRedirect(reverse("admin:reporting_budgetrecommendation_change", args=[pk]))

    def get_urls(self):
        return [
            path("propose/<int:advertiser_id>/", self.admin_site.admin_view(require_POST(self.propose_view)), name="reporting_budgetrecommendation_propose"),
            path("<int:pk>/accept/", self.admin_site.admin_view(require_POST(self.accept_view)), name="reporting_budgetrecommendation_accept"),
            *super().get_urls(),
        ]


@admin.register(PerformanceImport)
class PerformanceImportAdmin(admin.ModelAdmin):
    """Performance uploads and their jobs: progress while a worker reads and checks the rows, then
    what was imported, or why nothing was (the failing rows, by spreadsheet row and column).
    Each user sees their own uploads (an upload may span advertisers); superusers see all."""

    list_display = ["__str__", "status", "progress_bar", "outcome", "requested_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["requested_by"]
    list_per_page = 50
    shown = ["filename", "status", "progress_bar", "outcome", "error", "row_errors", "requested_by", "created_at",
             "started_at", "heartbeat_at", "finished_at", "attempts"]
    fields = readonly_fields = shown

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_module_permission(self, request):
        return has_role(request, Role.TRADER)

    def has_view_permission(self, request, obj=None):
        if not has_role(request, Role.TRADER):
            return False
        return obj is None or request.user.is_superuser or obj.requested_by_id == request.user.pk

    def has_add_permission(self, request):
        return False  # uploads start on the daily performance page's upload form

    def has_change_permission(self, request, obj=None):
        return False  # a job is a record

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="progress")
    def progress_bar(self, job):
        return progress_cell(percent=job.percent, done=job.progress_done, total=job.progress_total,
                             active=job.status in ImportStatus.active(), unit="rows checked")

    @admin.display(description="outcome")
    def outcome(self, job):
        counts = job.counts or {}
        if job.status == ImportStatus.SUCCEEDED:
            return (f"Imported {counts.get('rows', 0):,} row(s): {counts.get('created', 0):,} new, "
                    f"{counts.get('updated', 0):,} updated, {counts.get('unchanged', 0):,} unchanged.")
        if job.status == ImportStatus.FAILED:
            return f"{job.error_count:,} row(s) refused; nothing imported." if job.error_count else "Nothing imported."
        return "—"

    @admin.display(description="refused rows")
    def row_errors(self, job):
        if not job.errors:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (failure.get("row"), column, problem)
            for failure in job.errors for column, problems in (failure.get("errors") or {}).items() for problem in problems
        ))
        more = f" (first {len(job.errors):,} of {job.error_count:,} shown)" if job.error_count > len(job.errors) else ""
        return format_html('<p>{} row(s) refused{}</p><table data-table="import-errors"><thead><tr><th>Row</th>'
                           "<th>Column</th><th>Problem</th></tr></thead><tbody>{}</tbody></table>",
                           f"{job.error_count:,}", more, rows)
