from django.urls import reverse
from rest_framework import serializers

from backend.api.progress import JobProgressMixin
from campaigns.api.scoping import ScopedPrimaryKeyRelatedField
from campaigns.bulksheets.choices import ApplyMode, ImportMode, JobKind
from campaigns.bulksheets.metrics import range_problem
from campaigns.bulksheets.models import BulkSheetJob
from campaigns.models import Advertiser


class BulkSheetCreateSerializer(serializers.Serializer):
    """An export (JSON or form) or an import (multipart with the .xlsx in `file`)."""

    kind = serializers.ChoiceField(choices=JobKind.choices)
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    file = serializers.FileField(required=False, allow_empty_file=False, use_url=False)
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.AUTO)
    metrics_start = serializers.DateField(
        required=False, allow_null=True,
        help_text="Exports: the first day whose delivery fills the performance columns (Impressions … ROAS) of "
                  "campaign and ad group rows. Give both days or neither (blank columns).")
    metrics_end = serializers.DateField(required=False, allow_null=True, help_text="Exports: the last day, inclusive.")

    def validate(self, attrs):
        if attrs["kind"] == JobKind.IMPORT and not attrs.get("file"):
            raise serializers.ValidationError({"file": ["An import needs the .xlsx file."]})
        if attrs["kind"] == JobKind.EXPORT and attrs.get("file"):
            raise serializers.ValidationError({"file": ["An export takes no file."]})
        if problem := range_problem(attrs["kind"], attrs.get("metrics_start"), attrs.get("metrics_end")):
            field, message = problem
            raise serializers.ValidationError({field: [message]})
        return attrs


class BulkSheetConfirmSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=ApplyMode.choices, default=ApplyMode.ALL,
                                   help_text="all: nothing is written if any row has an error; valid_only: the valid rows.")


class UnsetAsNullChoiceField(serializers.ChoiceField):
    """A choice the job sets along the way (resolved mode after the dry run, apply mode on
    confirmation): stored as "" until then, answered as null, so the value is always one of the
    documented choices or null."""

    def to_representation(self, value):
        return None if value in ("", None) else super().to_representation(value)


class BulkSheetJobSerializer(JobProgressMixin, serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()
    error_file_url = serializers.SerializerMethodField()
    resolved_mode = UnsetAsNullChoiceField(
        choices=ImportMode.choices, allow_null=True, read_only=True,
        help_text="Imports: how blank-Operation rows were read (null until the dry run).")
    apply_mode = UnsetAsNullChoiceField(choices=ApplyMode.choices, allow_null=True, read_only=True,
                                        help_text="Imports: what was confirmed (null until confirmed).")
    # Null: a job made by a command, or by a user since deleted (or, for confirmed_by, not confirmed).
    requested_by = serializers.StringRelatedField(allow_null=True)
    confirmed_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = BulkSheetJob
        fields = [
            "id", "kind", "advertiser", "status", "mode", "resolved_mode", "apply_mode", "filename", "progress",
            "counts", "diff", "error", "file_url", "error_file_url", "metrics_start", "metrics_end", "requested_by",
            "confirmed_by", "created_at", "started_at", "heartbeat_at", "confirmed_at", "finished_at",
        ]
        read_only_fields = fields

    def _url(self, job, name: str) -> str | None:
        request = self.context.get("request")
        url = reverse(f"campaigns:bulksheetjob-{name}", args=[job.pk])
        return request.build_absolute_uri(url) if request is not None else url

    def get_file_url(self, job) -> str | None:
        return self._url(job, "download") if job.file else None

    def get_error_file_url(self, job) -> str | None:
        return self._url(job, "errors") if job.error_file else None
