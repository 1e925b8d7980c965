"""The rules engine's rows: events received, the advertisers' rules, and what each rule did.

Imported into campaigns.models (Django finds an app's models there); this module imports nothing
from it, so either import order works.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.querysets import TenantQuerySet
from campaigns.rules.exactjson import ExactDecoder, ExactEncoder

__all__ = ["Event", "EventStatus", "MatchStatus", "Rule", "RuleMatch"]

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
EVENT_TYPE_HELP = "Lower-case letters, digits, _ . -; starts with a letter (inventory_low, competitor_price_drop)."


def _always() -> dict:
    return {"all": []}


class EventStatus(models.TextChoices):
    QUEUED = "queued"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class MatchStatus(models.TextChoices):
    APPLIED = "applied"
    SKIPPED = "skipped"
    ERROR = "error"


class Event(models.Model):
    """Something that happened in the market (inventory low, a competitor's price drop), sent by a
    partner for one advertiser. The row is the job: queued → processing (heartbeat, claim token)
    → processed/failed, so a lost Huey task is found again by the reconciler.

    `event_id` is the sender's idempotency key, unique per advertiser (a global key would let one
    tenant learn another's ids from 409s); `body_hash` tells a replay from a conflicting reuse.
    """

    # No index of its own: the unique (advertiser, event_id) and the (advertiser, received_at)
    # index both lead with it, and every claim and finish rewrites each index of this table.
    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.CASCADE, related_name="rule_events",
                                   db_index=False)
    event_id = models.CharField(max_length=128)
    type = models.CharField(max_length=64, help_text=EVENT_TYPE_HELP)
    occurred_at = models.DateTimeField()
    payload = models.JSONField(default=dict, encoder=ExactEncoder, decoder=ExactDecoder)
    body_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")
    rules_matched = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        default=timezone.now, help_text="Processing: last sign of life. Queued: last time it was enqueued."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, help_text="The current worker's lease.")
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["advertiser", "event_id"], name="event_unique_per_advertiser"),
        ]
        indexes = [
            models.Index(fields=["advertiser", "-received_at"], name="event_advertiser_received_idx"),
            # The reconciler's scan: only unfinished events, which stay few however big the table grows.
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(status__in=["queued", "processing"]),
                name="event_unfinished_idx",
            ),
            # The worker's batch claim: an advertiser's queued events in arrival order. Only queued
            # row versions are in it, so it stays small (and cheap to scan) whatever the heartbeats do.
            models.Index(fields=["advertiser", "id"], condition=Q(status="queued"), name="event_queued_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Rule(models.Model):
    """When an event of `event_type` whose payload meets `conditions` arrives for the advertiser,
    run `actions` (see campaigns.rules.conditions and campaigns.rules.actions for the formats).
    Rules run highest `priority` first, then oldest first."""

    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    event_type = models.CharField(max_length=64, help_text=EVENT_TYPE_HELP)
    conditions = models.JSONField(default=_always, encoder=ExactEncoder, decoder=ExactDecoder, blank=True)
    actions = models.JSONField(default=list, encoder=ExactEncoder, decoder=ExactDecoder)
    enabled = models.BooleanField(default=True)
    priority = models.SmallIntegerField(default=0, help_text="Higher runs first.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["advertiser_id", "-priority", "id"]
        constraints = [models.UniqueConstraint(fields=["advertiser", "name"], name="rule_unique_name_per_advertiser")]
        indexes = [models.Index(fields=["advertiser", "event_type", "enabled"], name="rule_lookup_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from campaigns.rules.actions import validate_actions
        from campaigns.rules.conditions import validate_conditions

        errors: dict[str, list[str]] = {}
        if not EVENT_TYPE.match(self.event_type or ""):
            errors["event_type"] = [EVENT_TYPE_HELP]
        if self.conditions in (None, {}):
            self.conditions = _always()
        if problems := validate_conditions(self.conditions):
            errors["conditions"] = problems
        if self.advertiser_id and (problems := validate_actions(self.actions, advertiser=self.advertiser)):
            errors["actions"] = problems
        if errors:
            raise ValidationError(errors)


class RuleMatch(models.Model):
    """One action of a matching rule on one target, and what came of it (applied, skipped with a
    reason, or an error that rolled the whole rule back). Written in the same transaction as the
    effect, and unique per (event, rule, action, target): a rerun cannot apply anything twice."""

    # The three foreign keys have no index of their own: the composite indexes below lead with each
    # of them (rulematch_once with event, the two listing indexes with rule and advertiser), and
    # every match row written would otherwise update seven indexes instead of four.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="matches", db_index=False)
    # RESTRICT: a rule with history cannot be deleted alone (disable it), but an advertiser's
    # deletion still cascades through both.
    rule = models.ForeignKey(Rule, on_delete=models.RESTRICT, related_name="matches", db_index=False)
    advertiser = models.ForeignKey("campaigns.Advertiser", on_delete=models.CASCADE, related_name="+", db_index=False)
    action_index = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=32)
    target_type = models.CharField(max_length=32, blank=True, help_text="Blank for alerts and empty selections.")
    target_id = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=MatchStatus.choices)
    detail = models.JSONField(default=dict, encoder=ExactEncoder, decoder=ExactDecoder, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "rule matches"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "rule", "action_index", "target_type", "target_id"], name="rulematch_once"
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "-created_at"], name="rulematch_rule_idx"),
            models.Index(fields=["advertiser", "-created_at"], name="rulematch_advertiser_idx"),
        ]

    def __str__(self) -> str:
        target = f" {self.target_type} {self.target_id}" if self.target_type else ""
        return f"{self.action}{target}: {self.status}"
