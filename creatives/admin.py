"""The ops console for creatives: review uploads, see which specs pass and why not, upload in
bulk, reprocess. Tenant pages follow campaigns' console rule (campaigns/admin_console/access.py):
every queryset through `visible_to`, viewers read, traders upload and reprocess. Ad specs are
global and follow Django's model permissions; saving a changed spec reprocesses its creatives.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from campaigns.admin_console.access import TenantAdmin, TenantInline
from campaigns.admin_console.filters import advertiser_filter
from campaigns.choices import Role
from campaigns.models import Advertiser
from creatives.choices import CreativeStatus, MediaFormat
from creatives.formats import Refusal, kib
from creatives.formats.sniff import HEAD_BYTES, sniff
from creatives.models import AdSpec, BatchItem, Creative, ProcessingRun, SpecVerdict, UploadBatch
from creatives.services import (
    ZipRefused,
    batch_create_from_files,
    batch_create_from_zip,
    creative_upload,
    creatives_process_enqueue,
)
from creatives.services.uploads import creatives_delete
from creatives.services.batches import with_progress, zip_inspect

# A change to any other field (name, note) does not alter a verdict.
CHECKED_FIELDS = [f.name for f in AdSpec._meta.fields if f.name not in ("id", "code", "name", "group", "source_note", "updated_at")]


class SpecVerdictFilter(admin.SimpleListFilter):
    """Creatives failing (or passing) one spec: "which uploads do not fit the 320×50?"."""

    title = "failing spec"
    parameter_name = "fails_spec"
    passed = False

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in AdSpec.objects.active().values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        verdicts = SpecVerdict.objects.filter(creative=OuterRef("pk"), spec_id=int(value), passed=self.passed)
        return queryset.filter(Exists(verdicts))


class PassingSpecFilter(SpecVerdictFilter):
    title = "passing spec"
    parameter_name = "passes_spec"
    passed = True


def _thumb(creative: Creative, height: int = 60):
    if creative.thumbnail:
        return format_html('<img src="{}" alt="" style="max-height:{}px;max-width:{}px">', creative.thumbnail.url,
                           height, height * 2)
    return {"video": "▶ video", "audio": "♪ audio"}.get(creative.kind, "—") if creative.kind else "—"


def verdict_matrix(creative: Creative):
    """Every spec checked, pass or fail, the reasons, notes and the rendition made for it."""
    renditions = {r.spec_id: r for r in creative.renditions.select_related("spec").prefetch_related("line_items")}
    verdicts = creative.verdicts.select_related("spec").order_by("-passed", "spec__group", "spec__width", "spec__height")
    if not verdicts:
        return format_html("<p>{}</p>", creative.rejection_reason or "Not checked yet.")
    rows = []
    for v in verdicts:
        r = renditions.get(v.spec_id)
        if r is None:
            made = "—"
        elif r.file and not r.passthrough:
            extra = f", q{r.quality}" if r.quality else (f", {r.colours} colours" if r.colours else "")
            made = format_html('<a href="{}">{}×{} {}</a> {}{}', r.file.url, r.width, r.height, r.format.upper(),
                               kib(r.size_bytes), extra)
        else:
            made = "serves the original" if r.file else "serves the tag"
        on = ", ".join(str(li) for li in r.line_items.all()) if r else ""
        rows.append((
            "#e6f4ea" if v.passed else "#fce8e6", "✔ pass" if v.passed else "✘ fail", v.spec.name,
            v.spec.get_group_display(), format_html_join("", "<div>{}</div>", ((t,) for t in v.reasons + v.notes)) or "",
            made, on or "—",
        ))
    body = format_html_join(
        "", '<tr style="background:{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>', rows
    )
    head = mark_safe(  # a constant
        "<tr><th>verdict</th><th>spec</th><th>group</th><th>reasons and notes</th><th>rendition</th><th>line items</th></tr>"
    )
    passed = sum(1 for v in verdicts if v.passed)
    return format_html('<p>{} of {} specs pass.</p><table class="verdict-matrix">{}{}</table>', passed, len(verdicts),
                       head, body)


class CreativeAddForm(forms.ModelForm):
    """Upload one file for an advertiser; everything else is measured."""

    upload = forms.FileField(help_text="JPEG, PNG, GIF, WebP, MP4 (H.264), WebM, MP3, WAV or Ogg.")

    class Meta:
        model = Creative
        fields = ["advertiser", "name"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        try:
            sniff(upload.read(HEAD_BYTES), upload.name)
        except Refusal as refusal:
            raise ValidationError(refusal.message) from None
        finally:
            upload.seek(0)
        return upload


@admin.register(Creative)
class CreativeAdmin(TenantAdmin):
    list_display = ["preview", "name", "advertiser", "kind", "detected_format", "status", "size", "weight",
                    "specs_passed", "created_at"]
    list_display_links = ["preview", "name"]
    list_filter = ["status", "kind", "detected_format", SpecVerdictFilter, PassingSpecFilter, advertiser_filter()]
    list_select_related = ["advertiser"]
    search_fields = ["name", "original_filename", "=sha256"]
    date_hierarchy = "created_at"
    actions = ["reprocess_selected"]
    readonly_on_change = ("advertiser",)
    fieldsets = [
        (None, {"fields": ["preview_large", "advertiser", "name", "status", "rejection_reason"]}),
        ("Spec verdicts", {"fields": ["verdict_matrix"]}),
        ("Measured", {"fields": ["kind", "delivery", "detected_format", "original_filename", "width", "height",
                                 "duration", "bitrate_kbps", "frame_count", "loops", "size_bytes", "media_info", "sha256"]}),
        ("Third party", {"fields": ["third_party_tag", "vast_url"], "classes": ["collapse"]}),
        ("Processing", {"fields": ["runs_summary", "created_at", "processed_at"]}),
    ]
    readonly_fields = ["preview_large", "status", "rejection_reason", "verdict_matrix", "kind", "delivery",
                       "detected_format", "original_filename", "width", "height", "duration", "bitrate_kbps",
                       "frame_count", "loops", "size_bytes", "media_info", "sha256", "third_party_tag", "vast_url",
                       "runs_summary", "created_at", "processed_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            passed_count=Count("verdicts", filter=Q(verdicts__passed=True)), verdict_count=Count("verdicts"),
        )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CreativeAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["advertiser", "name", "upload"]})]
        return self.fieldsets

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "updated_at"])
            return
        upload = form.cleaned_data["upload"]
        result = creative_upload(advertiser=form.cleaned_data["advertiser"], fh=upload, filename=upload.name,
                                 name=form.cleaned_data.get("name") or "", by=request.user)
        # The admin goes on with `obj` (log entry, redirect): it becomes the creative the service made
        # (or the existing one with the same bytes).
        obj.__dict__.update(result.creative.__dict__)
        if not result.created:
            self.message_user(request, "These bytes were already uploaded for this advertiser: the existing "
                                       "creative is shown.", messages.WARNING)

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def delete_model(self, request, obj):
        creatives_delete(creatives=[obj])

    def delete_queryset(self, request, queryset):
        creatives_delete(creatives=queryset)

    @admin.display(description="preview")
    def preview(self, obj):
        return _thumb(obj)

    @admin.display(description="preview")
    def preview_large(self, obj):
        return _thumb(obj, 160)

    @admin.display(description="size")
    def size(self, obj):
        return f"{obj.width}×{obj.height}" if obj.width else "—"

    @admin.display(description="weight", ordering="size_bytes")
    def weight(self, obj):
        return kib(obj.size_bytes)

    @admin.display(description="specs passed")
    def specs_passed(self, obj):
        if obj.status not in CreativeStatus.finished():
            return obj.get_status_display()
        return f"{obj.passed_count} / {obj.verdict_count}"

    @admin.display(description="spec verdicts")
    def verdict_matrix(self, obj):
        return verdict_matrix(obj)

    @admin.display(description="runs")
    def runs_summary(self, obj):
        runs = obj.runs.all()[:5]
        return format_html_join("", "<div>{} — {} ({} attempt(s), step {}) {}</div>",
                                ((r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.status, r.attempts, r.step or "—",
                                  r.error) for r in runs)) or "—"

    @admin.action(description="Reprocess selected creatives against the current specs", permissions=["change"])
    def reprocess_selected(self, request, queryset):
        selected = len(queryset)
        editable = list(queryset.visible_to(request.user, Role.TRADER))
        runs = creatives_process_enqueue(creatives=editable, reason="reprocess (console)")
        skipped = f" {selected - len(editable)} you may not change (viewer role)." if selected > len(editable) else ""
        self.message_user(request, f"Queued {len(runs)} creative(s) for processing.{skipped}", messages.SUCCESS)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        items = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class BatchForm(forms.ModelForm):
    archive_upload = forms.FileField(required=False, label="Zip archive")
    files = MultipleFileField(required=False, label="Or files")

    class Meta:
        model = UploadBatch
        fields = ["advertiser"]

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("archive_upload")) == bool(cleaned.get("files")):
            raise ValidationError("Upload either a zip archive or files.")
        archive = cleaned.get("archive_upload")
        if archive:
            try:
                zip_inspect(archive)
            except ZipRefused as refusal:
                raise ValidationError(refusal.message) from None
            finally:
                archive.seek(0)
        for upload in cleaned.get("files") or []:
            try:
                sniff(upload.read(HEAD_BYTES), upload.name)
            except Refusal as refusal:
                raise ValidationError(f"{upload.name}: {refusal.message}") from None
            finally:
                upload.seek(0)
        return cleaned


class BatchItemInline(TenantInline, admin.TabularInline):
    """Read-only: the files of a batch and what became of them."""

    model = BatchItem
    fields = ["filename", "outcome", "creative_link", "creative_status", "size_bytes"]
    readonly_fields = fields
    extra = max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("creative")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="creative")
    def creative_link(self, item):
        if item.creative is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:creatives_creative_change", args=[item.creative_id]),
                           item.creative)

    @admin.display(description="status")
    def creative_status(self, item):
        if item.creative is None:
            return "—"
        return item.creative.rejection_reason or item.creative.get_status_display()


@admin.register(UploadBatch)
class UploadBatchAdmin(TenantAdmin):
    form = BatchForm
    list_display = ["__str__", "advertiser", "status", "progress", "created_by", "created_at"]
    list_filter = ["status", advertiser_filter()]
    list_select_related = ["advertiser", "created_by"]
    inlines = [BatchItemInline]
    readonly_fields = ["advertiser", "archive_name", "status", "error", "progress", "created_by", "created_at", "finished_at"]

    def get_queryset(self, request):
        return with_progress(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        return ["advertiser", "archive_upload", "files"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    @admin.display(description="progress")
    def progress(self, batch):
        total = getattr(batch, "total_items", None)
        if total is None:
            batch = with_progress(UploadBatch.objects.filter(pk=batch.pk)).get()
            total = batch.total_items
        return (f"{batch.ready_items} ready, {batch.rejected_items} rejected, {batch.waiting_items} waiting "
                f"of {total} ({batch.duplicate_items} duplicates)")

    def save_model(self, request, obj, form, change):
        advertiser: Advertiser = form.cleaned_data["advertiser"]
        archive = form.cleaned_data.get("archive_upload")
        if archive:
            batch = batch_create_from_zip(advertiser=advertiser, fh=archive, filename=archive.name, by=request.user)
        else:
            batch = batch_create_from_files(advertiser=advertiser, uploads=form.cleaned_data["files"], by=request.user)
        obj.__dict__.update(batch.__dict__)  # the admin redirects to what the service made

    def save_related(self, request, form, formsets, change):
        pass  # the batch and its items are written by the services


@admin.register(ProcessingRun)
class ProcessingRunAdmin(TenantAdmin):
    list_display = ["id", "creative", "status", "step", "attempts", "reason", "heartbeat_at", "duration_ms", "error"]
    list_filter = ["status", "reason"]
    list_select_related = ["creative"]
    readonly_fields = [f.name for f in ProcessingRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AdSpec)
class AdSpecAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "group", "kind", "delivery", "size", "limit", "formats", "animation", "durations",
                    "is_active"]
    list_filter = ["group", "kind", "delivery", "is_active", "animation_allowed"]
    search_fields = ["code", "name"]
    actions = ["reprocess_creatives"]
    readonly_fields = ["updated_at"]

    @admin.display(description="size")
    def size(self, spec):
        if spec.width:
            return f"{spec.width}×{spec.height}"
        return f"{spec.aspect_width}:{spec.aspect_height}" if spec.aspect_width else "—"

    @admin.display(description="max", ordering="max_bytes")
    def limit(self, spec):
        return kib(spec.max_bytes) if spec.max_bytes else "—"

    @admin.display(description="formats")
    def formats(self, spec):
        return ", ".join(MediaFormat(f).label if f in MediaFormat.values else f for f in spec.allowed_formats) or "—"

    @admin.display(description="animation")
    def animation(self, spec):
        if not spec.animation_allowed:
            return "static"
        return f"≤{spec.max_loops or '∞'} loops, ≤{spec.max_animation_seconds or '∞'} s"

    @admin.display(description="duration")
    def durations(self, spec):
        if spec.allowed_durations:
            return "/".join(f"{d:g}" for d in spec.allowed_durations) + " s"
        if spec.min_duration or spec.max_duration:
            return f"{spec.min_duration or 0:g}–{spec.max_duration or '∞'} s"
        return "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or set(form.changed_data) & set(CHECKED_FIELDS):
            self._queue(request, [obj.pk])

    def _queue(self, request, spec_ids):
        from creatives.tasks import reprocess_for_spec_task

        transaction.on_commit(lambda: [reprocess_for_spec_task(pk) for pk in spec_ids])
        self.message_user(request, "Creatives checked against this spec are being reprocessed.", messages.INFO)

    @admin.action(description="Reprocess the creatives checked against the selected specs", permissions=["change"])
    def reprocess_creatives(self, request, queryset):
        self._queue(request, list(queryset.values_list("pk", flat=True)))


# Kargo formats, deals, creatives, imports and the line item panel (creatives.kargo.admin registers them).
from creatives.kargo import admin as kargo_admin  # noqa: E402,F401
