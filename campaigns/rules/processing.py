"""Processing rule events in batches: claim, match, apply each rule once, finish.

How an event stays exactly-once in effect although Huey delivers tasks at most once:
- The Event row is the job. Ingest enqueues `process_event(pk)` after the row commits. The task
  claims its own event and, in the same statement, up to a batch of other queued events of the
  same advertiser (`FOR UPDATE SKIP LOCKED`: concurrent workers take disjoint batches), setting
  them `processing` under one fresh claim token. The tasks of the events taken along then find
  nothing to claim, at the cost of one primary-key lookup; the batch pays one claim, one load of
  the events and their rules, and a few finishing statements for all of its events.
- Each matching rule runs in its own transaction that first re-checks the claim token of its
  event, locking the row (a worker that lost its lease writes nothing more, and the reconciler
  skips locked rows), applies the actions and writes the RuleMatch rows. Effects and records
  commit together; the unique constraint on (event, rule, action, target) refuses a second
  application even if the lease check were raced. The heartbeat of the batch's unfinished
  events is refreshed while it runs.
- A rerun skips rules that already have matches, so a worker killed after rule 3 of 5 leaves a
  row the reconciler re-queues and the next worker finishes with rules 4 and 5 only.
- One event failing (a database error, a crash outside an action) is released for a later
  attempt on its own; the rest of the batch carries on unless the connection itself is gone.
- A rule that writes nothing but its match (an alert) has no transaction of its own: on
  PostgreSQL its match is written by its event's finish, in the same statement, only if the
  lease still holds; elsewhere by one INSERT that checks the lease.
- The rules are read once per batch (every event in it sees the rules as they were when its
  batch started): an edit, however it was made, counts from the next batch on, in every
  process, with no cache to invalidate.
- The worker's transactions commit asynchronously on PostgreSQL (no wait for the WAL flush). A
  database crash can then lose only the last commits, in order: claims, rules with their
  matches, the finish. Whatever is lost is redone by the reconciler exactly as after a lost
  worker, so durability of the event (the ingest commits synchronously) is all the contract needs.
"""

import logging
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import nullcontext
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from backend.db_rows import insert_values
from campaigns.rules.actions import ACTIONS, Context, Outcome, messages_of
from campaigns.rules.conditions import ConditionError, compile_conditions
from campaigns.rules.models import Event, EventStatus, MatchStatus, Rule, RuleMatch

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Finished events are marked processed in one statement per this many, or sooner when the batch
# ends: the status flips close to when the work was done without a statement per event.
FINISH_EVERY = 20
FINISH_AFTER_SECONDS = 0.25
RETRY_DELAY_SECONDS = 10  # as process_event's own retry_delay


def heartbeat_stale_after() -> timedelta:
    """A processing event with no heartbeat for this long lost its worker."""
    return timedelta(seconds=getattr(settings, "RULE_EVENT_HEARTBEAT_STALE_SECONDS", 120))


def batch_size() -> int:
    """How many events one task claims at most (RULE_EVENT_BATCH_SIZE)."""
    return max(1, int(settings.RULE_EVENT_BATCH_SIZE))


class _FinishedHere:
    """Ids of the events this process marked processed lately, for the tasks of events a batch
    took along: such a task then returns at once, without the claim's round trip (and the
    connection health check before it), which was most of what those tasks cost.

    Only a hint, trusted for half the reconciler's shortest threshold: with asynchronous commits a
    database crash may undo a finish, and the reconciler then re-queues that event (after the
    heartbeat threshold at the earliest) and enqueues it again; by then its entry has expired and
    the task claims it from the database like any other. Bounded in size; shared by the worker's
    threads."""

    MAX_ENTRIES = 100_000

    def __init__(self):
        self._at: OrderedDict[int, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def ttl() -> float:
        return min(heartbeat_stale_after().total_seconds(), float(settings.RULE_EVENT_QUEUED_STALE_SECONDS)) / 2

    def add(self, ids) -> None:
        now, ttl = time.monotonic(), self.ttl()
        with self._lock:
            for pk in ids:
                self._at[pk] = now
                self._at.move_to_end(pk)
            while self._at and (len(self._at) > self.MAX_ENTRIES or next(iter(self._at.values())) < now - ttl):
                self._at.popitem(last=False)

    def __contains__(self, pk: int) -> bool:
        at = self._at.get(pk)
        return at is not None and time.monotonic() - at < self.ttl()

    def clear(self) -> None:
        with self._lock:
            self._at.clear()


_finished_here = _FinishedHere()


def finished_here_recently(event_id: int) -> bool:
    """Whether a batch of this process marked the event processed moments ago (see _FinishedHere).
    For worker tasks only: callers sharing a process with rolled-back test transactions (which
    may hand out an id again on SQLite) must ask the database."""
    return event_id in _finished_here


class LeaseLost(Exception):
    """Another worker claimed the event (ours was presumed dead): stop writing for it."""


def _execute(cursor, sql: str, params: list, *, no_flush_wait: bool) -> None:
    """Run a worker's write. With `no_flush_wait` (PostgreSQL, and the worker's own transaction,
    not a caller's), its transaction's commit does not wait for the WAL flush (see the module
    doc): SET LOCAL in the same round trip, so it covers exactly that transaction and cannot leak
    to whatever runs next on the connection."""
    if no_flush_wait:
        cursor.execute(f"SET LOCAL synchronous_commit TO OFF; {sql}", params)
        cursor.nextset()
    else:
        cursor.execute(sql, params)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _claim(event_id: int, now, size: int) -> tuple[str, list[Event]]:
    """Claim event `event_id` (queued, or processing with a stale heartbeat) and, if that worked,
    up to `size - 1` other queued events of its advertiser, oldest first; returns the claim token
    and the events, loaded with their advertisers (its own event first).

    A claim that finds its event taken (the common case: a batch took it along) costs one
    primary-key lookup and takes nothing else. Events taken along are only fresh ones (no error
    yet): one that failed before waits for its own delayed delivery, so it keeps its retry delay.
    Rows another worker has locked are skipped, never waited for. Two workers mostly get
    different advertisers, whose objects they then do not wait for each other to unlock.
    """
    token = uuid.uuid4().hex
    table = _q(Event._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    claim = (f"UPDATE {table} SET status = %s, claim_token = %s, attempts = attempts + 1, started_at = %s,"
             f" heartbeat_at = %s WHERE id IN ({{}}) RETURNING id, advertiser_id")
    # CASE, not OR: a condition on status alone would let the planner pick a partial index (full
    # of dead entries between vacuums) over the primary key for this one-row lookup.
    own = (f"SELECT id FROM {table} WHERE id = %s AND attempts < %s"
           f" AND CASE status WHEN %s THEN true WHEN %s THEN heartbeat_at < %s ELSE false END{lock}")
    claimed = _claim_rows(claim.format(own), [EventStatus.PROCESSING, token, now, now, event_id, MAX_ATTEMPTS,
                                              EventStatus.QUEUED, EventStatus.PROCESSING, now - heartbeat_stale_after()])
    if not claimed:
        return token, []
    if size > 1:
        mates = (f"SELECT id FROM {table} WHERE advertiser_id = %s AND status = %s AND error = '' AND attempts < %s"
                 f" ORDER BY id LIMIT %s{lock}")
        claimed += _claim_rows(claim.format(mates), [EventStatus.PROCESSING, token, now, now, claimed[0][1],
                                                     EventStatus.QUEUED, MAX_ATTEMPTS, size - 1])
    events = list(Event.objects.filter(pk__in=[pk for pk, _ in claimed], claim_token=token).select_related("advertiser"))
    events.sort(key=lambda e: (e.pk != event_id, e.pk))
    return token, events


def _claim_rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:  # one statement: atomic by itself
        _execute(cursor, sql, params, no_flush_wait=_no_flush_wait())
        return cursor.fetchall()


def _no_flush_wait() -> bool:
    """Whether the worker's writes may commit without waiting for the flush: on PostgreSQL, when
    the caller has no transaction of its own (whose commit this must not change)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class _Lease:
    """A batch's claim: its token, whether its writes may skip the flush wait, the heartbeat of
    its unfinished events (one UPDATE for all of them whenever a quarter of the stale threshold
    has passed, checked between rules), and the match rows of alert rules waiting for their
    event's finish (see _record_if_leased)."""

    def __init__(self, events: list[Event], token: str, *, no_flush_wait: bool):
        self.token = token
        self.no_flush_wait = no_flush_wait
        self.pending = {e.pk for e in events}
        self.every = heartbeat_stale_after().total_seconds() / 4
        self.last = time.monotonic()
        # The finish records them in its own statement where the database can do both at once
        # (PostgreSQL: an INSERT fed by the UPDATE's RETURNING, in one WITH).
        self.records_with_finish = connection.vendor == "postgresql"
        self.deferred: dict[int, list[tuple]] = {}

    def done(self, event: Event) -> None:
        """The event is finished, failed or lost: its unrecorded alert matches go with it (a
        rerun runs those rules again, as they have no matches)."""
        self.pending.discard(event.pk)
        self.deferred.pop(event.pk, None)

    def beat(self) -> None:
        if time.monotonic() - self.last < self.every or not self.pending:
            return
        Event.objects.filter(pk__in=self.pending, claim_token=self.token,
                             status=EventStatus.PROCESSING).update(heartbeat_at=timezone.now())
        self.last = time.monotonic()


def _fence(event: Event, lease: _Lease) -> None:
    """Prove we still hold the event's lease, inside the rule's transaction.

    The row stays locked until the rule commits, so the reconciler (which skips locked rows)
    cannot declare us dead half-way through a rule. A lock rather than an UPDATE: this runs for
    every matching rule, and a new row version each time would be work for the database and its
    indexes; the heartbeat is kept fresh per batch instead (_Lease). As the first statement of
    the rule's transaction it also sets how that transaction commits.
    """
    with connection.cursor() as cursor:
        _execute(  # status checked here, not in SQL: the primary key is then the only index that fits
            cursor,
            f"SELECT status FROM {_q(Event._meta.db_table)} WHERE id = %s AND claim_token = %s"
            + (" FOR UPDATE" if connection.features.has_select_for_update else ""),
            [event.pk, lease.token], no_flush_wait=lease.no_flush_wait,
        )
        row = cursor.fetchone()
    if row is None or row[0] != EventStatus.PROCESSING:
        raise LeaseLost(event.pk)


# RuleMatch's columns in the order _matches builds its rows.
_MATCH_FIELDS = ("event", "rule", "advertiser", "action_index", "action", "target_type", "target_id", "status",
                 "detail", "created_at")


def _insert_matches(rows: list[tuple]) -> None:
    """INSERT the rows (from _matches), no ids read back: this runs for every matching rule, and
    bulk_create's per-object machinery cost more than the rest of an alert rule's work."""
    insert_values(RuleMatch, _MATCH_FIELDS, rows)


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


def _matches(event: Event, rule: Rule, results, *, rolled_back: str = "") -> list[tuple]:
    """RuleMatch rows as column values (_MATCH_FIELDS), prepared for the database as the fields
    would prepare them."""
    detail_field, created_field = RuleMatch._meta.get_field("detail"), RuleMatch._meta.get_field("created_at")
    now = created_field.get_db_prep_save(timezone.now(), connection)
    rows = []
    for index, action, outcome in results:
        status, detail = outcome.status, outcome.detail
        if rolled_back and status == MatchStatus.APPLIED:
            status, detail = MatchStatus.SKIPPED, {**detail, "reason": f"not applied: {rolled_back}"}
        rows.append((event.pk, rule.pk, event.advertiser_id, index, action, outcome.target_type, outcome.target_id,
                     str(status), detail_field.get_db_prep_save(detail, connection), now))
    return rows


def _record_failure(event: Event, rule: Rule, lease: _Lease, results, reason: str) -> None:
    with transaction.atomic():
        _fence(event, lease)
        _insert_matches(_matches(event, rule, results, rolled_back=reason))


def _writes_nothing(rule: Rule) -> bool:
    """A rule of one action that writes nothing but its RuleMatch row (an alert)."""
    if len(rule.actions) != 1 or not isinstance(rule.actions[0], dict):
        return False
    action = ACTIONS.get(rule.actions[0].get("type"))
    return action is not None and not action.writes_to_database


def _record_if_leased(event: Event, rule: Rule, lease: _Lease) -> None:
    """A rule that writes nothing but its match, with no transaction of its own: on PostgreSQL
    the match waits for its event's finish and is written by the finish's statement, only if the
    lease still holds then (nothing of it is written if the event fails or is lost first: a rerun
    runs the rule again); elsewhere one INSERT that happens only while the batch holds the lease
    (checked, and the row locked, in the same statement) and commits on its own. Either way none
    of the four round trips of a rule's own transaction (begin, lease check, insert, commit), and
    the unique constraint on matches still refuses a second record. The action runs before the
    lease is checked (it only computes its outcome and logs): a worker that lost its lease at that
    moment may log an alert the new holder logs again, but records nothing."""
    results = _run_actions(rule, Context(event=event, rule=rule))
    failed = any(outcome.status == MatchStatus.ERROR for _, _, outcome in results)
    rows = _matches(event, rule, results, rolled_back="another action of this rule failed" if failed else "")
    if len(rows) != 1:  # an action type that reports several outcomes: the general path
        with transaction.atomic():
            _fence(event, lease)
            _insert_matches(rows)
        return
    if lease.records_with_finish:
        # Recorded by the event's finish, in the same statement and only if the lease still holds
        # then: no round trip and no commit of its own (a third of the bench's matching rules).
        lease.deferred.setdefault(event.pk, []).append(rows[0])
        return
    table = _q(Event._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    columns = ", ".join(_q(RuleMatch._meta.get_field(name).column) for name in _MATCH_FIELDS)
    sql = (f"INSERT INTO {_q(RuleMatch._meta.db_table)} ({columns}) SELECT {', '.join(['%s'] * len(_MATCH_FIELDS))}"
           f" WHERE EXISTS (SELECT 1 FROM {table} WHERE id = %s AND claim_token = %s AND status = %s{lock})")
    # Inside a caller's transaction (tests), a savepoint keeps a refusal from aborting it. Outside
    # one, the statement is its own transaction and, like the worker's others, skips the flush wait.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            _execute(cursor, sql, [*rows[0], event.pk, lease.token, EventStatus.PROCESSING],
                     no_flush_wait=lease.no_flush_wait)
            inserted = cursor.rowcount
    if inserted != 1:
        raise LeaseLost(event.pk)


def _apply_rule(event: Event, rule: Rule, lease: _Lease) -> None:
    """Run one matching rule: all its effects and their RuleMatch rows, or none of the effects."""
    try:
        if _writes_nothing(rule):
            return _record_if_leased(event, rule, lease)
        with transaction.atomic():
            _fence(event, lease)
            results = _run_actions(rule, Context(event=event, rule=rule))
            if any(outcome.status == MatchStatus.ERROR for _, _, outcome in results):
                raise _RollBack(results)
            _insert_matches(_matches(event, rule, results))
    except _RollBack as rollback:
        _record_failure(event, rule, lease, rollback.outcomes, "another action of this rule failed")
    except IntegrityError as exc:
        if RuleMatch.objects.filter(event=event, rule=rule).exists():
            log.warning("rule already applied to this event by another worker", extra={"event": event.pk, "rule": rule.pk})
            return
        error = Outcome(MatchStatus.ERROR, {"error": f"the database refused the change: {exc}"[:1000]})
        _record_failure(event, rule, lease, [(0, "rule", error)], "database refusal")
    except (LeaseLost, DatabaseError):
        raise
    except Exception as exc:  # a bug in an action must not hide the other rules' work
        log.exception("rule action crashed", extra={"event": event.pk, "rule": rule.pk})
        error = Outcome(MatchStatus.ERROR, {"error": f"internal error: {type(exc).__name__}: {exc}"[:1000]})
        _record_failure(event, rule, lease, [(0, "rule", error)], "internal error")


def _rules_by_kind(events: list[Event]) -> dict[tuple[int, str], list[tuple[Rule, object]]]:
    """The enabled rules of the batch's advertisers and event types, in running order, each with
    its compiled conditions (or the ConditionError of a rule saved around validation)."""
    rules = Rule.objects.filter(advertiser_id__in={e.advertiser_id for e in events},
                                event_type__in={e.type for e in events}, enabled=True)
    found: dict[tuple[int, str], list[tuple[Rule, object]]] = {}
    for rule in rules.order_by("advertiser_id", "event_type", "-priority", "id"):
        try:
            matcher = compile_conditions(rule.conditions)
        except ConditionError as exc:
            matcher = exc
        found.setdefault((rule.advertiser_id, rule.event_type), []).append((rule, matcher))
    return found


def _rules_done(events: list[Event]) -> dict[int, set[int]]:
    """Rules that already have matches, for events that ran before (only a rerun can have any:
    a later attempt, or an event given a fresh set of attempts after failing)."""
    reruns = [e.pk for e in events if e.attempts > 1 or e.error]
    done: dict[int, set[int]] = {}
    if reruns:
        for event_id, rule_id in RuleMatch.objects.filter(event_id__in=reruns).values_list("event_id", "rule_id").distinct():
            done.setdefault(event_id, set()).add(rule_id)
    return done


def _run_rules(event: Event, lease: _Lease, rules: list[tuple[Rule, object]], done: set[int]) -> int:
    matched = 0
    for rule, matcher in rules:
        lease.beat()
        if isinstance(matcher, ConditionError):  # saved around validation (shell, data migration)
            if rule.pk not in done:
                error = Outcome(MatchStatus.ERROR, {"error": f"invalid conditions: {matcher}"})
                _record_failure(event, rule, lease, [(0, "conditions", error)], "invalid rule")
            continue
        if matcher(event.payload):
            matched += 1
            if rule.pk not in done:
                _apply_rule(event, rule, lease)
    return matched


def _finish(finished: list[tuple[Event, int]], lease: _Lease) -> set[int]:
    """Mark events processed, in one statement (each with its own rules_matched); returns the ids
    whose lease still held. On PostgreSQL the same statement records their deferred alert matches."""
    done = timezone.now()
    if lease.records_with_finish:
        deferred = [row for event, _ in finished for row in lease.deferred.pop(event.pk, ())]
        columns = [list(column) for column in zip(*deferred)] or [[] for _ in _MATCH_FIELDS]
        sql, params = _finish_recording_sql(), [
            EventStatus.PROCESSED, done, done, [event.pk for event, _ in finished],
            [matched for _, matched in finished], lease.token, *columns]
    else:
        sql, params = _finish_sql(finished, lease, done)
    with connection.cursor() as cursor:
        _execute(cursor, sql, params, no_flush_wait=lease.no_flush_wait)
        marked = {row[0] for row in cursor.fetchall()}
    return marked


def _finish_sql(finished: list[tuple[Event, int]], lease: _Lease, done) -> tuple[str, list]:
    """The portable finish: one UPDATE, the match counts in a CASE."""
    ids = [event.pk for event, _ in finished]
    counts = {matched for _, matched in finished}
    if len(counts) == 1:
        matched_sql, matched_params = "%s", [counts.pop()]
    else:  # one CASE rather than one statement per distinct count
        matched_sql = "CASE id " + " ".join(["WHEN %s THEN %s"] * len(finished)) + " END"
        matched_params = [value for event, matched in finished for value in (event.pk, matched)]
    sql = (f"UPDATE {_q(Event._meta.db_table)} SET status = %s, processed_at = %s, heartbeat_at = %s,"
           f" rules_matched = {matched_sql}, claim_token = '', error = ''"
           f" WHERE claim_token = %s AND id IN ({', '.join(['%s'] * len(ids))}) RETURNING id")
    return sql, [EventStatus.PROCESSED, done, done, *matched_params, lease.token, *ids]


@cache  # PostgreSQL only, so one text per process
def _finish_recording_sql() -> str:
    """PostgreSQL's finish: the UPDATE, and an INSERT of the deferred match rows of the events it
    marked (a row whose event lost its lease is not written). ON CONFLICT: a match already there
    (a finish lost to a database crash after a rerun recorded it) is not written twice.

    Every list goes in as one array parameter, so the text is the same for every batch: psycopg
    then parses it once (it re-parses any statement of more than 50 parameters every time)."""
    fields = [RuleMatch._meta.get_field(name) for name in _MATCH_FIELDS]
    aliases = [f"c{n}" for n in range(len(fields))]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    return (f"WITH done AS (UPDATE {_q(Event._meta.db_table)} e SET status = %s, processed_at = %s, heartbeat_at = %s,"
            f" rules_matched = m.matched, claim_token = '', error = ''"
            f" FROM unnest(%s::bigint[], %s::integer[]) AS m (id, matched)"
            f" WHERE e.id = m.id AND e.claim_token = %s RETURNING e.id),"
            f" recorded AS (INSERT INTO {_q(RuleMatch._meta.db_table)} ({', '.join(_q(f.column) for f in fields)})"
            f" SELECT r.* FROM unnest({arrays}) AS r ({', '.join(aliases)})"
            f" JOIN done ON done.id = r.{aliases[_MATCH_FIELDS.index('event')]} ON CONFLICT DO NOTHING)"
            f" SELECT id FROM done")


def _release(event: Event, lease: _Lease, exc: Exception) -> None:
    """After a failure: back to queued for a later attempt (or failed, out of attempts)."""
    gave_up = event.attempts >= MAX_ATTEMPTS
    try:
        Event.objects.filter(pk=event.pk, claim_token=lease.token).update(
            status=EventStatus.FAILED if gave_up else EventStatus.QUEUED, claim_token="",
            heartbeat_at=timezone.now(), processed_at=timezone.now() if gave_up else None,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    except DatabaseError:  # the database is away: the reconciler will find the row later
        log.exception("could not release event", extra={"event": event.pk})


def _give_back(events: list[Event], lease: _Lease) -> None:
    """Events of the batch not attempted at all (the connection was lost): queued again, the
    claim not counted as an attempt."""
    try:
        Event.objects.filter(pk__in=[e.pk for e in events], claim_token=lease.token, status=EventStatus.PROCESSING).update(
            status=EventStatus.QUEUED, claim_token="", attempts=F("attempts") - 1, heartbeat_at=timezone.now())
    except DatabaseError:  # the reconciler will find them once their heartbeat is stale
        log.exception("could not give back unprocessed events", extra={"events": [e.pk for e in events]})


def _redeliver_later(event_ids: list[int]) -> None:
    """Events of the batch that failed are delivered again after the retry delay (their own
    task came and went while the batch held them). Out of attempts, they stay failed."""
    from campaigns.tasks import process_event  # the task module imports this one

    for pk in event_ids:
        try:
            process_event.schedule(args=(pk,), delay=RETRY_DELAY_SECONDS)
        except Exception:  # the queue is away: the reconciler resends queued events later
            log.exception("could not schedule the event again", extra={"event": pk})


def _connection_lost() -> bool:
    try:
        return connection.connection is None or not connection.is_usable()
    except Exception:
        return True


def event_process(*, event_id: int) -> str:
    """Process event `event_id` if it can be claimed, with a batch of other queued events taken
    along; returns what happened to `event_id`: processed, not-claimed or lease-lost. If it
    failed, its exception is raised (the task's retries deliver it again) after the rest of the
    batch is done.

    Safe to call any number of times, from any number of workers.
    """
    no_flush_wait = _no_flush_wait()
    token, events = _claim(event_id, timezone.now(), batch_size())
    if not events:
        return "not-claimed"
    outcomes = _process_batch(events, _Lease(events, token, no_flush_wait=no_flush_wait), own=event_id)
    own = outcomes.get(event_id, "not-claimed")
    if isinstance(own, Exception):
        raise own
    return own


def _process_batch(events: list[Event], lease: _Lease, *, own: int) -> dict[int, object]:
    rules = _rules_by_kind(events)
    done = _rules_done(events)
    outcomes: dict[int, object] = {}
    finished: list[tuple[Event, int]] = []
    failed: list[int] = []
    finished_since = time.monotonic()
    for n, event in enumerate(events):
        try:
            matched = _run_rules(event, lease, rules.get((event.advertiser_id, event.type), []),
                                 done.get(event.pk, set()))
        except LeaseLost:
            log.warning("event lease lost; another worker took over", extra={"event": event.pk})
            outcomes[event.pk] = "lease-lost"
            lease.done(event)
            continue
        except Exception as exc:  # this event fails alone; the others carry on
            log.warning("event failed; released for another attempt", exc_info=True, extra={"event": event.pk})
            outcomes[event.pk] = exc
            failed.append(event.pk)
            lease.done(event)
            _release(event, lease, exc)
            if isinstance(exc, DatabaseError) and _connection_lost():
                _give_back(events[n + 1:], lease)
                failed += [e.pk for e in events[n + 1:]]
                # Done but not yet marked: the reconciler finds them (their rules do not run again).
                outcomes.update({e.pk: exc for e, _ in finished})
                finished = []
                break
            continue
        if not finished:
            finished_since = time.monotonic()
        finished.append((event, matched))
        if len(finished) >= FINISH_EVERY or time.monotonic() - finished_since > FINISH_AFTER_SECONDS:
            outcomes.update(_finished_outcomes(finished, lease))
            finished = []
    if finished:
        outcomes.update(_finished_outcomes(finished, lease))
    _redeliver_later([pk for pk in failed if pk != own])
    return outcomes


def _finished_outcomes(finished: list[tuple[Event, int]], lease: _Lease) -> dict[int, str]:
    marked = _finish(finished, lease)
    _finished_here.add(marked)
    for event, _ in finished:
        lease.done(event)
    return {event.pk: "processed" if event.pk in marked else "lease-lost" for event, _ in finished}
