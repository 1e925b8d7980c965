from rest_framework import serializers

from campaigns.api.scoping import ScopedPrimaryKeyRelatedField
from campaigns.models import Advertiser, LineItem
from creatives.kargo.choices import TagType
from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealImport, KargoDealTarget, KargoFormat


class KargoFormatSerializer(serializers.ModelSerializer):
    dsp_size = serializers.CharField(read_only=True)

    class Meta:
        model = KargoFormat
        fields = ["id", "name", "width", "height", "dsp_size", "media_type", "is_vast", "ad_spec", "is_active"]
        extra_kwargs = {"width": {"min_value": 1}, "height": {"min_value": 1}}

    def validate(self, attrs):
        # Mirrors the table's check constraint, so a bad pair is a 400, never an IntegrityError.
        width = attrs.get("width", getattr(self.instance, "width", None))
        height = attrs.get("height", getattr(self.instance, "height", None))
        if (width is None) != (height is None):
            raise serializers.ValidationError({"width": ["Give both width and height, or neither (fluid format)."]})
        return attrs


class KargoDealSerializer(serializers.ModelSerializer):
    advertisers = ScopedPrimaryKeyRelatedField(many=True, queryset=Advertiser.objects.all())
    formats = serializers.PrimaryKeyRelatedField(many=True, queryset=KargoFormat.objects.all(), required=False)
    trafficked = serializers.SerializerMethodField()

    class Meta:
        model = KargoDeal
        fields = ["id", "deal_id", "name", "deal_type", "floor_cpm", "currency", "start_date", "end_date", "formats",
                  "advertisers", "state", "trafficked", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_currency(self, value: str) -> str:
        return value.upper()  # checked by the model field's validator before this

    def get_trafficked(self, deal) -> bool:
        return any(t.trafficked_at for t in deal.targets.all())

    def to_representation(self, deal):
        data = super().to_representation(deal)
        request = self.context.get("request")
        if request is not None and not request.user.is_superuser:  # never list other tenants' advertisers
            visible = set(Advertiser.objects.visible_to(request.user).values_list("pk", flat=True))
            data["advertisers"] = [a for a in data["advertisers"] if a in visible]
        return data

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": ["The end date is before the start date."]})
        if attrs.get("floor_cpm") is not None and attrs["floor_cpm"] < 0:
            raise serializers.ValidationError({"floor_cpm": ["The floor cannot be negative."]})
        return attrs

    def update(self, deal, validated_data):
        advertisers = validated_data.pop("advertisers", None)
        deal = super().update(deal, validated_data)
        if advertisers is not None:  # the caller's advertisers are replaced; others' offers stay
            request = self.context["request"]
            hidden = deal.advertisers.exclude(pk__in=Advertiser.objects.visible_to(request.user).values("pk"))
            deal.advertisers.set([*advertisers, *hidden])
        return deal


class KargoDealTargetSerializer(serializers.ModelSerializer):
    line_item = ScopedPrimaryKeyRelatedField(queryset=LineItem.objects.all())
    deal = ScopedPrimaryKeyRelatedField(queryset=KargoDeal.objects.all())

    class Meta:
        model = KargoDealTarget
        fields = ["id", "line_item", "deal", "created_at", "trafficked_at"]
        read_only_fields = ["created_at", "trafficked_at"]


class KargoCreativeSerializer(serializers.ModelSerializer):
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    deal = ScopedPrimaryKeyRelatedField(queryset=KargoDeal.objects.all())
    format = serializers.PrimaryKeyRelatedField(queryset=KargoFormat.objects.all())
    tag_type = serializers.ChoiceField(choices=TagType.choices)
    click_trackers = serializers.ListField(child=serializers.CharField(max_length=2000), required=False,
                                           max_length=20)
    impression_trackers = serializers.ListField(child=serializers.CharField(max_length=2000), required=False,
                                                max_length=20)
    creative_status = serializers.SerializerMethodField()

    class Meta:
        model = KargoCreative
        fields = ["id", "advertiser", "name", "format", "deal", "tag_type", "tag", "vast_url", "vast_xml", "width",
                  "height", "click_through_url", "click_trackers", "impression_trackers", "creative",
                  "creative_status", "trafficked_at", "created_at"]
        read_only_fields = ["creative", "trafficked_at", "created_at"]
        extra_kwargs = {"vast_url": {"validators": []}}

    def get_creative_status(self, kc) -> str | None:
        return kc.creative.status if kc.creative_id else None


class KargoDealImportSerializer(serializers.ModelSerializer):
    advertiser = ScopedPrimaryKeyRelatedField(queryset=Advertiser.objects.all())
    file = serializers.FileField(write_only=True, required=False)
    content = serializers.CharField(write_only=True, required=False, trim_whitespace=False)

    class Meta:
        model = KargoDealImport
        fields = ["id", "advertiser", "file", "content", "filename", "status", "progress_done", "progress_total",
                  "created", "updated", "errors", "error", "created_at", "started_at", "finished_at"]
        read_only_fields = ["status", "progress_done", "progress_total", "created", "updated", "errors", "error",
                            "created_at", "started_at", "finished_at"]

    def validate(self, attrs):
        if bool(attrs.get("file")) == bool(attrs.get("content")):
            raise serializers.ValidationError({"file": ["Upload a CSV file or give its content, not both."]})
        return attrs
