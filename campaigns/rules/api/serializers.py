import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import PrimaryKeyRelatedField
from rest_framework.settings import api_settings

from campaigns.choices import Role
from campaigns.models import Advertiser
from campaigns.rules.exactjson import ExactEncoder, dumps
from campaigns.rules.models import EVENT_TYPE, EVENT_TYPE_HELP, Event, Rule, RuleMatch

MAX_PAYLOAD_BYTES = 64 * 1024
# Printable ASCII without spaces: UUIDs, "inv-2026-001", "shop:123/evt.9" all fit.
EVENT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


@extend_schema_field(OpenApiTypes.INT)
class WritableAdvertiserField(serializers.PrimaryKeyRelatedField):
    """Advertisers the caller may write to as trader; any other id reads as non-existent."""

    def get_queryset(self):
        request = self.context.get("request")
        return Advertiser.objects.visible_to(getattr(request, "user", None), Role.TRADER)


def _check_event_id(value: str) -> str:
    if not EVENT_ID.match(value):
        raise serializers.ValidationError("1 to 128 printable ASCII characters, no spaces.")
    return value


def _check_payload(value: object) -> object:
    if not isinstance(value, dict):
        raise serializers.ValidationError("The payload is a JSON object.")
    if len(dumps(value).encode()) > MAX_PAYLOAD_BYTES:
        raise serializers.ValidationError(f"The payload is larger than {MAX_PAYLOAD_BYTES // 1024} KB.")
    return value


def _check_idempotency_key(attrs: dict, header: str | None) -> dict:
    if header is not None:
        if not EVENT_ID.match(header):
            raise serializers.ValidationError({"event_id": ["Idempotency-Key: 1 to 128 printable ASCII characters."]})
        if attrs.setdefault("event_id", header) != header:
            raise serializers.ValidationError({"event_id": ["Differs from the Idempotency-Key header."]})
    if "event_id" not in attrs:
        raise serializers.ValidationError({"event_id": ["Required (or send the Idempotency-Key header)."]})
    return attrs


class EventCreateSerializer(serializers.Serializer):
    """The shape of a POSTed event (and its schema). `event_input` validates with these same fields;
    the advertiser's write access is checked when the event is stored."""

    event_id = serializers.CharField(max_length=128, required=False, trim_whitespace=False,
                                     help_text="Your id for the event; or send it as the Idempotency-Key header.")
    type = serializers.RegexField(EVENT_TYPE, max_length=64, help_text=EVENT_TYPE_HELP)
    occurred_at = serializers.DateTimeField()
    advertiser = WritableAdvertiserField()
    payload = serializers.JSONField(encoder=ExactEncoder, help_text="An object; numbers are read as exact decimals.")

    def validate_event_id(self, value):
        return _check_event_id(value)

    def validate_payload(self, value):
        return _check_payload(value)

    def validate(self, attrs):
        return _check_idempotency_key(attrs, self.context.get("idempotency_key"))


# Field instances shared by every request: validating with them needs no per-request copies.
_EVENT_FIELDS = {name: field for name, field in EventCreateSerializer._declared_fields.items() if name != "advertiser"}
_EVENT_CHECKS = {"event_id": _check_event_id, "payload": _check_payload}
_PK = PrimaryKeyRelatedField(queryset=Advertiser.objects.none())
_MAX_PK = 2**63 - 1


def advertiser_not_found(pk) -> str:
    """The message for an advertiser id that does not exist or is not the caller's to write to."""
    return _PK.error_messages["does_not_exist"].format(pk_value=pk)


def _advertiser_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise serializers.ValidationError(_PK.error_messages["incorrect_type"].format(data_type=type(value).__name__))
    try:
        pk = int(value)
    except ValueError:
        raise serializers.ValidationError(
            _PK.error_messages["incorrect_type"].format(data_type=type(value).__name__)) from None
    if not 0 < pk <= _MAX_PK:
        raise serializers.ValidationError(advertiser_not_found(value))
    return pk


def event_input(data: object, *, idempotency_key: str | None) -> dict:
    """A POSTed event validated with EventCreateSerializer's fields and messages, as keyword
    arguments for event_ingest (advertiser_id: whether the caller may write to it is checked
    when the event is stored, in the same statement).

    The serializer itself would copy its fields and look the advertiser up on every request;
    this is the ingest's hot path. Raises ValidationError ({"field": ["message"]}).
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
            serializers.Serializer.default_error_messages["invalid"].format(datatype=type(data).__name__)]})
    attrs, errors = {}, {}
    for name, field in _EVENT_FIELDS.items():
        try:
            if name not in data:
                if field.required:
                    field.fail("required")
                continue
            value = field.run_validation(data[name])
            attrs[name] = _EVENT_CHECKS[name](value) if name in _EVENT_CHECKS else value
        except serializers.ValidationError as exc:
            errors[name] = exc.detail
    try:
        if "advertiser" not in data:
            _PK.fail("required")
        attrs["advertiser_id"] = _advertiser_id(data["advertiser"])
    except serializers.ValidationError as exc:
        errors["advertiser"] = exc.detail
    if errors:
        raise serializers.ValidationError(errors)
    return _check_idempotency_key(attrs, idempotency_key)


_DATETIME = serializers.DateTimeField()


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "event_id", "type", "occurred_at", "advertiser", "payload", "status", "attempts",
                  "rules_matched", "received_at", "started_at", "processed_at", "error", "request_id"]
        read_only_fields = fields

    def to_representation(self, event):
        # Built directly: this is every ingest's answer, and a ModelSerializer builds its fields
        # afresh per instance. The declared Meta still drives the schema and the field list.
        times = {name: None if getattr(event, name) is None else _DATETIME.to_representation(getattr(event, name))
                 for name in ("occurred_at", "received_at", "started_at", "processed_at")}
        return {"id": event.pk, "event_id": event.event_id, "type": event.type, "occurred_at": times["occurred_at"],
                "advertiser": event.advertiser_id, "payload": event.payload, "status": event.status,
                "attempts": event.attempts, "rules_matched": event.rules_matched, "received_at": times["received_at"],
                "started_at": times["started_at"], "processed_at": times["processed_at"], "error": event.error,
                "request_id": event.request_id}


class RuleSerializer(serializers.ModelSerializer):
    advertiser = WritableAdvertiserField()
    # ExactEncoder: DRF checks JSON fields by dumping them, and its default encoder has no Decimals.
    conditions = serializers.JSONField(required=False, encoder=ExactEncoder)
    actions = serializers.JSONField(encoder=ExactEncoder)

    class Meta:
        model = Rule
        fields = ["id", "advertiser", "name", "event_type", "conditions", "actions", "enabled", "priority",
                  "created_by", "created_at", "updated_at"]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate_advertiser(self, value):
        if self.instance is not None and value.pk != self.instance.advertiser_id:
            raise serializers.ValidationError("A rule stays with its advertiser; create a new rule instead.")
        return value


class RuleMatchSerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.event_id", read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)

    class Meta:
        model = RuleMatch
        fields = ["id", "event", "event_id", "rule", "rule_name", "advertiser", "action_index", "action",
                  "target_type", "target_id", "status", "detail", "created_at"]
        read_only_fields = fields
