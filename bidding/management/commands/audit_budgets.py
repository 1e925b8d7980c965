from django.core.management.base import BaseCommand, CommandError

from bidding.audit import AuditAlreadyRunning, AuditParameterError, budget_audit_preview, budget_audit_run
from bidding.choices import AuditStatus, AuditTrigger
from bidding.reports import render_audit

class Command(BaseCommand):
    help = (
        "Flag bids whose adjusted CPC moved more than --threshold (a fraction: 0.20 = 20 %) from the "
        "current CPC, over the last --days days (inclusive). Records an AuditRun with its findings; "
        "--dry-run counts and shows a sample without writing. Exits non-zero when the audit fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Window length in days (default: settings).")
        parser.add_argument("--threshold", type=str, default=None, help="Fraction, e.g. 0.20 (default: settings).")
        parser.add_argument("--dry-run", action="store_true", help="Count and sample; write nothing.")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, days, threshold, dry_run, format, **options):
        try:
            if dry_run:
                result = budget_audit_preview(days=days, threshold=threshold)
            else:
                result = budget_audit_run(days=days, threshold=threshold, trigger=AuditTrigger.COMMAND)
        except (AuditParameterError, AuditAlreadyRunning) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(render_audit(result, format=format))
        if result.status == AuditStatus.FAILED:
            raise CommandError(f"Audit {result.pk} failed: {result.error}")
