from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from bidding.choices import AuditStatus, AuditTrigger

# Bounds the API enforces; the columns are sized to hold exactly these (4 decimal places).
MAX_CURRENT_CPC = Decimal("1000000")
MAX_TARGET_ROAS = Decimal("100000")
INPUT_DECIMAL_PLACES = 4


class ProductBidQuerySet(models.QuerySet):
    def calculated_between(self, start, end):
        return self.filter(calculated_at__gte=start, calculated_at__lte=end)


class ProductBid(models.Model):
    """One bid calculation: the exact inputs and the adjusted CPC computed from them."""

    product_id = models.PositiveBigIntegerField()
    current_cpc = models.DecimalField(max_digits=11, decimal_places=4)
    target_roas = models.DecimalField(max_digits=10, decimal_places=4, help_text="Percent: 150 means 150 %.")
    adjusted_cpc = models.DecimalField(max_digits=14, decimal_places=2)
    calculated_at = models.DateTimeField(default=timezone.now)

    objects = ProductBidQuerySet.as_manager()

    class Meta:
        ordering = ["-calculated_at", "-id"]
        indexes = [
            # Serves the audit's window scan and the per-product history; the only index needed.
            models.Index(fields=["-calculated_at", "product_id"], name="bid_calculated_product_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(current_cpc__gte=0), name="bid_current_cpc_non_negative"),
            models.CheckConstraint(condition=Q(target_roas__gt=0), name="bid_target_roas_positive"),
            models.CheckConstraint(condition=Q(adjusted_cpc__gte=0), name="bid_adjusted_cpc_non_negative"),
        ]

    def __str__(self) -> str:
        return f"Bid {self.pk}: product {self.product_id} {self.current_cpc} → {self.adjusted_cpc}"


class AuditRun(models.Model):
    """One budget audit over a window of bids: its parameters, progress, totals and outcome.

    A row exists before the work starts (queued → running → succeeded/failed) so a worker lost
    mid-run leaves evidence the reconciler can act on.
    """

    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    days = models.PositiveIntegerField()
    threshold = models.DecimalField(max_digits=7, decimal_places=4)
    status = models.CharField(max_length=16, choices=AuditStatus.choices, default=AuditStatus.QUEUED)
    trigger = models.CharField(max_length=16, choices=AuditTrigger.choices, default=AuditTrigger.COMMAND)
    total_bids = models.PositiveIntegerField(default=0)
    flagged_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Never two audits at once, whoever starts them (schedule, command, admin).
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="audit_one_running_at_a_time"
            ),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="audit_threshold_non_negative"),
        ]

    def __str__(self) -> str:
        return f"Audit {self.pk} ({self.status}, {self.flagged_count}/{self.total_bids} flagged)"

    @property
    def flagged_share(self) -> Decimal | None:
        if not self.total_bids:
            return None
        return Decimal(self.flagged_count) / Decimal(self.total_bids)


class AuditFinding(models.Model):
    """A bid whose adjusted CPC moved more than the run's threshold from its current CPC.

    The bid's figures are copied so a finding still reads correctly if the bid is removed.
    """

    # No index of its own: finding_run_product_idx (run, product_id) serves lookups by run. No
    # database constraint either: findings are only ever written by the audit's own INSERT … SELECT
    # with the run it just created, and PostgreSQL's deferred FK check per finding at commit cost
    # a quarter of the audit. Deleting a run through the ORM still cascades.
    run = models.ForeignKey(
        AuditRun, on_delete=models.CASCADE, related_name="findings", db_index=False, db_constraint=False
    )
    # A reference, not a constraint: the figures are copied, and a database FK would make every
    # audit lock and re-check each flagged bid row (about half the audit's time on 22k findings).
    bid = models.ForeignKey(
        ProductBid, on_delete=models.SET_NULL, null=True, related_name="+", db_constraint=False, db_index=False
    )
    product_id = models.PositiveBigIntegerField()
    current_cpc = models.DecimalField(max_digits=11, decimal_places=4)
    adjusted_cpc = models.DecimalField(max_digits=14, decimal_places=2)
    change = models.DecimalField(max_digits=15, decimal_places=4, help_text="adjusted − current")
    calculated_at = models.DateTimeField()

    class Meta:
        ordering = ["run", "-calculated_at", "id"]
        indexes = [models.Index(fields=["run", "product_id"], name="finding_run_product_idx")]

    def __str__(self) -> str:
        return f"Finding {self.pk}: product {self.product_id} {self.current_cpc} → {self.adjusted_cpc}"

from bidding.spend_audit import SpendFinding  # noqa: E402,F401  (overspend/under-delivery findings of a run)
