"""A job's progress in the API (bulk-sheet jobs, performance imports): done, total, percent."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()


class JobProgressMixin(serializers.Serializer):
    """`progress` of a job with progress_done, progress_total and percent."""

    progress = serializers.SerializerMethodField()

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job) -> dict:
        return ProgressSerializer({"done": job.progress_done, "total": job.progress_total, "percent": job.percent}).data
