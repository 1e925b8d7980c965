"""Reprocess creatives against the current specs, or recover work from lost workers."""

from django.core.management.base import BaseCommand, CommandError

from creatives.choices import CreativeStatus
from creatives.models import AdSpec, Creative
from creatives.services import creatives_process_enqueue, runs_reconcile
from creatives.services.runs import creatives_affected_by


class Command(BaseCommand):
    help = (
        "Queue creatives for processing again: those a spec covers (--spec CODE), those in a status "
        "(--status rejected), or given ids. With --reconcile, re-queue runs whose worker was lost "
        "(what the periodic task does every two minutes). Tasks run on the Huey workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="creative ids")
        parser.add_argument("--spec", help="code of a spec whose creatives to reprocess, e.g. iab-300x250")
        parser.add_argument("--status", choices=CreativeStatus.values, help="reprocess every creative in this status")
        parser.add_argument("--reconcile", action="store_true", help="re-queue runs of lost workers and stop")

    def handle(self, *args, ids, spec, status, reconcile, **options):
        if reconcile:
            result = runs_reconcile()
            self.stdout.write(f"requeued {len(result['requeued'])}, failed {len(result['failed'])}, "
                              f"re-sent {len(result['resent'])}")
            return
        if not (ids or spec or status):
            raise CommandError("Give creative ids, --spec or --status (or --reconcile).")
        creatives = Creative.objects.all()
        if ids:
            creatives = creatives.filter(pk__in=ids)
        if status:
            creatives = creatives.filter(status=status)
        if spec:
            try:
                creatives = creatives.filter(pk__in=creatives_affected_by(AdSpec.objects.get(code=spec)).values("pk"))
            except AdSpec.DoesNotExist:
                raise CommandError(f"No spec with code {spec!r}.") from None
        queued = 0
        pks = list(creatives.values_list("pk", flat=True))
        for start in range(0, len(pks), 500):
            queued += len(creatives_process_enqueue(creatives=Creative.objects.filter(pk__in=pks[start:start + 500]),
                                                    reason="reprocess (command)"))
        self.stdout.write(f"queued {queued} creative(s)")
