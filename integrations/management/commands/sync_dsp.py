import sys
import time

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Advertiser
from integrations.models import SyncDirection, SyncScope, SyncStatus, SyncTrigger


class Progress:
    """A one-line bar on a terminal; plain progress lines (at most every few seconds) otherwise,
    so logs from cron or CI stay readable."""

    def __init__(self, stream, *, width: int = 30, every: float = 2.0):
        self.stream, self.width, self.every = stream, width, every
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._last = 0.0

    def __call__(self, run) -> None:
        done, total = run.progress_done, max(run.progress_total, run.progress_done)
        counts = (f"created {run.created} updated {run.updated} unchanged {run.unchanged} "
                  f"failed {run.failed} conflicts {run.conflicts}")
        if self.tty:
            filled = int(self.width * done / total) if total else 0
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r[{bar}] {done}/{total}  {counts}")
            self.stream.flush()
            return
        now = time.monotonic()
        if now - self._last >= self.every or (total and done >= total) or run.finished_at:
            self._last = now
            self.stream.write(f"progress {done}/{total} {counts}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Sync one advertiser with Amazon DSP, here and now, with progress, through the connection its Amazon "
        "link names (one agency connection may serve many advertisers, each as its own DSP advertiser). "
        "push: create or update on Amazon the campaigns, line items (ad groups), targets (keywords, product "
        "targets: their state; archived ones are removed), and the creatives assigned to line items (asset "
        "upload, ad creative, associations) that changed since the last sync (idempotent: a killed run, run "
        "again, creates nothing twice). pull: statuses and "
        "Amazon-side edits back here (scope entities) and daily performance from a DSP report (scope "
        "performance). A field changed on both sides is not written anywhere: it becomes a conflict to resolve "
        "in the admin. Exits non-zero when the run failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--advertiser", required=True, help="Advertiser id or exact name.")
        parser.add_argument("--direction", required=True, choices=SyncDirection.values)
        parser.add_argument("--scope", default=SyncScope.ALL, choices=SyncScope.values,
                            help="pull only: entities, performance, or all (default).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Read from Amazon and count what would change; write nothing on either side.")
        parser.add_argument("--enqueue", action="store_true", help="Queue the run for a Huey worker instead.")

    def handle(self, *args, advertiser, direction, scope, dry_run, enqueue, **options):
        from integrations.sync import NoConnection, SyncAlreadyRunning, sync_run_execute, sync_run_start

        target = self._advertiser(advertiser)
        try:
            run = sync_run_start(advertiser=target, direction=direction, scope=scope, dry_run=dry_run,
                                 trigger=SyncTrigger.COMMAND, enqueue=enqueue)
        except (NoConnection, SyncAlreadyRunning, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if enqueue:
            self.stdout.write(f"Queued sync run {run.pk} ({direction}) for {target}.")
            return
        progress = Progress(self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout)
        try:
            run = sync_run_execute(run_id=run.pk, on_progress=progress)
        finally:
            progress.close()
        self.stdout.write(self._summary(run))
        if run.status != SyncStatus.SUCCEEDED:
            raise CommandError(run.error or f"Sync run {run.pk} ended {run.status}.")

    def _advertiser(self, value: str) -> Advertiser:
        found = (Advertiser.objects.filter(pk=int(value)) if value.isdigit() else Advertiser.objects.none()).first() \
            or Advertiser.objects.filter(name=value).first()
        if found is None:
            raise CommandError(f"No advertiser with id or name {value!r}.")
        return found

    def _summary(self, run) -> str:
        lines = [
            f"Sync run {run.pk}: {run.direction}{' (dry run)' if run.dry_run else ''} {run.status}",
            f"  created {run.created}, updated {run.updated}, unchanged {run.unchanged}, failed {run.failed}, "
            f"conflicts {run.conflicts}",
        ]
        requests = run.stats.get("requests") or {}
        if requests:
            lines.append("  requests: " + ", ".join(f"{k} {v}" for k, v in sorted(requests.items())))
        for error in run.errors[:10]:
            lines.append(f"  ! {error.get('object')}: {error.get('code')} {error.get('message')}")
        if len(run.errors) > 10:
            lines.append(f"  … {len(run.errors) - 10} more errors in the admin (Sync runs → {run.pk})")
        return "\n".join(lines)
