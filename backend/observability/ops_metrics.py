"""Operational gauges for /metrics that the alert rules (ops/prometheus/alerts.yml) need:

- adops_task_queue_depth / adops_task_queue_scheduled: Huey tasks waiting / scheduled, read from
  the queue's storage at scrape time (workers' in-process counters are invisible to the web).
- adops_sync_last_success_timestamp_seconds{direction}, adops_sync_live_runs,
  adops_sync_stuck_runs, adops_sync_open_conflicts: from the "amazon_sync" fact the integrations
  app registers for /health/detailed (backend.health.register_detail), so this package imports
  no app. Absent when no app registered it.

Every value is read when Prometheus scrapes; a failing read drops that family for the scrape
(Prometheus then sees it absent) instead of failing the whole page.
"""

import logging
from datetime import datetime

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


def _timestamp(value) -> float | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


class OperationsCollector:
    def describe(self):
        # Without describe(), registering would call collect() (and touch Redis) at startup.
        yield GaugeMetricFamily("adops_task_queue_depth", "Huey tasks waiting for a worker.")
        yield GaugeMetricFamily("adops_task_queue_scheduled", "Huey tasks scheduled for later.")
        yield GaugeMetricFamily("adops_sync_last_success_timestamp_seconds",
                                "When the last successful Amazon DSP sync finished, per direction.",
                                labels=["direction"])
        yield GaugeMetricFamily("adops_sync_live_runs", "Sync runs queued or running.")
        yield GaugeMetricFamily("adops_sync_stuck_runs", "Running sync runs whose heartbeat went stale.")
        yield GaugeMetricFamily("adops_sync_open_conflicts", "Sync conflicts waiting for a person.")

    def collect(self):
        yield from self._queue()
        yield from self._sync()

    def _queue(self):
        from huey.contrib.djhuey import HUEY

        try:
            pending, scheduled = HUEY.pending_count(), HUEY.scheduled_count()
        except Exception as exc:  # the queue is down: the ready probe says so; drop the gauge
            log.warning("queue metrics unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        depth = GaugeMetricFamily("adops_task_queue_depth", "Huey tasks waiting for a worker.")
        depth.add_metric([], pending)
        yield depth
        later = GaugeMetricFamily("adops_task_queue_scheduled", "Huey tasks scheduled for later.")
        later.add_metric([], scheduled)
        yield later

    def _sync(self):
        from backend.health import _details

        fact = _details.get("amazon_sync")
        if fact is None:
            return
        try:
            state = fact()
        except Exception as exc:
            log.warning("sync metrics unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        last = GaugeMetricFamily("adops_sync_last_success_timestamp_seconds",
                                 "When the last successful Amazon DSP sync finished, per direction.",
                                 labels=["direction"])
        for direction in ("push", "pull"):
            value = _timestamp(state.get(f"last_{direction}"))
            if value is not None:
                last.add_metric([direction], value)
        yield last
        for key, help_text in (("live_runs", "Sync runs queued or running."),
                               ("stuck_runs", "Running sync runs whose heartbeat went stale."),
                               ("open_conflicts", "Sync conflicts waiting for a person.")):
            if key in state:
                gauge = GaugeMetricFamily(f"adops_sync_{key}", help_text)
                gauge.add_metric([], state[key])
                yield gauge


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(OperationsCollector())
        _registered = True
