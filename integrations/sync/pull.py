"""Pull: statuses, delivery and edits made on Amazon, written onto our objects.

Lists every campaign, ad group and target of the DSP account (nextToken pages), matches them to
ours through ExternalRef (or adopts one that carries our externalId but has no ref yet: the answer
to its create was lost), and merges three ways against the last synced values: what only Amazon
changed is written here through campaigns.services.entity_save (source "sync", so budget and bid
history records it); what changed on both sides is a SyncConflict and is written nowhere.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.services import entity_save
from integrations.amazon import limits
from integrations.amazon.pagination import iter_next_token
from integrations.models import ExternalRef, ExternalSystem
from integrations.sync.mapping import (
    ARCHIVED,
    CAMPAIGN,
    KEYWORD,
    KINDS_BY_NAME,
    LINE_ITEM,
    PRODUCT_TARGET,
    Kind,
)
from integrations.sync.merge import (
    conflict_record,
    conflicts_close_settled,
    content_type,
    merge,
    refs_save,
    set_base,
    set_remote,
)
from integrations.sync.values import NotApplicable

PAGE = limits.LIST_PAGE_MAX
_OURS = re.compile(r"^adops-(?P<kind>[a-z]+)-(?P<pk>\d+)$")
_RELATED = {"campaign": ("advertiser",), "lineitem": ("campaign__advertiser",),
            "keyword": ("line_item__campaign__advertiser",), "producttarget": ("line_item__campaign__advertiser",)}
_TENANT = {"campaign": "advertiser", "lineitem": "campaign__advertiser", "keyword": "line_item__campaign__advertiser",
           "producttarget": "line_item__campaign__advertiser"}


class Puller:
    def __init__(self, *, rec, client, advertiser, account_id: str, dry_run: bool):
        self.rec, self.client, self.advertiser = rec, client, advertiser
        self.account_id, self.dry_run = account_id, dry_run
        self.stats = rec.run.stats.setdefault("pull", {"foreign": 0, "missing_on_amazon": 0, "adopted": 0})

    def run(self) -> None:
        # Keywords and product targets are both Amazon targets: one listing serves both.
        listings = ((CAMPAIGN, [CAMPAIGN]), (LINE_ITEM, [LINE_ITEM]), (KEYWORD, [KEYWORD, PRODUCT_TARGET]))
        for list_kind, kinds in listings:
            self._pull(list_kind, kinds)

    def _pull(self, list_kind: Kind, kinds: list[Kind]) -> None:
        by_external: dict[str, tuple[Kind, ExternalRef]] = {}
        by_object: dict[tuple[str, int], ExternalRef] = {}
        for kind in kinds:
            for ref in ExternalRef.objects.filter(system=ExternalSystem.AMAZON_DSP, content_type=content_type(kind),
                                                  advertiser=self.advertiser):
                by_object[(kind.name, ref.object_id)] = ref
                if ref.external_id:
                    by_external[ref.external_id] = (kind, ref)
        seen: set[str] = set()
        batch: list[tuple[Kind, ExternalRef, dict]] = []
        for remote in iter_next_token(self.client, list_kind.list_path, items_key=list_kind.items_key, body={},
                                      max_results=PAGE, account_id=self.account_id):
            remote_id = str(remote[list_kind.id_key])
            entry = by_external.get(remote_id) or self._adopt(kinds, remote, remote_id, by_object)
            if entry is None:
                self.stats["foreign"] += 1  # not ours (made in Amazon's console): left alone
                continue
            seen.add(remote_id)
            batch.append((*entry, remote))
            if len(batch) >= PAGE:
                self._apply(batch)
                batch = []
        self._apply(batch)
        for remote_id, (kind, ref) in by_external.items():
            if remote_id not in seen and (ref.synced_values or {}).get("state") != ARCHIVED:  # removed by us
                self.stats["missing_on_amazon"] += 1
                self.rec.error(obj=f"{kind.name}:{ref.object_id}", code="MISSING_ON_AMAZON", failed=False,
                               message=f"{remote_id} is not in account {self.account_id} any more.")
        self.rec.save()

    def _adopt(self, kinds: list[Kind], remote: dict, remote_id: str, by_object) -> tuple[Kind, ExternalRef] | None:
        """An object carrying our externalId without a ref pointing at it: our create whose
        answer was lost. Adopt it, unless our object already has another Amazon id (a duplicate
        made outside this system's journal: reported, never silently merged)."""
        found = _OURS.match(str(remote.get("externalId") or ""))
        kind = KINDS_BY_NAME.get(found["kind"]) if found else None
        if kind is None or kind not in kinds:
            return None
        pk = int(found["pk"])
        if not kind.model.objects.filter(pk=pk, **{_TENANT[kind.name]: self.advertiser}).exists():
            return None
        ref = by_object.get((kind.name, pk))
        if ref is not None and ref.external_id:
            self.rec.error(obj=f"{kind.name}:{pk}", code="DUPLICATE_ON_AMAZON", failed=False,
                           message=f"Amazon {remote_id} carries our id, but we are synced with {ref.external_id}.")
            return None
        theirs = kind.theirs(remote, self.advertiser)
        if ref is None:
            ref = ExternalRef(content_type=content_type(kind), object_id=pk, advertiser=self.advertiser,
                              system=ExternalSystem.AMAZON_DSP, account_id=self.account_id)
        ref.external_id, ref.pending_since = remote_id, None
        set_base(ref, theirs)
        set_remote(ref, theirs, remote)
        if not self.dry_run:
            ref.save()
        by_object[(kind.name, pk)] = ref
        self.stats["adopted"] += 1
        return kind, ref

    def _apply(self, batch: list[tuple[Kind, ExternalRef, dict]]) -> None:
        if not batch:
            return
        self.rec.add_total(len(batch))
        objects: dict[tuple[str, int], object] = {}
        for kind in {k for k, _, _ in batch}:
            ids = [ref.object_id for k, ref, _ in batch if k is kind]
            for obj in kind.model.objects.filter(pk__in=ids).select_related(*_RELATED[kind.name]):
                objects[(kind.name, obj.pk)] = obj
        now = timezone.now()
        refs = []
        with transaction.atomic():
            for kind, ref, remote in batch:
                obj = objects.get((kind.name, ref.object_id))
                self.rec.done()
                if obj is None:
                    self.rec.error(obj=f"{kind.name}:{ref.object_id}", code="DELETED_HERE", failed=False,
                                   message=f"Deleted here; Amazon still has {ref.external_id}.")
                    continue
                theirs = kind.theirs(remote, self.advertiser)
                m = merge(kind, ref.synced_values or theirs, kind.ours(obj), theirs)
                if m.pull and not self.dry_run:
                    m = self._write_ours(kind, obj, ref, theirs, m)
                elif m.pull:
                    self.rec.count("updated")
                else:
                    self.rec.count("unchanged")
                self.rec.count("conflicts", len(m.conflicts))
                if self.dry_run:
                    continue
                for name, (b, o, t) in m.conflicts.items():
                    conflict_record(run=self.rec.run, ref=ref, name=name, base=b, ours=o, theirs=t)
                conflicts_close_settled(ref=ref, settled=m.converged)
                set_base(ref, m.base, now=now)
                set_remote(ref, theirs, remote, now=now)
                refs.append(ref)
            refs_save(refs)
            self.rec.save()

    def _write_ours(self, kind: Kind, obj, ref: ExternalRef, theirs: dict, m):
        """Apply Amazon's changes to the row re-read under a lock (an edit in the console between
        our read and our write is merged, not overwritten). Returns the merge as applied."""
        try:
            with transaction.atomic():
                locked = kind.model.objects.select_for_update().select_related(*_RELATED[kind.name]).get(pk=obj.pk)
                m = merge(kind, ref.synced_values or theirs, kind.ours(locked), theirs)
                for name, value in m.pull.items():
                    kind.apply(locked, name, value)
                entity_save(obj=locked, by=None, source="sync")
        except (ValidationError, NotApplicable) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            self.rec.error(obj=f"{kind.name}:{obj.pk}", code="NOT_APPLIED_HERE",
                           message=f"Amazon's {', '.join(sorted(m.pull))} could not be applied: {'; '.join(messages)}")
            m.pull = {}
            return m
        m.base.update(m.pull)
        self.rec.count("updated")
        return m
