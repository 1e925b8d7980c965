"""How far a job (bulk sheet, performance import) has got, as its admin page and API show it."""


def progress_percent(*, done: int, total: int, succeeded: bool) -> int:
    """Whole percent of `done` out of `total`, capped at 100; 100 once the job succeeded."""
    if succeeded:
        return 100
    return min(100, done * 100 // total) if total else 0
