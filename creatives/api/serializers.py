"""Shapes in and out of /api/v1/creatives/. Serializers check shape; writes go through
creatives.services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.api.scoping import ScopedPrimaryKeyRelatedField
from campaigns.models import Advertiser, LineItem
from creatives.choices import CreativeKind, CreativeStatus, MediaFormat, RunStatus
from creatives.models import AdSpec, BatchItem, Creative, ProcessingRun, Rendition, RenditionAssignment, SpecVerdict


def _absolute(serializer, file) -> str | None:
    if not file:
        return None
    request = serializer.context.get("request")
    return request.build_absolute_uri(file.url) if request else file.url


class AdSpecSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdSpec
        exclude = []
        read_only_fields = [f.name for f in AdSpec._meta.fields]


class SpecVerdictSerializer(serializers.ModelSerializer):
    spec_code = serializers.CharField(source="spec.code", read_only=True)
    spec_name = serializers.CharField(source="spec.name", read_only=True)

    class Meta:
        model = SpecVerdict
        fields = ["spec", "spec_code", "spec_name", "passed", "reasons", "notes", "checked_at"]


class RenditionSerializer(serializers.ModelSerializer):
    spec_code = serializers.CharField(source="spec.code", read_only=True)
    url = serializers.SerializerMethodField(allow_null=True)
    line_items = serializers.SerializerMethodField()

    class Meta:
        model = Rendition
        fields = ["id", "spec", "spec_code", "url", "width", "height", "size_bytes", "format", "quality", "colours",
                  "animated", "passthrough", "line_items"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, rendition) -> str | None:
        return _absolute(self, rendition.file)

    def get_line_items(self, rendition) -> list[int]:
        return [a.line_item_id for a in rendition.assignments.all()]


@extend_schema_field({"allOf": [{"type": "string", "enum": RunStatus.values}]})
class RunStatusField(serializers.CharField):
    """Read-only: queued → running → done | failed."""


class RunSerializer(serializers.ModelSerializer):
    status = RunStatusField(read_only=True)

    class Meta:
        model = ProcessingRun
        fields = ["id", "status", "step", "attempts", "reason", "error", "created_at", "started_at", "heartbeat_at",
                  "finished_at", "duration_ms"]


# An inline enum (wrapped so spectacular does not hoist it into a shared "Status" component that
# would collide with other apps' status choices), like campaigns' status fields.
@extend_schema_field({"allOf": [{"type": "string", "enum": CreativeStatus.values}]})
class CreativeStatusField(serializers.CharField):
    """Read-only: set by the pipeline."""


class CreativeSerializer(serializers.ModelSerializer):
    """The list shape: facts, status, and how many specs pass and fail."""

    status = CreativeStatusField(read_only=True)
    # Blank until the pipeline has sniffed the bytes, and for tags (no file): "" is a value here.
    kind = serializers.ChoiceField(choices=CreativeKind.choices, allow_blank=True, read_only=True)
    detected_format = serializers.ChoiceField(choices=MediaFormat.choices, allow_blank=True, read_only=True)
    # null until a thumbnail is made, and for tags.
    thumbnail_url = serializers.SerializerMethodField(allow_null=True)
    passed_specs = serializers.IntegerField(read_only=True)
    failed_specs = serializers.IntegerField(read_only=True)

    class Meta:
        model = Creative
        fields = ["id", "advertiser", "name", "kind", "delivery", "detected_format", "status", "rejection_code",
                  "rejection_reason", "width", "height", "duration", "size_bytes", "sha256", "thumbnail_url",
                  "passed_specs", "failed_specs", "created_at", "processed_at"]
        read_only_fields = [f for f in fields if f != "name"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail_url(self, creative) -> str | None:
        return _absolute(self, creative.thumbnail)


class CreativeDetailSerializer(CreativeSerializer):
    """The retrieve shape: everything measured, every verdict with its reasons, every rendition."""

    verdicts = SpecVerdictSerializer(many=True, read_only=True)
    renditions = RenditionSerializer(many=True, read_only=True)
    latest_run = serializers.SerializerMethodField(allow_null=True)
    # A URL for VAST creatives, "" for every other kind (so not a "uri" in the schema).
    vast_url = serializers.CharField(read_only=True, help_text="The VAST URL; empty unless delivery is vast.")

    class Meta(CreativeSerializer.Meta):
        fields = [*CreativeSerializer.Meta.fields, "original_filename", "bitrate_kbps", "frame_count", "loops",
                  "media_info", "third_party_tag", "vast_url", "requested_specs", "verdicts", "renditions",
                  "latest_run"]
        read_only_fields = [f for f in fields if f != "name"]

    @extend_schema_field(RunSerializer)
    def get_latest_run(self, creative):
        runs = list(creative.runs.all()[:1])
        return RunSerializer(runs[0]).data if runs else None


class CreativeCreateSerializer(serializers.Serializer):
    """A file (multipart), or a third-party tag / VAST URL (JSON or form)."""

    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    file = serializers.FileField(required=False, allow_empty_file=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    third_party_tag = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    vast_url = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    width = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    height = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    specs = serializers.PrimaryKeyRelatedField(queryset=AdSpec.objects.active(), many=True, required=False,
                                               help_text="Check only these specs (default: every active spec).")

    def validate(self, attrs):
        sources = [k for k in ("file", "third_party_tag", "vast_url") if attrs.get(k)]
        if len(sources) != 1:
            raise serializers.ValidationError({"file": ["Send exactly one of: file, third_party_tag, vast_url."]})
        return attrs


class AssignSerializer(serializers.Serializer):
    line_items = ScopedPrimaryKeyRelatedField(
        queryset=LineItem.objects.select_related("campaign"), many=True, allow_empty=False
    )
    specs = serializers.PrimaryKeyRelatedField(queryset=AdSpec.objects.all(), many=True, required=False,
                                               help_text="Only the renditions of these specs (default: all).")


class AssignmentSerializer(serializers.ModelSerializer):
    creative = serializers.IntegerField(source="rendition.creative_id", read_only=True)
    spec_code = serializers.CharField(source="rendition.spec.code", read_only=True)

    class Meta:
        model = RenditionAssignment
        fields = ["id", "creative", "rendition", "spec_code", "line_item", "assigned_by", "assigned_at"]
        read_only_fields = fields


class BatchItemSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="creative.status", read_only=True, default=None)
    rejection_reason = serializers.CharField(source="creative.rejection_reason", read_only=True, default=None)

    class Meta:
        model = BatchItem
        fields = ["filename", "creative", "outcome", "size_bytes", "status", "rejection_reason"]


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    advertiser = serializers.IntegerField(source="advertiser_id", read_only=True)
    status = serializers.CharField(read_only=True)
    error = serializers.CharField(read_only=True)
    archive_name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True)
    progress = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_progress(self, batch) -> dict:
        total, ready, rejected = batch.total_items, batch.ready_items, batch.rejected_items
        return {"total": total, "ready": ready, "rejected": rejected, "waiting": batch.waiting_items,
                "duplicates": batch.duplicate_items,
                "percent": round(100 * (ready + rejected) / total) if total else (100 if batch.status == "done" else 0)}


class BatchDetailSerializer(BatchSerializer):
    items = BatchItemSerializer(many=True, read_only=True)


class BatchCreateSerializer(serializers.Serializer):
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    archive = serializers.FileField(required=False, allow_empty_file=False, help_text="A zip of creatives.")
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=False), required=False,
                                  allow_empty=False, max_length=500)

    def validate(self, attrs):
        if bool(attrs.get("archive")) == bool(attrs.get("files")):
            raise serializers.ValidationError({"files": ["Send either an archive (zip) or files."]})
        return attrs
