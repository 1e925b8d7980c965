"""Reads for the console and health: sync state per advertiser or object, competitor freshness."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import (
    CompetitorSource,
    ExternalRef,
    ExternalSystem,
    SyncConflict,
    SyncDirection,
    SyncRun,
    SyncStatus,
)


def external_ref_for(*, obj, system: str = ExternalSystem.AMAZON_DSP) -> ExternalRef | None:
    return ExternalRef.objects.filter(
        system=system, content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk).first()


def last_runs(*, advertiser) -> dict[str, SyncRun | None]:
    """The latest finished run per direction."""
    finished = SyncRun.objects.filter(advertiser=advertiser, finished_at__isnull=False, dry_run=False)
    return {d: finished.filter(direction=d).order_by("-finished_at").first() for d in SyncDirection.values}


def with_sync_state(queryset):
    """Advertisers annotated with their sync state for the console's changelist, in one query:
    connection, last successful push and pull, live runs, open conflicts, creates in doubt."""
    def latest(direction):
        return Subquery(SyncRun.objects.filter(
            advertiser=OuterRef("pk"), direction=direction, status=SyncStatus.SUCCEEDED, dry_run=False,
        ).order_by("-finished_at").values("finished_at")[:1])

    def count(model, **filters):
        rows = model.objects.filter(advertiser=OuterRef("pk"), **filters).values("advertiser")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")[:1]), 0)

    return queryset.annotate(
        # The link is one-to-one: one LEFT JOIN (and its connection) rather than a subquery per column.
        connection_name=F("amazon_link__connection__name"),
        dsp_advertiser_id=F("amazon_link__dsp_advertiser_id"),
        last_push=latest(SyncDirection.PUSH),
        last_pull=latest(SyncDirection.PULL),
        live_runs=count(SyncRun, status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]),
        open_conflicts=count(SyncConflict, resolved_at__isnull=True),
        pending_creates=count(ExternalRef, pending_since__isnull=False),
    )


def competitor_health(*, now=None) -> dict:
    """For /health/detailed: when each enabled source last fetched successfully; stale when
    that is more than three fetch intervals ago."""
    now = now or timezone.now()
    interval = timedelta(minutes=int(getattr(settings, "COMPETITOR_FETCH_INTERVAL_MINUTES", 60)))
    sources = list(CompetitorSource.objects.filter(enabled=True).values(
        "name", "last_success_at", "last_attempt_at", "last_error", "last_product_count"))
    last = max((s["last_success_at"] for s in sources if s["last_success_at"]), default=None)
    return {
        "sources": len(sources),
        "last_success_at": last.isoformat() if last else None,
        "stale": bool(sources) and (last is None or now - last > 3 * interval),
        "failing": sorted(s["name"] for s in sources if s["last_error"]),
    }


def sync_health() -> dict:
    """For /health/detailed: the latest successful push and pull, live and stuck runs, open conflicts."""
    stale = timezone.now() - timedelta(seconds=int(getattr(settings, "SYNC_HEARTBEAT_STALE_SECONDS", 600)))
    runs = SyncRun.objects.filter(dry_run=False).aggregate(
        last_push=Max("finished_at", filter=Q(direction=SyncDirection.PUSH, status=SyncStatus.SUCCEEDED)),
        last_pull=Max("finished_at", filter=Q(direction=SyncDirection.PULL, status=SyncStatus.SUCCEEDED)),
        live=Count("pk", filter=Q(status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING])),
        stuck=Count("pk", filter=Q(status=SyncStatus.RUNNING, heartbeat_at__lt=stale)),
    )
    return {
        "last_push": runs["last_push"].isoformat() if runs["last_push"] else None,
        "last_pull": runs["last_pull"].isoformat() if runs["last_pull"] else None,
        "live_runs": runs["live"],
        "stuck_runs": runs["stuck"],
        "open_conflicts": SyncConflict.objects.filter(resolved_at__isnull=True).count(),
    }
