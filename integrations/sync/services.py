"""The sync's entry points: execute a run, resolve a conflict, start the scheduled runs."""

from __future__ import annotations

import logging
from typing import Callable

from django.db import transaction
from django.utils import timezone

from campaigns.models import Advertiser
from campaigns.services import entity_save
from integrations.amazon.client import AmazonAdsClient
from integrations.amazon.errors import AmazonAdsError
from integrations.models import (
    AmazonAdvertiserLink,
    ConflictResolution,
    ExternalRef,
    SyncConflict,
    SyncDirection,
    SyncRun,
    SyncScope,
    SyncStatus,
    SyncTrigger,
)
from integrations.sync.mapping import KIND_OF_MODEL
from integrations.sync.merge import set_base, set_remote
from integrations.sync.performance import pull_performance
from integrations.sync.pull import Puller
from integrations.sync.push import Pusher, push_dirty_count
from integrations.sync.runs import (
    LeaseLost,
    NoConnection,
    RunRecorder,
    SyncAlreadyRunning,
    link_for,
    link_or_none,
    run_claim,
    sync_run_start,
)
from integrations.sync.values import error_message

log = logging.getLogger("integrations.sync")


def sync_run_execute(*, run_id: int, client: AmazonAdsClient | None = None,
                     on_progress: Callable[[SyncRun], None] | None = None) -> SyncRun:
    """Claim the run and do it; returns the run as stored. Safe to call twice or after a lost
    worker: a run someone else holds (or that is finished) is returned untouched, and a resumed
    one only does what is left. `client` is for tests and benchmarks pointed at the fake."""
    token = run_claim(run_id)
    run = SyncRun.objects.select_related("connection", "advertiser").get(pk=run_id)
    if token is None:
        return run
    run.progress_total = 0
    rec = RunRecorder(run=run, token=token, on_progress=on_progress)
    link = link_or_none(run.advertiser)
    # A client built here starts from zero; one passed in may have served other runs already.
    requests_before = client.stats.snapshot() if client is not None else {}
    try:
        account = _account_of(run, link)  # before any client: an unusable link sends nothing
        client = client or AmazonAdsClient.for_link(link)
        kwargs = dict(rec=rec, client=client, advertiser=run.advertiser, account_id=account, dry_run=run.dry_run)
        if run.direction == SyncDirection.PUSH:
            Pusher(**kwargs).run()
        else:
            if run.scope in (SyncScope.ALL, SyncScope.ENTITIES):
                Puller(**kwargs).run()
            if run.scope in (SyncScope.ALL, SyncScope.PERFORMANCE):
                pull_performance(rec=rec, client=client, link=link, advertiser=run.advertiser,
                                 dry_run=run.dry_run)
        run.stats["requests"] = _requests_since(client, requests_before)
        if run.failed:
            rec.finish(SyncStatus.FAILED, f"{run.failed} object(s) failed; see the errors.")
        else:
            rec.finish(SyncStatus.SUCCEEDED)
    except LeaseLost:
        log.warning("sync run taken over by another worker", extra={"sync_run": run_id})
        return SyncRun.objects.get(pk=run_id)
    except Exception as exc:  # recorded on the run; the caller decides how loud to be
        log.exception("sync run failed", extra={"sync_run": run_id})
        run.stats["requests"] = _requests_since(client, requests_before) if client is not None else {}
        reason = str(exc) if isinstance(exc, AmazonAdsError) else f"{type(exc).__name__}: {exc}"
        try:
            rec.finish(SyncStatus.FAILED, reason)
        except LeaseLost:
            pass
    return run


def _account_of(run: SyncRun, link: AmazonAdvertiserLink | None) -> str:
    """The DSP advertiser the run writes to. The link is read when the run executes, so a link
    moved to another connection after the run was queued fails the run rather than sending one
    advertiser's objects through the wrong login."""
    if link is None:
        raise NoConnection(f"Advertiser {run.advertiser} is linked to no Amazon DSP advertiser any more.")
    if link.connection_id != run.connection_id:
        raise NoConnection(f"Advertiser {run.advertiser} is now served by connection {link.connection}; "
                           "run the sync again.")
    if not link.dsp_advertiser_id:
        raise NoConnection(f"The link of {run.advertiser} has no DSP advertiser id (Amazon-Ads-AccountId).")
    return link.dsp_advertiser_id


def _requests_since(client, before: dict) -> dict:
    now = client.stats.snapshot()
    return {k: v - before.get(k, 0) for k, v in now.items() if v - before.get(k, 0)}


class ConflictNotResolvable(Exception):
    pass


def sync_conflict_resolve(*, conflict: SyncConflict, resolution: str, by=None,
                          client: AmazonAdsClient | None = None) -> SyncConflict:
    """Apply the account manager's choice to the losing side, then close the conflict.

    "ours": our value is sent to Amazon (one PATCH); "theirs": Amazon's value is written here
    through entity_save (history source "sync"). Either way the field's base becomes the winner,
    so the next sync sees both sides agreeing.
    """
    if not conflict.is_open:
        raise ConflictNotResolvable("This conflict is already resolved.")
    ref = ExternalRef.objects.select_related("content_type", "advertiser").get(pk=conflict.ref_id)
    kind = KIND_OF_MODEL.get(ref.content_type.model_class())
    if kind is None or not ref.external_id:
        raise ConflictNotResolvable("The object is not synced with Amazon.")
    name = conflict.field
    if resolution == ConflictResolution.OURS:
        if name not in kind.updatable:
            raise ConflictNotResolvable(f"Amazon does not let {name} of a {kind.items_key[:-1]} be changed; "
                                        "only 'theirs wins' applies.")
        link = link_for(ref.advertiser)
        client = client or AmazonAdsClient.for_link(link)
        target = {**ref.remote_values, name: conflict.our_value}
        item = kind.patch(ref.external_id, target, {name}, ref.advertiser)
        answer = client.request(kind.update_method, kind.update_url, json={kind.items_key: [item]},
                                account_id=link.dsp_advertiser_id).body or {}
        if answer.get("error"):
            entry = answer["error"][0]
            raise ConflictNotResolvable(f"Amazon refused: {error_message(entry) or entry}")
        winner = conflict.our_value
    elif resolution == ConflictResolution.THEIRS:
        winner = conflict.their_value
    else:
        raise ValueError(f"resolution is one of {', '.join(ConflictResolution.values)}")
    with transaction.atomic():
        ref = ExternalRef.objects.select_for_update().get(pk=ref.pk)
        if resolution == ConflictResolution.THEIRS:
            obj = kind.model.objects.select_for_update().get(pk=ref.object_id)
            kind.apply(obj, name, winner)
            entity_save(obj=obj, by=by, source="sync")
        set_base(ref, {**ref.synced_values, name: winner})
        set_remote(ref, {**ref.remote_values, name: winner})
        ref.save()
        conflict.resolution, conflict.resolved_at = resolution, timezone.now()
        conflict.resolved_by = by if getattr(by, "pk", None) else None
        conflict.save(update_fields=["resolution", "resolved_at", "resolved_by"])
    return conflict


def _synced_advertisers():
    """The linked advertisers, each with its link and connection (one query for the whole loop)."""
    return (Advertiser.objects.filter(amazon_link__isnull=False).select_related("amazon_link__connection")
            .order_by("pk"))


def sync_runs_schedule(*, direction: str, scope: str = SyncScope.ALL, trigger: str = SyncTrigger.SCHEDULE,
                       only_dirty: bool = False) -> list[SyncRun]:
    """Start a run for every advertiser with a connection (skipping those with one live).
    `only_dirty`: pushes only where a push has something to do (the "push on change" task)."""
    started = []
    for advertiser in _synced_advertisers():
        if only_dirty and not push_dirty_count(advertiser=advertiser):
            continue
        try:
            started.append(sync_run_start(advertiser=advertiser, direction=direction, scope=scope, trigger=trigger,
                                          connection=advertiser.amazon_link.connection))
        except SyncAlreadyRunning:
            continue
        except NoConnection:
            continue
    return started
