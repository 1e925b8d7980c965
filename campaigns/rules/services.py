"""The rules engine's writes: receive an event once, process it at most once per rule, recover
events whose worker was lost.

How an event stays exactly-once in effect although Huey delivers tasks at most once:
- The Event row is the job. `event_ingest` stores it (idempotent on the advertiser's event_id) and
  enqueues `process_event` on commit; if the enqueue is lost, the reconciler sends it again.
- `event_process` claims the row with one UPDATE (queued, or processing with a stale heartbeat →
  processing with a fresh claim token), so two workers never hold one event at the same time.
- Each matching rule runs in its own transaction that first re-checks the claim token and bumps
  the heartbeat (a worker that lost its lease writes nothing more), applies the actions and
  writes the RuleMatch rows. Effects and records commit together; the unique constraint on
  (event, rule, action, target) refuses a second application even if the lease check were raced.
- A rerun skips rules that already have matches, so a worker killed after rule 3 of 5 leaves a
  row the reconciler re-queues and the next worker finishes with rules 4 and 5 only.
- The worker's transactions commit asynchronously on PostgreSQL (no wait for the WAL flush). A
  database crash can then lose only the last commits, in order: claims, rules with their matches,
  the finish. Whatever is lost is redone by the reconciler exactly as after a lost worker, so
  durability of the event (the ingest commits synchronously) is all the contract needs; waiting
  for a flush per rule would cost more than the rest of the processing.
"""

import logging
import uuid
from contextlib import contextmanager, nullcontext
from datetime import UTC, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from backend.observability.context import current_request_id
from campaigns.choices import Role
from campaigns.rules.actions import ACTIONS, Context, Outcome, messages_of, required_role
from campaigns.rules.conditions import ConditionError, compile_conditions
from campaigns.rules.exactjson import fingerprint
from campaigns.rules.models import Event, EventStatus, MatchStatus, Rule, RuleMatch

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RECONCILE_BATCH = 5000


def heartbeat_stale_after() -> timedelta:
    """A processing event with no heartbeat for this long lost its worker."""
    return timedelta(seconds=getattr(settings, "RULE_EVENT_HEARTBEAT_STALE_SECONDS", 120))


def queued_stale_after() -> timedelta:
    """A queued event untouched this long probably lost its task (enqueue failed, worker died
    before claiming); it is sent again. Long enough not to double a healthy backlog."""
    return timedelta(seconds=getattr(settings, "RULE_EVENT_QUEUED_STALE_SECONDS", 600))


@contextmanager
def _commits_without_flush_wait():
    """For the duration of one event's processing, this connection's commits do not wait for the
    WAL flush (see the module doc for why losing them in a database crash is safe). Session-wide
    rather than SET LOCAL per transaction: one statement per event instead of two per commit."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")  # the next task on this connection is not ours
        except DatabaseError:  # the connection is gone (and the setting with it)
            log.warning("could not reset synchronous_commit", exc_info=True)


class EventConflict(Exception):
    """The event_id was used before with a different body (Stripe's rule: refuse, 409)."""

    def __init__(self, event: Event):
        super().__init__(event.event_id)
        self.event = event


class LeaseLost(Exception):
    """Another worker claimed the event (ours was presumed dead): stop writing."""


def event_fingerprint(*, type: str, occurred_at, payload) -> str:
    return fingerprint({"type": type, "occurred_at": occurred_at.astimezone(UTC).isoformat(),
                        "payload": payload})


def _enqueue(event_ids: list[int]) -> None:
    from campaigns.tasks import process_event  # the task module imports this one

    for pk in event_ids:
        process_event(pk)


def event_ingest(*, advertiser, event_id: str, type: str, occurred_at, payload: dict) -> tuple[Event, bool]:
    """Store an event and enqueue its processing; (event, created).

    The same event again returns the stored one with created=False (nothing is enqueued: the
    first delivery's processing stands); the same event_id with a different body raises
    EventConflict. The INSERT goes first, so the common case costs one statement.
    """
    body_hash = event_fingerprint(type=type, occurred_at=occurred_at, payload=payload)
    # Outside a transaction the INSERT commits by itself: one round trip instead of BEGIN, INSERT,
    # COMMIT (the ingest rate is mostly round trips). Inside one, a savepoint keeps it usable.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            event = Event.objects.create(
                advertiser=advertiser, event_id=event_id, type=type, occurred_at=occurred_at, payload=payload,
                body_hash=body_hash, request_id=current_request_id() or "",
            )
            # robust: the row is committed either way; a failed enqueue is the reconciler's job.
            transaction.on_commit(lambda: _enqueue([event.pk]), robust=True)
    except IntegrityError:
        existing = Event.objects.filter(advertiser=advertiser, event_id=event_id).first()
        if existing is None:
            raise
        if existing.body_hash != body_hash:
            raise EventConflict(existing) from None
        return existing, False
    return event, True


def _claim(event_id: int, now) -> tuple[Event, str] | None:
    """Take the event (queued, or processing with a stale heartbeat) and load it, in one statement.

    UPDATE … RETURNING rather than the ORM's update() and a get(): the claim is on every event's
    path, and one round trip and one statement to build instead of two is a fifth of the fixed cost.
    """
    token = uuid.uuid4().hex
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in Event._meta.concrete_fields)
    sql = (
        f"UPDATE {quote(Event._meta.db_table)} SET status = %s, claim_token = %s, attempts = attempts + 1, "
        f"started_at = %s, heartbeat_at = %s "
        f"WHERE id = %s AND attempts < %s AND (status = %s OR (status = %s AND heartbeat_at < %s)) "
        f"RETURNING {columns}"
    )
    params = [EventStatus.PROCESSING, token, now, now, event_id, MAX_ATTEMPTS, EventStatus.QUEUED,
              EventStatus.PROCESSING, now - heartbeat_stale_after()]
    claimed = list(Event.objects.raw(sql, params))  # one statement: atomic by itself
    return (claimed[0], token) if claimed else None


def _fence(event: Event, token: str) -> None:
    """Prove we still hold the lease and show a sign of life, inside the rule's transaction.

    The UPDATE also locks the row until the rule commits, so the reconciler cannot declare us
    dead half-way through a rule.
    """
    alive = Event.objects.filter(pk=event.pk, claim_token=token, status=EventStatus.PROCESSING)
    if not alive.update(heartbeat_at=timezone.now()):
        raise LeaseLost(event.pk)


class _RollBack(Exception):
    def __init__(self, outcomes):
        super().__init__("rule rolled back")
        self.outcomes = outcomes


def _run_actions(rule: Rule, ctx: Context) -> list[tuple[int, str, Outcome]]:
    results = []
    for index, spec in enumerate(rule.actions):
        kind = spec.get("type") if isinstance(spec, dict) else None
        action = ACTIONS.get(kind)
        if action is None:
            outcomes = [Outcome(MatchStatus.ERROR, {"error": f"unknown action {kind!r}"})]
        else:
            try:
                outcomes = action.apply(spec, ctx)
            except ValidationError as exc:
                outcomes = [Outcome(MatchStatus.ERROR, {"error": "; ".join(messages_of(exc))})]
        results += [(index, str(kind), outcome) for outcome in outcomes]
    return results


def _matches(event: Event, rule: Rule, results, *, rolled_back: str = "") -> list[RuleMatch]:
    rows = []
    for index, action, outcome in results:
        status, detail = outcome.status, outcome.detail
        if rolled_back and status == MatchStatus.APPLIED:
            status, detail = MatchStatus.SKIPPED, {**detail, "reason": f"not applied: {rolled_back}"}
        rows.append(RuleMatch(event=event, rule=rule, advertiser_id=event.advertiser_id, action_index=index,
                              action=action, target_type=outcome.target_type, target_id=outcome.target_id,
                              status=status, detail=detail))
    return rows


def _record_failure(event: Event, rule: Rule, token: str, results, reason: str) -> None:
    with transaction.atomic():
        _fence(event, token)
        RuleMatch.objects.bulk_create(_matches(event, rule, results, rolled_back=reason))


def _apply_rule(event: Event, rule: Rule, token: str) -> None:
    """Run one matching rule: all its effects and their RuleMatch rows, or none of the effects."""
    try:
        with transaction.atomic():
            _fence(event, token)
            results = _run_actions(rule, Context(event=event, rule=rule))
            if any(outcome.status == MatchStatus.ERROR for _, _, outcome in results):
                raise _RollBack(results)
            RuleMatch.objects.bulk_create(_matches(event, rule, results))
    except _RollBack as rollback:
        _record_failure(event, rule, token, rollback.outcomes, "another action of this rule failed")
    except IntegrityError as exc:
        if RuleMatch.objects.filter(event=event, rule=rule).exists():
            log.warning("rule already applied to this event by another worker", extra={"event": event.pk, "rule": rule.pk})
            return
        error = Outcome(MatchStatus.ERROR, {"error": f"the database refused the change: {exc}"[:1000]})
        _record_failure(event, rule, token, [(0, "rule", error)], "database refusal")
    except (LeaseLost, DatabaseError):
        raise
    except Exception as exc:  # a bug in an action must not hide the other rules' work
        log.exception("rule action crashed", extra={"event": event.pk, "rule": rule.pk})
        error = Outcome(MatchStatus.ERROR, {"error": f"internal error: {type(exc).__name__}: {exc}"[:1000]})
        _record_failure(event, rule, token, [(0, "rule", error)], "internal error")


def _run_rules(event: Event, token: str) -> int:
    rules = Rule.objects.filter(advertiser_id=event.advertiser_id, event_type=event.type, enabled=True)
    # Only a rerun can find matches already written: the first claim skips the query.
    done = set() if event.attempts == 1 else set(
        RuleMatch.objects.filter(event=event).values_list("rule_id", flat=True).distinct()
    )
    matched = 0
    for rule in rules.order_by("-priority", "id"):
        try:
            matches = compile_conditions(rule.conditions)(event.payload)
        except ConditionError as exc:  # saved around validation (shell, data migration)
            if rule.pk not in done:
                error = Outcome(MatchStatus.ERROR, {"error": f"invalid conditions: {exc}"})
                _record_failure(event, rule, token, [(0, "conditions", error)], "invalid rule")
            continue
        if matches:
            matched += 1
            if rule.pk not in done:
                _apply_rule(event, rule, token)
    return matched


def event_process(*, event_id: int) -> str:
    """Process one event if it can be claimed; returns processed, not-claimed or lease-lost.

    Safe to call any number of times, from any number of workers.
    """
    with _commits_without_flush_wait():
        return _process(event_id)


def _process(event_id: int) -> str:
    claim = _claim(event_id, timezone.now())
    if claim is None:
        return "not-claimed"  # finished, failed, or a live worker holds it
    event, token = claim
    try:
        matched = _run_rules(event, token)
    except LeaseLost:
        log.warning("event lease lost; another worker took over", extra={"event": event_id})
        return "lease-lost"
    except Exception as exc:
        _release(event, token, exc)
        raise  # the task's retries deliver it again; the reconciler is the backstop
    done = timezone.now()
    finished = Event.objects.filter(pk=event_id, claim_token=token).update(
        status=EventStatus.PROCESSED, processed_at=done, heartbeat_at=done, rules_matched=matched,
        claim_token="", error="",
    )
    return "processed" if finished else "lease-lost"


def _release(event: Event, token: str, exc: Exception) -> None:
    gave_up = event.attempts >= MAX_ATTEMPTS
    try:
        Event.objects.filter(pk=event.pk, claim_token=token).update(
            status=EventStatus.FAILED if gave_up else EventStatus.QUEUED, claim_token="",
            heartbeat_at=timezone.now(), processed_at=timezone.now() if gave_up else None,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    except DatabaseError:  # the database is away: the reconciler will find the row later
        log.exception("could not release event", extra={"event": event.pk})


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
