"""The rules engine's writes: receive an event once, process it at most once per rule, recover
events whose worker was lost.

- `event_ingest` stores the event (idempotent on the advertiser's event_id, the caller's write
  access checked in the same statement) and enqueues `process_event` on commit; if the enqueue
  is lost, the reconciler sends it again.
- `event_process` (campaigns.rules.processing) claims events in batches and applies each
  matching rule once; see that module for how a lost worker never leads to a double effect.
- `events_reconcile` finds events whose worker or task was lost; `events_retry` gives failed ones
  a fresh set of attempts.
"""

import logging
from datetime import UTC, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from backend.observability.context import current_request_id
from campaigns.choices import Role
from campaigns.rules.actions import required_role
from campaigns.rules.exactjson import fingerprint
from campaigns.rules.models import Event, EventStatus, Rule
from campaigns.rules.processing import MAX_ATTEMPTS, LeaseLost, event_process, heartbeat_stale_after

__all__ = ["MAX_ATTEMPTS", "AdvertiserNotWritable", "EventConflict", "LeaseLost", "RuleRoleError", "event_ingest",
           "event_process", "events_reconcile", "events_retry", "heartbeat_stale_after", "queued_stale_after",
           "rule_save"]

log = logging.getLogger(__name__)

RECONCILE_BATCH = 5000


def queued_stale_after() -> timedelta:
    """A queued event untouched this long probably lost its task (enqueue failed, worker died
    before claiming); it is sent again. Long enough not to double a healthy backlog."""
    return timedelta(seconds=getattr(settings, "RULE_EVENT_QUEUED_STALE_SECONDS", 600))


class EventConflict(Exception):
    """The event_id was used before with a different body (Stripe's rule: refuse, 409)."""

    def __init__(self, event: Event):
        super().__init__(event.event_id)
        self.event = event


def event_fingerprint(*, type: str, occurred_at, payload) -> str:
    return fingerprint({"type": type, "occurred_at": occurred_at.astimezone(UTC).isoformat(),
                        "payload": payload})


def _enqueue(event_ids: list[int]) -> None:
    from campaigns.tasks import process_event  # the task module imports this one

    for pk in event_ids:
        process_event(pk)


class AdvertiserNotWritable(Exception):
    """The caller has no trader access to the advertiser, or it does not exist (the two are
    indistinguishable to the caller)."""

    def __init__(self, advertiser_id: int):
        super().__init__(advertiser_id)
        self.advertiser_id = advertiser_id


def _inserted_fields() -> list:
    return [f for f in Event._meta.concrete_fields if not f.primary_key]


@lru_cache(maxsize=64)
def _insert_sql(vendor: str, scope_sql: str | None) -> str:
    """The INSERT of _insert_once, written once per database vendor and scope text (the scope's
    SQL is the same for every user; the user goes in its parameters)."""
    quote = connection.ops.quote_name
    fields = _inserted_fields()
    placeholders = ", ".join(["%s"] * len(fields))
    source = f"VALUES ({placeholders})" if scope_sql is None else f"SELECT {placeholders} WHERE {scope_sql}"
    unique = ", ".join(quote(Event._meta.get_field(name).column) for name in ("advertiser", "event_id"))
    return (f"INSERT INTO {quote(Event._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) {source}"
            f" ON CONFLICT ({unique}) DO NOTHING RETURNING {quote(Event._meta.pk.column)}")


def _insert_once(event: Event, scope: tuple[str, list] | None) -> int | None:
    """INSERT the event unless its (advertiser, event_id) exists or `scope` (an SQL condition, true
    if the caller may write to the advertiser) is false; returns the new id or None.

    One statement that commits by itself outside a transaction, and inside one neither aborts it
    nor needs a savepoint (ON CONFLICT DO NOTHING instead of catching a unique violation): the
    ingest rate is mostly round trips, and this is the only one it cannot do without.
    """
    params = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in _inserted_fields()]
    if scope is not None:
        params += scope[1]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, scope and scope[0]), params)
        row = cursor.fetchone()
    return row[0] if row else None


def _writable(by, advertiser_id: int):
    from campaigns.models import Advertiser

    return Advertiser.objects.visible_to(by, Role.TRADER).filter(pk=advertiser_id)


_SCOPES: dict[tuple, tuple[str, list] | None] = {}


def _writable_scope(by) -> tuple[str, list] | None:
    """SQL selecting the advertisers `by` may send events for (trader or above), as
    visible_to decides; None when that is none at all.

    Compiled once per user and kept: building it through the ORM cost more than the rest of an
    event's ingest. What the SQL depends on is the user's id and the flags visible_to reads, all
    in the key; the memberships themselves are read by the database at every insert.
    """
    key = (by.pk, by.is_active, by.is_superuser, by.is_authenticated)
    if key not in _SCOPES:
        from campaigns.models import Advertiser

        writable = Advertiser.objects.visible_to(by, Role.TRADER)
        if len(_SCOPES) >= 10_000:  # many users: start again rather than grow without bound
            _SCOPES.clear()
        _SCOPES[key] = None if writable.query.is_empty() else writable.order_by().values("pk").query.sql_with_params()
    return _SCOPES[key]


def event_ingest(*, advertiser=None, advertiser_id: int | None = None, event_id: str, type: str, occurred_at,
                 payload: dict, by=None) -> tuple[Event, bool]:
    """Store an event and enqueue its processing; (event, created).

    The advertiser is given as an instance or an id. With `by`, the event is stored only if that
    user may write to the advertiser (trader or above), checked inside the INSERT; otherwise
    AdvertiserNotWritable, whether or not the event exists. The same event again returns the
    stored one with created=False (nothing is enqueued: the first delivery's processing stands);
    the same event_id with a different body raises EventConflict.
    """
    advertiser_id = advertiser.pk if advertiser is not None else advertiser_id
    scope = None
    if by is not None:
        writable = _writable_scope(by)
        if writable is None:  # an inactive or anonymous user: nothing to ask the database
            raise AdvertiserNotWritable(advertiser_id)
        sql, params = writable
        scope = (f"%s IN ({sql})", [advertiser_id, *params])
    now = timezone.now()
    event = Event(advertiser_id=advertiser_id, event_id=event_id, type=type, occurred_at=occurred_at, payload=payload,
                  body_hash=event_fingerprint(type=type, occurred_at=occurred_at, payload=payload),
                  request_id=current_request_id() or "", received_at=now, heartbeat_at=now)
    if advertiser is not None:
        event.advertiser = advertiser
    for _ in range(2):  # a second round only if the conflicting event was deleted meanwhile
        pk = _insert_once(event, scope)
        if pk is not None:
            event.pk = pk
            event._state.adding = False
            event._state.db = connection.alias
            # robust: the row is committed either way; a failed enqueue is the reconciler's job.
            transaction.on_commit(lambda: _enqueue([pk]), robust=True)
            return event, True
        if by is not None and not _writable(by, advertiser_id).exists():
            raise AdvertiserNotWritable(advertiser_id)  # before looking: no leak of its event ids
        existing = Event.objects.filter(advertiser_id=advertiser_id, event_id=event_id).first()
        if existing is not None:
            if existing.body_hash != event.body_hash:
                raise EventConflict(existing)
            return existing, False
    raise RuntimeError(f"event {event_id!r} neither stored nor found")


def events_reconcile(*, heartbeat_stale: timedelta | None = None, queued_stale: timedelta | None = None,
                     now=None) -> dict[str, int]:
    """Recover events whose worker or task was lost; returns counts by what was done.

    - processing with a stale heartbeat → queued again (a new attempt) and re-enqueued;
    - queued and untouched for long → re-enqueued (its task was lost before anyone claimed it);
    - out of attempts → failed, with the reason.
    Rows a live worker holds locked are skipped, never waited for.
    """
    now = now or timezone.now()
    heartbeat_cutoff = now - (heartbeat_stale if heartbeat_stale is not None else heartbeat_stale_after())
    queued_cutoff = now - (queued_stale if queued_stale is not None else queued_stale_after())
    lost = Q(status=EventStatus.PROCESSING, heartbeat_at__lt=heartbeat_cutoff)
    forgotten = Q(status=EventStatus.QUEUED, heartbeat_at__lt=queued_cutoff)
    with transaction.atomic():
        rows = list(
            Event.objects.select_for_update(skip_locked=True).filter(lost | forgotten)
            .order_by("heartbeat_at").values_list("pk", "status", "attempts")[:RECONCILE_BATCH]
        )
        exhausted = [pk for pk, _, attempts in rows if attempts >= MAX_ATTEMPTS]
        requeued = [pk for pk, status, attempts in rows if attempts < MAX_ATTEMPTS and status == EventStatus.PROCESSING]
        resent = [pk for pk, status, attempts in rows if attempts < MAX_ATTEMPTS and status == EventStatus.QUEUED]
        Event.objects.filter(pk__in=exhausted).update(
            status=EventStatus.FAILED, claim_token="", processed_at=now,
            error=f"Gave up after {MAX_ATTEMPTS} attempts: the worker was lost or kept failing.",
        )
        Event.objects.filter(pk__in=requeued + resent).update(status=EventStatus.QUEUED, claim_token="", heartbeat_at=now)
        transaction.on_commit(lambda: _enqueue(requeued + resent), robust=True)
    if rows:
        log.warning("events reconciled", extra={"requeued": len(requeued), "resent": len(resent), "failed": len(exhausted)})
    return {"requeued": len(requeued), "resent": len(resent), "failed": len(exhausted)}


def events_retry(*, events) -> int:
    """Give failed events a fresh set of attempts (after fixing what made them fail). Rules that
    already ran for them are not run again."""
    ids = list(events.filter(status=EventStatus.FAILED).values_list("pk", flat=True))
    with transaction.atomic():
        Event.objects.filter(pk__in=ids, status=EventStatus.FAILED).update(
            status=EventStatus.QUEUED, attempts=0, claim_token="", heartbeat_at=timezone.now(), processed_at=None,
        )
        transaction.on_commit(lambda: _enqueue(ids), robust=True)
    return len(ids)


class RuleRoleError(PermissionError):
    pass


def rule_save(*, rule: Rule, by) -> Rule:
    """Validate (conditions, actions, targets inside the advertiser) and save a rule. Budget
    actions need a manager, like budget edits anywhere else. Raises ValidationError/RuleRoleError."""
    from campaigns.models import Advertiser

    needed = required_role(rule.actions)
    if needed != Role.TRADER and not Advertiser.objects.visible_to(by, needed).filter(pk=rule.advertiser_id).exists():
        raise RuleRoleError(f"Rules that change budgets need the {needed} role on this advertiser.")
    rule.full_clean()
    if rule.pk is None and getattr(by, "pk", None):
        rule.created_by = by
    rule.save()
    return rule
