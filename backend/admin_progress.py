"""The progress cell of a job's admin page (bulk sheets, performance imports): a bar, the
percentage, the counts, and a refresh every few seconds while the job is still moving.

No style attribute: the console's CSP allows none it does not need (ops/security-exceptions.md),
and the browser's default bar width reads fine."""

from django.utils.html import format_html

REFRESH_SECONDS = 3


def progress_cell(*, percent: int, done: int, total: int, active: bool, unit: str = ""):
    refresh = format_html('<meta http-equiv="refresh" content="{}">', REFRESH_SECONDS) if active else ""
    counted = f"{done:,} / {total:,}" + (f" {unit}" if unit else "")
    return format_html('{}<progress value="{}" max="100">{}%</progress> {}% <small>({})</small>',
                       refresh, percent, percent, percent, counted)
