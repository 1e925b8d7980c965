"""Bulk sheets in the ops console: upload a sheet or ask for an export, watch the progress bar,
read the dry run, confirm it (all rows, or only the valid ones), download the files.

Scoped like every console page (campaigns.admin_console.access): a user sees the jobs of the
advertisers they hold a membership for; importing and confirming need a trader, exporting any
role, and a dry run that changes budgets of existing campaigns a manager.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from backend.admin_progress import progress_cell
from campaigns.admin_console.access import TenantAdmin, has_role
from campaigns.admin_console.filters import advertiser_filter
from campaigns.bulksheets.api.views import file_response
from campaigns.bulksheets.choices import ApplyMode, JobKind, JobStatus
from campaigns.bulksheets.metrics import range_problem
from campaigns.bulksheets.models import BulkSheetJob
from campaigns.bulksheets.safety import SheetRefused, check_name_and_size
from campaigns.bulksheets.services import (
    BudgetRoleRequired,
    JobConflict,
    bulk_sheet_confirm,
    bulk_sheet_export_create,
    bulk_sheet_import_create,
)
from campaigns.choices import Role

_ACTIVE = {JobStatus.QUEUED, JobStatus.VALIDATING, JobStatus.APPLYING, JobStatus.EXPORTING}


class BulkSheetJobForm(forms.ModelForm):
    upload = forms.FileField(required=False, label="Sheet (.xlsx)",
                             help_text="Amazon's download or create template, or one of our exports, edited.")

    class Meta:
        model = BulkSheetJob
        fields = ["advertiser", "kind", "mode", "metrics_start", "metrics_end"]
        labels = {"metrics_start": "Performance from", "metrics_end": "Performance to"}
        help_texts = {"metrics_start": "Exports: fill Impressions … ROAS of campaign and ad group rows with their "
                                       "delivery over these days (both, or neither for blank columns)."}

    def clean(self):
        data = super().clean()
        upload, kind, advertiser = data.get("upload"), data.get("kind"), data.get("advertiser")
        start, end = data.get("metrics_start"), data.get("metrics_end")
        if problem := range_problem(kind, start, end):
            self.add_error(*problem)
        if kind == JobKind.IMPORT:
            if not upload:
                self.add_error("upload", "An import needs the sheet.")
            else:
                try:
                    check_name_and_size(upload.name, upload.size)
                except SheetRefused as exc:
                    self.add_error("upload", str(exc))
            if advertiser is not None and not has_role(self.request, Role.TRADER, advertiser.pk):
                self.add_error("advertiser", "Importing needs the trader role on this advertiser.")
        elif upload:
            self.add_error("upload", "An export takes no file.")
        return data


@admin.register(BulkSheetJob)
class BulkSheetJobAdmin(TenantAdmin):
    form = BulkSheetJobForm
    edit_role = Role.VIEWER  # anyone may export; importing needs a trader (the form checks)
    list_display = ["__str__", "advertiser", "kind", "status", "progress_bar", "outcome", "requested_by", "created_at"]
    list_display_links = ["__str__"]
    list_filter = [advertiser_filter(), "kind", "status"]
    list_select_related = ["advertiser", "requested_by"]
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    shown = ["advertiser", "kind", "status", "progress_bar", "outcome", "buttons", "dry_run", "error", "files",
             "mode", "resolved_mode", "apply_mode", "metrics_start", "metrics_end", "filename", "requested_by",
             "confirmed_by", "created_at", "started_at", "heartbeat_at", "confirmed_at", "finished_at"]

    hidden_for = {
        JobKind.IMPORT: {"metrics_start", "metrics_end"},
        JobKind.EXPORT: {"buttons", "dry_run", "mode", "resolved_mode", "apply_mode", "confirmed_by", "confirmed_at"},
    }

    def _shown(self, job) -> list[str]:
        return [name for name in self.shown if name not in self.hidden_for.get(job.kind, ())]

    def get_fields(self, request, obj=None):
        return ["advertiser", "kind", "mode", "upload", "metrics_start", "metrics_end"] if obj is None else self._shown(obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self._shown(obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def has_change_permission(self, request, obj=None):
        return False  # a job is a record: confirming and downloading are its only actions

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if data["kind"] == JobKind.IMPORT:
            upload = data["upload"]
            bulk_sheet_import_create(advertiser=data["advertiser"], fileobj=upload, filename=upload.name,
                                     by=request.user, mode=data["mode"], job=obj)
        else:
            bulk_sheet_export_create(advertiser=data["advertiser"], by=request.user, job=obj,
                                     metrics_start=data.get("metrics_start"), metrics_end=data.get("metrics_end"))

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"{obj.get_kind_display()} queued: this page shows its progress.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:campaigns_bulksheetjob_change", args=[obj.pk]))

    # --- read-only fields --------------------------------------------------------------------

    @admin.display(description="progress")
    def progress_bar(self, job):
        return progress_cell(percent=job.percent, done=job.progress_done, total=job.progress_total,
                             active=job.status in _ACTIVE)

    @admin.display(description="outcome")
    def outcome(self, job):
        counts = job.counts or {}
        if job.kind == JobKind.EXPORT:
            return f"{counts.get('rows', 0):,} rows" if counts else "—"
        if not counts:
            return "—"
        parts = [f"{counts.get(k, 0):,} {k}" for k in ("create", "update", "archive", "unchanged")]
        if counts.get("errors") or counts.get("not_processed"):
            parts.append(f"{counts.get('errors', 0):,} with errors, {counts.get('not_processed', 0):,} not processed")
        if "applied" in counts:
            parts.append(f"{counts['applied']:,} written")
        return ", ".join(parts)

    @admin.display(description="files")
    def files(self, job):
        links = []
        if job.file:
            links.append(("download", "The sheet" if job.kind == JobKind.IMPORT else "Download the export"))
        if job.error_file:
            links.append(("errors", "The error workbook"))
        if not links:
            return "—"
        return format_html_join(" · ", '<a href="{}">{}</a>', (
            (reverse("admin:campaigns_bulksheetjob_file", args=[job.pk, which]), label) for which, label in links))

    @admin.display(description="confirm")
    def buttons(self, job):
        if job.status != JobStatus.AWAITING_CONFIRMATION:
            return "—"
        url = reverse("admin:campaigns_bulksheetjob_confirm", args=[job.pk])
        # formaction: the buttons post the page's own form (and its CSRF token) to the confirm view.
        buttons = [] if job.has_errors else [(url, ApplyMode.ALL, "Apply all rows")]
        buttons.append((url, ApplyMode.VALID_ONLY, "Apply only the valid rows"))
        html = format_html_join(" ", '<button type="submit" formaction="{}" formnovalidate name="apply_mode" value="{}" '
                                     'class="button">{}</button>', buttons)
        if job.diff.get("touches_budgets"):
            html = format_html("{} <small>This sheet changes budgets: a manager confirms it.</small>", html)
        return html

    @admin.display(description="dry run")
    def dry_run(self, job):
        diff = job.diff or {}
        if not diff:
            return "—"
        head = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (entity, c["create"], c["update"], c["archive"], c["unchanged"]) for entity, c in diff.get("by_entity", {}).items()))
        changes = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (c["row"], c["action"], c["entity"], c["label"], _fields(c)) for c in diff.get("changes", [])))
        errors = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (e["row"], e["type"], e["code"], e["message"]) for e in diff.get("errors", [])))
        return format_html(
            "<p>Mode: {} · ids: {}{}</p>"
            "<table><tr><th>entity</th><th>create</th><th>update</th><th>archive</th><th>unchanged</th></tr>{}</table>"
            "<h4>Changes{}</h4><table><tr><th>row</th><th>action</th><th>entity</th><th>what</th><th>fields</th></tr>{}</table>"
            "<h4>Errors{}</h4><table><tr><th>row</th><th>type</th><th>code</th><th>message</th></tr>{}</table>",
            diff.get("mode"), "ours" if diff.get("id_space") == "adops" else "Amazon's",
            f" · ignored columns: {', '.join(diff['ignored_columns'])}" if diff.get("ignored_columns") else "",
            head, _more(diff.get("changes_omitted")), changes, _more(diff.get("errors_omitted")), errors,
        )

    # --- views -------------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/confirm/", view(self.confirm_view), name="campaigns_bulksheetjob_confirm"),
            path("<int:pk>/file/<str:which>/", view(self.file_view), name="campaigns_bulksheetjob_file"),
            *super().get_urls(),
        ]

    def _visible(self, request, pk) -> BulkSheetJob:
        job = self.get_object(request, str(pk))  # through get_queryset: another advertiser's job is not found
        if job is None or not self.has_view_permission(request, job):
            raise Http404("No such bulk-sheet job.")
        return job

    def confirm_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._visible(request, pk)
        if not has_role(request, Role.TRADER, job.advertiser_id):
            raise PermissionDenied("Confirming needs the trader role on this advertiser.")
        try:
            bulk_sheet_confirm(job=job, apply_mode=request.POST.get("apply_mode", ApplyMode.ALL), by=request.user)
            self.message_user(request, "Confirmed: the sheet is being applied.", messages.SUCCESS)
        except (JobConflict, BudgetRoleRequired, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:campaigns_bulksheetjob_change", args=[job.pk]))

    def file_view(self, request, pk, which):
        job = self._visible(request, pk)
        field = {"download": job.file, "errors": job.error_file}.get(which)
        if not field:
            raise Http404("No such file.")
        name = job.filename if which == "download" and job.filename else f"bulk-sheet-{job.pk}-{which}.xlsx"
        return file_response(field, name)


def _fields(change: dict) -> str:
    fields = change.get("fields") or {}
    if change["action"] == "update":
        return "; ".join(f"{k}: {old} → {new}" for k, (old, new) in fields.items())
    return "; ".join(f"{k}: {v}" for k, v in fields.items() if v not in (None, ""))


def _more(omitted) -> str:
    return f" (first ones; {omitted:,} more in the files)" if omitted else ""
