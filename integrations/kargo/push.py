"""The Kargo part of a push, run by `Pusher.run` around the campaign/ad group push.

- `preflight()` runs before any request: every deal target of the line items in scope is checked
  (deal ended, not offered to the advertiser, not enabled, floor above the line item's max bid or
  in another currency, two guaranteed deals on one ad group). Any problem refuses the whole push:
  `KargoRefused` with every reason, and nothing is sent to Amazon.
- `push()` runs once ad groups exist: private-auction/preferred deals become `dealTarget` targets
  and a guaranteed deal the ad group's `targetingSettings.targetedPGDealId`; Kargo creatives of
  targeted deals become THIRD_PARTY ad creatives, associated with every ad group targeting their deal.

Never twice: each deal target and creative has an ExternalRef; a create is journaled
(`pending_since`) before it leaves, and a pending one is first looked up by our externalId.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from campaigns.choices import EntityState
from creatives.choices import CreativeStatus
from creatives.kargo.choices import TagType
from creatives.kargo.models import KargoCreative, KargoDealTarget
from creatives.kargo.selectors import BID_PROBLEMS, deal_target_problems
from integrations.amazon.dsp import deal_target, guaranteed_deal_patch
from integrations.amazon.errors import ClientError
from integrations.models import ExternalRef, ExternalSystem
from integrations.sync.mapping import LINE_ITEM, in_scope
from integrations.sync.values import external_id_for

TAG_TYPES = {TagType.HTML: "HTML", TagType.VAST_URL: "VAST_URL", TagType.VAST_XML: "VAST_XML"}


class KargoRefused(Exception):
    """Deal targeting that must not reach Amazon; nothing of the push was sent."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Kargo deal targeting refused, nothing pushed: " + " ".join(problems))


def third_party_payload(kc: KargoCreative, advertiser) -> dict:
    props: dict = {
        "adCreativeFormatType": "THIRD_PARTY",
        "thirdPartyTag": {"tagType": TAG_TYPES[kc.tag_type], "tagSource": kc.source},
        "trackingUrls": [{"type": "IMPRESSION", "url": u} for u in kc.impression_trackers]
                        + [{"type": "CLICK", "url": u} for u in kc.click_trackers],
    }
    if kc.tag_type == TagType.HTML:
        props["creativeSizes"] = [{"width": kc.width, "height": kc.height}]
    if kc.click_through_url:
        props["clickActions"] = [{"clickActionType": "URL", "urlDestination": kc.click_through_url}]
    return {"name": kc.name, "externalId": external_id_for("kargocreative", kc.pk), "language": "en",
            "country": advertiser.country or "US", "adCreativeFormatProperties": props}


class KargoTrafficker:
    def __init__(self, pusher):
        self.pusher = pusher
        self.rec, self.client, self.advertiser = pusher.rec, pusher.client, pusher.advertiser
        self.account_id, self.dry_run = pusher.account_id, pusher.dry_run
        self.targets = list(
            KargoDealTarget.objects.filter(line_item__in=in_scope(LINE_ITEM, self.advertiser))
            .exclude(line_item__status=EntityState.ARCHIVED)
            .select_related("deal", "line_item__campaign__advertiser").prefetch_related("deal__advertisers")
            .order_by("pk"))
        self.stats = {"deal_targets": 0, "guaranteed_deals": 0, "creatives": 0, "associations": 0}

    # --- before anything is sent --------------------------------------------------------------

    def preflight(self) -> None:
        """New deal targeting gets every check; targeting already on Amazon only the bid checks,
        so a deal that ends does not block the advertiser's pushes for good."""
        fresh = [t for t in self.targets if t.trafficked_at is None]
        sent = [t for t in self.targets if t.trafficked_at is not None]
        problems = deal_target_problems(targets=fresh) + deal_target_problems(targets=sent, only=BID_PROBLEMS)
        if not problems:
            return
        for target, message in problems:
            self.rec.error(obj=f"kargodealtarget:{target.pk}", code="KARGO_DEAL_REFUSED", message=message)
        raise KargoRefused([m for _, m in problems])

    # --- after the ad groups exist ------------------------------------------------------------

    def push(self) -> None:
        if not self.targets or self.dry_run:
            return
        ad_groups = self.pusher.remote_ids.get(LINE_ITEM.name, {})
        live = []
        for target in self.targets:
            if ad_groups.get(target.line_item_id):
                live.append(target)
            else:
                self.rec.error(obj=f"kargodealtarget:{target.pk}", code="PARENT_NOT_ON_AMAZON",
                               message=f"Line item {target.line_item_id} is not on Amazon; deal "
                                       f"{target.deal.deal_id} was not targeted.")
        self.rec.add_total(len(live))
        self._push_deal_targets(live, ad_groups)
        self._push_creatives(live, ad_groups)
        self.rec.run.stats["kargo"] = self.stats
        with transaction.atomic():
            self.rec.save()

    def _refs(self, model) -> dict[int, ExternalRef]:
        ct = ContentType.objects.get_for_model(model)
        return {r.object_id: r for r in ExternalRef.objects.filter(system=ExternalSystem.AMAZON_DSP, content_type=ct,
                                                                    advertiser=self.advertiser)}

    def _journal(self, model, obj) -> ExternalRef:
        ref, _ = ExternalRef.objects.update_or_create(
            system=ExternalSystem.AMAZON_DSP, content_type=ContentType.objects.get_for_model(model), object_id=obj.pk,
            defaults={"advertiser": self.advertiser, "account_id": self.account_id, "pending_since": timezone.now()})
        return ref

    def _settle(self, ref: ExternalRef, external_id: str) -> None:
        ref.external_id, ref.pending_since, ref.synced_at = external_id, None, timezone.now()
        ref.save(update_fields=["external_id", "pending_since", "synced_at"])

    def _push_deal_targets(self, targets: list[KargoDealTarget], ad_groups: dict) -> None:
        refs = self._refs(KargoDealTarget)
        existing_by_ext = self._remote_deal_targets(
            sorted({ad_groups[t.line_item_id] for t in targets if refs.get(t.pk) and refs[t.pk].pending_since}))
        for target in targets:
            ref = refs.get(target.pk)
            if ref is not None and ref.external_id:
                self.rec.count("unchanged")
                self.rec.done()
                continue
            ad_group_id, deal = ad_groups[target.line_item_id], target.deal
            external_id = external_id_for("kargodealtarget", target.pk)
            if ref is not None and external_id in existing_by_ext:  # an earlier attempt's create landed
                self._traffic(target, ref, existing_by_ext[external_id])
                continue
            ref = self._journal(KargoDealTarget, target)
            try:
                if deal.is_guaranteed:
                    result = self.client.update_ad_groups([guaranteed_deal_patch(ad_group_id, deal.deal_id)],
                                                          account_id=self.account_id)
                    remote_id = f"pg:{ad_group_id}:{deal.deal_id}" if result.ok else None
                else:
                    result = self.client.create_targets(
                        [deal_target(ad_group_id, deal.deal_id, deal.deal_type, external_id=external_id)],
                        account_id=self.account_id)
                    remote_id = result.ids("targetId").get(0)
            except ClientError as exc:
                ref.delete()
                self._fail(f"kargodealtarget:{target.pk}", exc.code or "REFUSED", exc.message, exc.request_id)
                continue
            if remote_id is None:
                ref.delete()
                entry = result.error[0] if result.error else {}
                self._fail(f"kargodealtarget:{target.pk}", entry.get("errorCode") or "REFUSED",
                           entry.get("errorMessage") or str(entry))
                continue
            self._traffic(target, ref, remote_id)
            self.stats["guaranteed_deals" if deal.is_guaranteed else "deal_targets"] += 1

    def _remote_deal_targets(self, ad_group_ids: list[str]) -> dict[str, str]:
        if not ad_group_ids:
            return {}
        found = {}
        for remote in self.client.iter_targets(account_id=self.account_id, adGroupIdFilter={"include": ad_group_ids}):
            if remote.get("externalId"):
                found[remote["externalId"]] = remote["targetId"]
        return found

    def _traffic(self, target: KargoDealTarget, ref: ExternalRef, remote_id: str) -> None:
        with transaction.atomic():
            self._settle(ref, remote_id)
            KargoDealTarget.objects.filter(pk=target.pk).update(trafficked_at=timezone.now())
            self.rec.count("created")
            self.rec.done()
            self.rec.save()

    def _fail(self, obj: str, code: str, message: str, request_id: str | None = None) -> None:
        self.rec.error(obj=obj, code=code, message=message, request_id=request_id)
        self.rec.done()

    def _push_creatives(self, targets: list[KargoDealTarget], ad_groups: dict) -> None:
        groups_of_deal: dict[int, set[str]] = defaultdict(set)
        for target in targets:
            if KargoDealTarget.objects.filter(pk=target.pk, trafficked_at__isnull=False).exists():
                groups_of_deal[target.deal_id].add(ad_groups[target.line_item_id])
        creatives = list(KargoCreative.objects.filter(advertiser=self.advertiser, deal_id__in=groups_of_deal)
                         .select_related("creative", "deal").order_by("pk"))
        self.rec.add_total(len(creatives))
        refs = self._refs(KargoCreative)
        for kc in creatives:
            if kc.creative_id and kc.creative.status != CreativeStatus.READY:
                why = kc.creative.rejection_reason or f"it is {kc.creative.status}"
                self._fail(f"kargocreative:{kc.pk}", "CREATIVE_NOT_READY",
                           f"Kargo creative {kc.pk} ({kc.name}) was not pushed: {why}")
                continue
            creative_id = self._ensure_creative(kc, refs.get(kc.pk))
            if creative_id is None:
                continue
            self._associate(kc, creative_id, sorted(groups_of_deal[kc.deal_id]))
            self.rec.done()

    def _ensure_creative(self, kc: KargoCreative, ref: ExternalRef | None) -> str | None:
        if ref is not None and ref.external_id:
            return ref.external_id
        external_id = external_id_for("kargocreative", kc.pk)
        if ref is not None:  # a create in doubt: look for it before sending it again
            for remote in self.client.iter_ad_creatives(account_id=self.account_id):
                if remote.get("externalId") == external_id:
                    self._creative_done(kc, ref, remote["adCreativeId"])
                    return remote["adCreativeId"]
        ref = self._journal(KargoCreative, kc)
        try:
            creative_id = self.client.create_third_party_creative(third_party_payload(kc, self.advertiser),
                                                                  account_id=self.account_id)
        except ClientError as exc:
            if not ExternalRef.objects.filter(pk=ref.pk, external_id__isnull=False).exists():
                ref.delete()
            self._fail(f"kargocreative:{kc.pk}", exc.code or "REFUSED", exc.message, exc.request_id)
            return None
        self._creative_done(kc, ref, creative_id)
        self.rec.count("created")
        self.stats["creatives"] += 1
        return creative_id

    def _creative_done(self, kc: KargoCreative, ref: ExternalRef, creative_id: str) -> None:
        with transaction.atomic():
            self._settle(ref, creative_id)
            KargoCreative.objects.filter(pk=kc.pk).update(trafficked_at=timezone.now())
            self.rec.save()

    def _associate(self, kc: KargoCreative, creative_id: str, ad_group_ids: list[str]) -> None:
        have = {a["adGroupId"] for a in self.client.iter_associations(
            account_id=self.account_id, adCreativeIdFilter={"include": [creative_id]})}
        wanted = [g for g in ad_group_ids if g not in have]
        if not wanted:
            return
        result = self.client.associate_creatives(
            [{"adCreativeId": creative_id, "adGroupId": g, "state": "ACTIVE"} for g in wanted],
            account_id=self.account_id)
        self.stats["associations"] += len(result.success)
        for entry in result.error:
            self.rec.error(obj=f"kargocreative:{kc.pk}", code=str(entry.get("code") or "REFUSED"),
                           message=f"Association with ad group {entry.get('adGroupId')}: {entry.get('description')}")


def kargo_dirty_count(*, advertiser) -> int:
    """Kargo deal targets and creatives of live line items not on Amazon yet (no request made)."""
    targets = KargoDealTarget.objects.filter(line_item__in=in_scope(LINE_ITEM, advertiser))
    pending = targets.filter(trafficked_at__isnull=True).count()
    return pending + KargoCreative.objects.filter(
        advertiser=advertiser, trafficked_at__isnull=True, deal__in=targets.values("deal")).count()
