"""Push: our campaigns, line items (ad groups) and targets to Amazon DSP.

Requests are the scarce resource (Amazon throttles per account), so a push sends only what it
must: objects whose synced fields hash the same as at the last sync cost nothing; creates go in
batches at the API's item limit; objects that changed are read back in batches (to see whether
Amazon changed too) and patched in batches. Creating N enabled ad groups therefore costs
ceil(N/100) POSTs plus ceil(N/100) PATCHes to activate them (Amazon creates everything inactive).

Never twice (the create journal): before a create batch leaves, its ExternalRef rows are
committed with `pending_since` set. A create is sent without the client's automatic retry:
a 429 is resent as is (Amazon refused it before doing anything), but after a 5xx or a lost
connection the answer is unknown, so the items are first looked up by our externalId and only
the ones Amazon does not have are sent again. A run killed at any point leaves pending refs; the
next run resolves them the same way before creating anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.amazon import limits
from integrations.amazon.errors import ClientError, ServerError, ThrottledError, TransportError
from integrations.amazon.retry import NO_RETRIES
from integrations.models import ExternalRef, ExternalSystem
from integrations.sync.mapping import (
    ARCHIVED,
    KINDS,
    TARGET_DELETE_PATH,
    Kind,
    in_scope,
    is_archived,
    parent_id_of,
    target_delete_item,
)
from integrations.sync.lookup import AmazonReads, chunks
from integrations.sync.merge import (
    REF_FIELDS,
    conflict_record,
    conflicts_close_settled,
    content_type,
    merge,
    refs_save,
    set_base,
    set_remote,
)
from integrations.sync.values import error_code, error_message, values_hash

PER_WRITE = {"campaigns": limits.CAMPAIGNS_PER_WRITE, "adGroups": limits.AD_GROUPS_PER_WRITE,
             "targets": limits.TARGETS_PER_WRITE}
NEW = "(new)"  # a dry run's stand-in id for a parent it would create


class AmazonUnavailable(Exception):
    """Amazon kept failing past the retry budget. The run stops; what was sent stays journaled."""


@dataclass
class Item:
    obj: Any
    ref: ExternalRef | None
    ours: dict
    push: set = field(default_factory=set)
    target: dict = field(default_factory=dict)
    base_after: dict = field(default_factory=dict)
    activation: bool = False  # only activates what this run created: counted as created, not updated
    deferred: bool = False  # just created: its ref is written (and counted) with the activation's answer
    archive: bool = False  # a target archived here: removed on Amazon (deleteByObject)
    remote: dict | None = None  # as Amazon holds it (what deleteByObject names)


class Pusher(AmazonReads):
    def __init__(self, *, rec, client, advertiser, account_id: str, dry_run: bool):
        self.rec, self.client, self.advertiser = rec, client, advertiser
        self.account_id, self.dry_run = account_id, dry_run
        self.remote_ids: dict[str, dict[int, str]] = {}
        self._patches: list[Item] = []
        self._ids: dict[int, str] = {}

    # --- driver ---------------------------------------------------------------------------------

    def run(self) -> None:
        from integrations.kargo.push import KargoTrafficker  # Kargo deal targeting and third-party creatives
        from integrations.sync.creatives import CreativePusher  # our creatives, once the ad groups exist

        kargo = KargoTrafficker(self)
        kargo.preflight()  # refuses the whole push (KargoRefused) before any request leaves
        work = [(kind, list(in_scope(kind, self.advertiser))) for kind in KINDS]
        self.rec.add_total(sum(len(objs) for _, objs in work))
        self.rec.save()
        for kind, objs in work:
            self._push_kind(kind, objs)
        CreativePusher(self).push()
        kargo.push()

    def _push_kind(self, kind: Kind, objs: list) -> None:
        self.ct = content_type(kind)
        refs = {r.object_id: r for r in ExternalRef.objects.filter(
            system=ExternalSystem.AMAZON_DSP, content_type=self.ct, advertiser=self.advertiser)}
        self._ids = {pk: r.external_id for pk, r in refs.items() if r.external_id}
        self._patches = []
        creates, pending, checks = [], [], []
        for obj in objs:
            ref, ours = refs.get(obj.pk), kind.ours(obj)
            if ref is not None and ref.external_id:
                if values_hash(ours) == ref.synced_hash:
                    self._unchanged(ref)
                else:
                    checks.append(Item(obj, ref, ours))
            elif ref is not None and ref.pending_since:
                pending.append(Item(obj, ref, ours))
            elif is_archived(kind, obj):
                self.rec.done()  # an archived object is never created
            else:
                creates.append(Item(obj, ref, ours))
        with transaction.atomic():
            self.rec.save()
        for it in self._resolve_pending(kind, pending):
            if is_archived(kind, it.obj):  # archived meanwhile: Amazon never got it, and never will
                if not self.dry_run:
                    ExternalRef.objects.filter(pk=it.ref.pk, external_id__isnull=True).delete()
                self.rec.done()
            else:
                creates.append(it)
        self._check(kind, checks)
        creates = [it for it in creates if self._has_parent(kind, it)]
        for batch in chunks(creates, PER_WRITE[kind.items_key]):
            self._create(kind, batch)
        for batch in chunks(self._patches, PER_WRITE[kind.items_key]):
            self._patch(kind, batch)
        self.remote_ids[kind.name] = self._ids

    # --- classification helpers --------------------------------------------------------------

    def _unchanged(self, ref: ExternalRef) -> None:
        started = self.rec.run.started_at
        # A resumed run does not count again what its lost attempt already synced.
        if not (ref.synced_at and started and ref.synced_at >= started):
            self.rec.count("unchanged")
        self.rec.done()

    def _parent_remote(self, kind: Kind, obj) -> str | None:
        return self.remote_ids.get(kind.parent, {}).get(parent_id_of(kind, obj)) if kind.parent else None

    def _has_parent(self, kind: Kind, it: Item) -> bool:
        if kind.parent is None or self._parent_remote(kind, it.obj):
            return True
        self._fail(kind, it.obj, "PARENT_NOT_ON_AMAZON",
                   f"Its {kind.parent} is not on Amazon yet (it failed or is a draft).")
        return False

    def _fail(self, kind: Kind, obj, code: str, message: str, request_id: str | None = None, *,
              done: bool = True) -> None:
        self.rec.error(obj=f"{kind.name}:{obj.pk}", code=code, message=message, request_id=request_id)
        if done:
            self.rec.done()

    # --- planning -----------------------------------------------------------------------------

    def _resolve_pending(self, kind: Kind, pending: list[Item]) -> list[Item]:
        """Creates of an earlier, interrupted attempt: adopt what Amazon has, return the rest to create."""
        if not pending:
            return []
        found = self._lookup(kind, pending, by_name=True)
        rest = []
        for it in pending:
            remote = found.get(it.obj.pk)
            if remote is None:
                rest.append(it)
                continue
            theirs = kind.theirs(remote, self.advertiser)
            if not self.dry_run:
                it.ref.external_id, it.ref.pending_since = str(remote[kind.id_key]), None
                set_base(it.ref, theirs)  # it holds what the lost request sent; ours may have moved since
                set_remote(it.ref, theirs, remote)
                it.ref.save(update_fields=REF_FIELDS)
            self._ids[it.obj.pk] = str(remote[kind.id_key])
            self._plan(kind, it, remote, created=True)
        return rest

    def _check(self, kind: Kind, items: list[Item]) -> None:
        if not items:
            return
        remotes = self._read(kind, [it.ref.external_id for it in items])
        for it in items:
            remote = remotes.get(it.ref.external_id)
            if remote is None and kind.is_target and it.ours.get("state") == ARCHIVED:
                self._settle_gone(it)  # archived here, already gone there: nothing left to do
            elif remote is None:
                self._fail(kind, it.obj, "MISSING_ON_AMAZON",
                           f"Amazon has no {kind.items_key[:-1]} {it.ref.external_id} in account {self.account_id}.")
            else:
                # Created by a lost attempt of this same run: counted then, so not "updated" now.
                started = self.rec.run.started_at
                self._plan(kind, it, remote, counted=bool(started and it.ref.created_at >= started))

    def _settle_gone(self, it: Item) -> None:
        if not self.dry_run:
            set_base(it.ref, dict(it.ours))
            set_remote(it.ref, dict(it.ours))
            it.ref.save(update_fields=REF_FIELDS)
        self.rec.count("unchanged")
        self.rec.done()

    def _plan(self, kind: Kind, it: Item, remote: dict, *, created: bool = False, counted: bool = False) -> None:
        theirs = kind.theirs(remote, self.advertiser)
        m = merge(kind, it.ref.synced_values or theirs, it.ours, theirs)
        archive = kind.is_target and it.ours.get("state") == ARCHIVED  # merge() made it win
        frozen = set() if archive else m.push - kind.updatable
        send = {"state"} if archive else m.push & kind.updatable
        self.rec.count("conflicts", len(m.conflicts))
        if not self.dry_run:
            with transaction.atomic():
                for name, (b, o, t) in m.conflicts.items():
                    conflict_record(run=self.rec.run, ref=it.ref, name=name, base=b, ours=o, theirs=t)
                conflicts_close_settled(ref=it.ref, settled=m.converged)
                if not send:
                    # Nothing we may send: the base catches up where both sides agree; their own
                    # changes wait for the pull, conflicts for a person.
                    set_base(it.ref, m.base)
                    set_remote(it.ref, theirs, remote)
                    it.ref.save(update_fields=REF_FIELDS)
        if created:  # an earlier attempt's create, found on Amazon: created by the sync all the same
            self.rec.count("created")
        if frozen:
            # What Amazon does not let us change stays unsynced (and reported each run) until
            # someone archives the object here and adds a new one; the rest is still sent.
            self._fail(kind, it.obj, "NOT_UPDATABLE", f"Amazon cannot change a {kind.items_key[:-1]}'s "
                       f"{', '.join(sorted(frozen))} (changed here). Archive it and add a new one.", done=not send)
        if not send:
            if not (created or counted or frozen):
                self.rec.count("unchanged")
            if not frozen:
                self.rec.done()
            return
        it.push, it.target, it.activation, it.remote = send, m.target, created or counted, remote
        it.archive = archive
        it.base_after = dict(it.ours) if archive else {**m.base, **{name: it.ours[name] for name in send}}
        self._patches.append(it)

    # --- writes -------------------------------------------------------------------------------

    def _wait(self, error: Exception | None, attempt: int, started: float) -> None:
        policy = self.client.retry
        retry_after = getattr(error, "retry_after", None)
        delay = retry_after if retry_after is not None else policy.backoff(attempt, self.client.rng)
        if attempt >= policy.max_attempts or self.client.clock() - started + delay > policy.max_total_seconds:
            raise AmazonUnavailable(
                f"Amazon still failing after {attempt} attempts: {error or 'item errors'}") from error
        self.client.sleep(delay)
        self.rec.beat()

    def _create(self, kind: Kind, batch: list[Item]) -> None:
        if self.dry_run:
            for it in batch:
                self._ids[it.obj.pk] = NEW
            self.rec.count("created", len(batch))
            self.rec.done(len(batch))
            return
        self._journal(batch)
        remaining, attempt, started = list(batch), 0, self.client.clock()
        while remaining:
            attempt += 1
            body = {kind.items_key: [kind.payload(it.obj, self._parent_remote(kind, it.obj), self.advertiser)
                                     for it in remaining]}
            try:
                response = self.client.request("POST", kind.path, json=body, account_id=self.account_id,
                                               retry=NO_RETRIES)
            except ThrottledError as exc:  # refused before anything happened: resend as is
                self._wait(exc, attempt, started)
                continue
            except (ServerError, TransportError) as exc:  # the answer is unknown: look before resending
                self._wait(exc, attempt, started)
                found = self._lookup(kind, remaining)
                self._attach(kind, [(it, str(found[it.obj.pk][kind.id_key])) for it in remaining if it.obj.pk in found])
                remaining = [it for it in remaining if it.obj.pk not in found]
                continue
            except ClientError as exc:  # the whole batch refused: nothing was created
                self._abandon(kind, [(it, exc.code or "REFUSED", exc.message) for it in remaining], exc.request_id)
                return
            answer = response.body if isinstance(response.body, dict) else {}
            done = [(remaining[int(s["index"])], str(s[kind.id_key])) for s in answer.get("success") or []]
            retry, refused = [], []
            for entry in answer.get("error") or []:
                it = remaining[int(entry["index"])]
                if error_code(entry) in limits.TRANSIENT_ITEM_ERRORS:
                    retry.append(it)
                else:
                    refused.append((it, error_code(entry), error_message(entry)))
            self._attach(kind, done)
            self._abandon(kind, refused, response.request_id)
            remaining = retry
            if remaining:
                self._wait(None, attempt, started)

    def _journal(self, batch: list[Item]) -> None:
        """Commit the intent before the request leaves (see the module docstring)."""
        now = timezone.now()
        new, existing = [], []
        for it in batch:
            if it.ref is None:
                it.ref = ExternalRef(content_type=self.ct, object_id=it.obj.pk, advertiser=self.advertiser,
                                     system=ExternalSystem.AMAZON_DSP, account_id=self.account_id, pending_since=now)
                new.append(it.ref)
            else:
                it.ref.pending_since, it.ref.account_id = now, self.account_id
                existing.append(it.ref)
        with transaction.atomic():
            ExternalRef.objects.bulk_create(new)
            refs_save(existing)
            self.rec.save()  # the heartbeat rides along: one commit per batch, not two

    def _attach(self, kind: Kind, pairs: list[tuple[Item, str]]) -> None:
        """Record what Amazon created. Objects that still need activating are written once, with
        the activation's answer: until then the journal says "pending", which is safe (a rerun
        looks them up) and saves a second write of every row."""
        if not pairs:
            return
        now = timezone.now()
        settled = []
        for it, remote_id in pairs:
            base = dict(it.ours)
            if not kind.is_target:
                base["state"] = "INACTIVE"  # Amazon creates campaigns and ad groups inactive
            it.ref.external_id, it.ref.pending_since = remote_id, None
            set_base(it.ref, base, now=now)
            set_remote(it.ref, base, now=now)
            self._ids[it.obj.pk] = remote_id
            if base != it.ours:
                it.push = {name for name in kind.fields if base.get(name) != it.ours.get(name)}
                it.target, it.base_after, it.activation, it.deferred = dict(it.ours), dict(it.ours), True, True
                self._patches.append(it)
            else:
                settled.append(it)
            self.rec.done()  # progress follows the creates; the activations that follow are part of them
        if settled:
            self.rec.count("created", len(settled))
            with transaction.atomic():
                refs_save([it.ref for it in settled])
                self.rec.save()

    def _abandon(self, kind: Kind, refused: list[tuple[Item, str, str]], request_id: str | None) -> None:
        """Creates Amazon refused for good: nothing exists there, so the journal entry goes."""
        if not refused:
            return
        with transaction.atomic():
            ExternalRef.objects.filter(pk__in=[it.ref.pk for it, _, _ in refused], external_id__isnull=True).delete()
            for it, code, message in refused:
                it.ref = None
                self._fail(kind, it.obj, code, message, request_id)
            self.rec.save()

    def _patch(self, kind: Kind, batch: list[Item]) -> None:
        if self.dry_run:
            self.rec.count("updated", sum(1 for it in batch if not it.activation))
            self.rec.done(len(batch))
            return
        updates = [it for it in batch if not it.archive]
        if updates:
            self._send_changes(kind, updates, kind.update_method, kind.update_url,
                               lambda it: kind.patch(it.ref.external_id, it.target, it.push, self.advertiser))
        archives = [it for it in batch if it.archive]
        if archives:  # a target archived here is removed there; one already gone is as good
            self._send_changes(kind, archives, "POST", TARGET_DELETE_PATH, lambda it: target_delete_item(it.remote),
                               gone_ok=True)

    def _send_changes(self, kind: Kind, batch: list[Item], method: str, path: str, build, *,
                      gone_ok: bool = False) -> None:
        remaining, attempt, started = list(batch), 0, self.client.clock()
        while remaining:
            attempt += 1
            body = {kind.items_key: [build(it) for it in remaining]}
            try:
                # The client's own retries are fine here: an update sets values and a removal of
                # what is gone answers "not found", so repeating either is harmless.
                response = self.client.request(method, path, json=body, account_id=self.account_id)
            except ClientError as exc:
                self._patch_failed(kind, [(it, exc.code or "REFUSED", exc.message) for it in remaining],
                                   exc.request_id)
                return
            answer = response.body if isinstance(response.body, dict) else {}
            now = timezone.now()
            applied = [remaining[int(s["index"])] for s in answer.get("success") or []]
            retry, refused = [], []
            for entry in answer.get("error") or []:
                it = remaining[int(entry["index"])]
                if gone_ok and error_code(entry) == "RESOURCE_ID_NOT_FOUND":
                    applied.append(it)
                elif error_code(entry) in limits.TRANSIENT_ITEM_ERRORS:
                    retry.append(it)
                else:
                    refused.append((it, error_code(entry), error_message(entry)))
            for it in applied:
                set_base(it.ref, it.base_after, now=now)
                set_remote(it.ref, it.target, now=now)
                if it.deferred:
                    self.rec.count("created")
                    continue
                if not it.activation:
                    self.rec.count("updated")
                self.rec.done()
            with transaction.atomic():
                refs_save([it.ref for it in applied])
                self._patch_failed(kind, refused, response.request_id)
                self.rec.save()
            remaining = retry
            if remaining:
                self._wait(None, attempt, started)

    def _patch_failed(self, kind: Kind, refused: list[tuple[Item, str, str]], request_id: str | None) -> None:
        """Updates Amazon refused. A just-created object exists all the same: its ref is written
        now (Amazon's values, inactive) and it counts as created, and as failed."""
        deferred = [it for it, _, _ in refused if it.deferred]
        with transaction.atomic():
            refs_save([it.ref for it in deferred])
            self.rec.count("created", len(deferred))
            for it, code, message in refused:
                self._fail(kind, it.obj, code, message, request_id, done=not it.deferred)
            self.rec.save()


def push_dirty_count(*, advertiser) -> int:
    """Objects a push would act on (new, changed since the last sync, or a create in doubt),
    found by comparing hashes: no request to Amazon. The "push on change" task uses it, since
    campaigns cannot call into integrations when something changes."""
    dirty = 0
    for kind in KINDS:
        refs = {r.object_id: (r.external_id, r.pending_since, r.synced_hash) for r in ExternalRef.objects.filter(
            system=ExternalSystem.AMAZON_DSP, content_type=content_type(kind), advertiser=advertiser)}
        for obj in in_scope(kind, advertiser):
            ref = refs.get(obj.pk)
            if ref is None:
                dirty += 0 if is_archived(kind, obj) else 1
            elif ref[1] is not None or (ref[0] and values_hash(kind.ours(obj)) != ref[2]):
                dirty += 1
    from integrations.kargo.push import kargo_dirty_count  # deal targeting and Kargo creatives not yet sent
    from integrations.sync.creatives import creatives_dirty_count

    return dirty + kargo_dirty_count(advertiser=advertiser) + creatives_dirty_count(advertiser=advertiser)
