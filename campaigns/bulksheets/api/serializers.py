from django.urls import reverse
from rest_framework import serializers

from campaigns.api.scoping import ScopedPrimaryKeyRelatedField
from campaigns.bulksheets.choices import ApplyMode, ImportMode, JobKind
from campaigns.bulksheets.models import BulkSheetJob
from campaigns.models import Advertiser


class BulkSheetCreateSerializer(serializers.Serializer):
    """An export (JSON or form) or an import (multipart with the .xlsx in `file`)."""

    kind = serializers.ChoiceField(choices=JobKind.choices)
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    file = serializers.FileField(required=False, allow_empty_file=False, use_url=False)
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.AUTO)

    def validate(self, attrs):
        if attrs["kind"] == JobKind.IMPORT and not attrs.get("file"):
            raise serializers.ValidationError({"file": ["An import needs the .xlsx file."]})
        if attrs["kind"] == JobKind.EXPORT and attrs.get("file"):
            raise serializers.ValidationError({"file": ["An export takes no file."]})
        return attrs


class BulkSheetConfirmSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=ApplyMode.choices, default=ApplyMode.ALL,
                                   help_text="all: nothing is written if any row has an error; valid_only: the valid rows.")


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()


class BulkSheetJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    error_file_url = serializers.SerializerMethodField()
    requested_by = serializers.StringRelatedField()
    confirmed_by = serializers.StringRelatedField()

    class Meta:
        model = BulkSheetJob
        fields = [
            "id", "kind", "advertiser", "status", "mode", "resolved_mode", "apply_mode", "filename", "progress",
            "counts", "diff", "error", "file_url", "error_file_url", "requested_by", "confirmed_by", "created_at",
            "started_at", "heartbeat_at", "confirmed_at", "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job) -> dict:
        return ProgressSerializer({"done": job.progress_done, "total": job.progress_total, "percent": job.percent}).data

    def _url(self, job, name: str) -> str | None:
        request = self.context.get("request")
        url = reverse(f"campaigns:bulksheetjob-{name}", args=[job.pk])
        return request.build_absolute_uri(url) if request is not None else url

    def get_file_url(self, job) -> str | None:
        return self._url(job, "download") if job.file else None

    def get_error_file_url(self, job) -> str | None:
        return self._url(job, "errors") if job.error_file else None
