"""manage.py bulksheet export|import: bulk sheets from a terminal, with a progress bar.

The command records a BulkSheetJob like the console and the API do, and runs it here rather
than in a worker, so the bar follows it.
"""

import shutil
import sys
import time
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from campaigns.bulksheets.choices import ApplyMode, ImportMode, JobStatus
from campaigns.bulksheets.safety import SheetRefused
from campaigns.bulksheets.services import (
    JobConflict,
    bulk_sheet_apply,
    bulk_sheet_confirm,
    bulk_sheet_export,
    bulk_sheet_export_create,
    bulk_sheet_import_create,
    bulk_sheet_validate,
)
from campaigns.models import Advertiser


class ProgressBar:
    """[#########---------]  52%  52,000/100,000 rows — on a terminal; silent when piped."""

    def __init__(self, stream, label: str, width: int = 30):
        self.stream, self.label, self.width = stream, label, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        share = done / total if total else 0.0
        filled = int(self.width * share)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {share:4.0%} {done:,}/{total:,} rows")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = (
        "Export an advertiser's campaign tree as an Amazon Sponsored Products bulk sheet (.xlsx), or "
        "import one: a dry run prints what would change; --apply writes it (all rows, or --valid-only). "
        "Exits non-zero when the file is refused, a row has an error, or the apply fails."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Write the advertiser's tree to an .xlsx file.")
        export.add_argument("--advertiser", required=True, help="Advertiser id or exact name.")
        export.add_argument("--output", "-o", required=True, help="Where to write the .xlsx.")
        export.add_argument("--performance-from", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="Fill the performance columns (Impressions … ROAS) of campaign and ad group rows "
                                 "with their delivery from this day …")
        export.add_argument("--performance-to", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="… to this day, inclusive (both, or neither for blank columns).")
        imp = sub.add_parser("import", help="Dry-run (and with --apply, apply) an .xlsx bulk sheet.")
        imp.add_argument("file", help="The .xlsx sheet.")
        imp.add_argument("--advertiser", required=True, help="Advertiser id or exact name.")
        imp.add_argument("--mode", choices=ImportMode.values, default=ImportMode.AUTO,
                         help="How rows with a blank Operation are read (default: auto).")
        imp.add_argument("--apply", action="store_true", help="Write the changes after the dry run.")
        imp.add_argument("--valid-only", action="store_true", help="With --apply: write only the valid rows.")
        imp.add_argument("--errors", help="Write the error workbook here when rows have errors.")
        imp.add_argument("--user", help="Username recorded as who did it (history).")
        for p in (export, imp):
            p.set_defaults(handler=getattr(self, f"handle_{p.prog.split()[-1]}"))

    def handle(self, *args, handler, **options):
        return handler(**options)

    def _advertiser(self, value: str) -> Advertiser:
        found = Advertiser.objects.filter(pk=int(value)) if value.isdigit() else Advertiser.objects.filter(name=value)
        advertiser = found.first()
        if advertiser is None:
            raise CommandError(f"No advertiser {value!r}.")
        return advertiser

    def _user(self, username):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        return user

    def handle_export(self, *, advertiser, output, performance_from=None, performance_to=None, **options):
        try:
            job = bulk_sheet_export_create(advertiser=self._advertiser(advertiser), enqueue=False,
                                           metrics_start=performance_from, metrics_end=performance_to)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        bar = ProgressBar(sys.stderr, "exporting")
        job = bulk_sheet_export(job_id=job.pk, echo=bar)
        bar.finish()
        if job is None or job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Export failed: {job.error if job else 'the job was taken by a worker'}")
        with job.file.open("rb") as source, open(output, "wb") as target:
            shutil.copyfileobj(source, target)
        self.stdout.write(f"Exported {job.counts.get('rows', 0):,} rows to {output} (job {job.pk}).")

    def handle_import(self, *, file, advertiser, mode, apply, valid_only, errors, user, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file}.")
        by = self._user(user)
        with path.open("rb") as handle:
            try:
                job = bulk_sheet_import_create(advertiser=self._advertiser(advertiser), fileobj=handle, filename=path.name,
                                               by=by, mode=mode, enqueue=False)
            except SheetRefused as exc:
                raise CommandError(str(exc)) from None
        bar = ProgressBar(sys.stderr, "validating")
        job = bulk_sheet_validate(job_id=job.pk, echo=bar)
        bar.finish()
        if job.status == JobStatus.FAILED:
            raise CommandError(f"Refused: {job.error}")
        counts = job.counts
        self.stdout.write(
            f"Dry run (job {job.pk}, mode {job.resolved_mode}): {counts['rows']:,} rows — {counts['create']:,} to create, "
            f"{counts['update']:,} to update, {counts['archive']:,} to archive, {counts['unchanged']:,} unchanged, "
            f"{counts['ignored']:,} ignored; {counts['errors']:,} with errors, {counts['not_processed']:,} not processed."
        )
        for error in job.diff.get("errors", [])[:20]:
            self.stdout.write(f"  row {error['row']}: {error['type']} / {error['code']}: {error['message']}")
        if errors and job.error_file:
            with job.error_file.open("rb") as source, open(errors, "wb") as target:
                shutil.copyfileobj(source, target)
            self.stdout.write(f"Error workbook: {errors}")
        if apply:
            try:
                bulk_sheet_confirm(job=job, apply_mode=ApplyMode.VALID_ONLY if valid_only else ApplyMode.ALL, by=by,
                                   enqueue=False)
            except JobConflict as exc:
                raise CommandError(str(exc)) from None
            bar = ProgressBar(sys.stderr, "applying")
            job = bulk_sheet_apply(job_id=job.pk, echo=bar)
            bar.finish()
            if job.status != JobStatus.SUCCEEDED:
                raise CommandError(f"Apply failed: {job.error}")
            self.stdout.write(f"Applied: {job.counts.get('applied', 0):,} change(s) written.")
        if job.counts.get("errors"):
            raise CommandError(f"{job.counts['errors']:,} row(s) have errors.")
