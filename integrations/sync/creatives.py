"""The creatives part of a push, run by `Pusher.run` once the ad groups exist.

What goes: the renditions of ready creatives assigned to line items on Amazon (Kargo creatives
are trafficked by integrations.kargo instead). One rendition is one DSP ad creative:
- a file (display image, video) goes through the asset library: upload → PUT the bytes to the
  presigned URL → register → PROCESSING → ACTIVE (polled for all renditions at once, beating the
  run's heartbeat), then a DISPLAY or VIDEO ad creative on the asset;
- a third-party tag or VAST URL becomes a THIRD_PARTY ad creative (as Kargo's are);
then its ad experience is set, and every assignment becomes a creative ↔ ad group association,
20 per call.

Never twice: every rendition and assignment has an ExternalRef journaled before its create
leaves. A rendition's ref records each step Amazon confirmed (remote_values: the asset and its
status, "createSent" before the ad creative's POST). A create whose answer was lost (5xx,
timeout, killed worker) is looked up by our externalId before it is sent again. An association
sent twice answers ENTITY_ALREADY_EXISTS, which is what we wanted, so associations are simply
re-sent. The one thing Amazon lets us find no other way is an asset whose register answer was
lost: it stays in the library unused (an asset is not served, a creative is); docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from campaigns.choices import EntityState
from creatives.choices import CreativeKind, CreativeStatus, Delivery
from creatives.models import Rendition, RenditionAssignment
from integrations.amazon import limits
from integrations.amazon.errors import ClientError, ServerError, ThrottledError, TransportError
from integrations.amazon.retry import NO_RETRIES
from integrations.models import ExternalRef, ExternalSystem
from integrations.sync.lookup import chunks
from integrations.sync.mapping import LINE_ITEM, in_scope
from integrations.sync.merge import REF_FIELDS, refs_save, set_base, set_remote
from integrations.sync.values import error_code, error_message, external_id_for, values_hash

ASSET_FILES = {"jpeg": ("jpg", "image/jpeg", "IMAGE"), "png": ("png", "image/png", "IMAGE"),
               "gif": ("gif", "image/gif", "IMAGE"), "mp4": ("mp4", "video/mp4", "VIDEO")}
FORMAT_TYPE = {CreativeKind.DISPLAY: "DISPLAY", CreativeKind.VIDEO: "VIDEO"}
EXPERIENCES = {"DISPLAY": ["STANDARD_DISPLAY"], "VIDEO": ["ONLINE_VIDEO"]}
ALREADY_THERE = "ENTITY_ALREADY_EXISTS"
NEW = "(new)"


def rendition_ours(rendition: Rendition) -> dict:
    """What the ad creative is made of: a change here (a re-render, a renamed creative) is an
    update of the ad creative on Amazon."""
    creative = rendition.creative
    content = rendition.file.name if rendition.file else creative.sha256
    return {"name": _name(rendition), "format": rendition.format, "width": rendition.width,
            "height": rendition.height, "content": content, "size": rendition.size_bytes}


def _name(rendition: Rendition) -> str:
    size = f" {rendition.width}x{rendition.height}" if rendition.width and rendition.height else ""
    return f"{rendition.creative.name}{size}"[:255]


def unsupported(rendition: Rendition) -> str | None:
    """Why Amazon's creative API cannot take this rendition, or None."""
    creative = rendition.creative
    if creative.delivery != Delivery.FILE:
        return None
    if creative.kind not in FORMAT_TYPE:
        return f"Amazon DSP ad creatives have no {creative.kind} format; the rendition was not pushed."
    if rendition.format not in ASSET_FILES:
        return f"The asset library does not take {rendition.format} files (jpg, png, gif, mp4 only)."
    return None


def creative_payload(rendition: Rendition, asset: dict | None) -> dict:
    """The POST /dsp/v1/adCreatives body (and, less the ids, a PATCH that replaces its content)."""
    creative = rendition.creative
    base = {"name": _name(rendition), "externalId": external_id_for("rendition", rendition.pk), "language": "en",
            "country": creative.advertiser.country or "US", "adChoicesPosition": "TOP_RIGHT"}
    if creative.delivery == Delivery.FILE:
        kind = FORMAT_TYPE[creative.kind]
        props: dict = {"adCreativeFormatType": kind,
                       "assets": [{"assetId": asset["assetId"], "assetVersion": asset["assetVersion"]}]}
        if kind == "DISPLAY":
            props["creativeSizes"] = [{"width": rendition.width, "height": rendition.height}]
            props["assets"][0]["applyBorder"] = True
        return {**base, "adCreativeFormatProperties": props}
    if creative.delivery == Delivery.TAG:
        tag = {"tagType": "HTML", "tagSource": creative.third_party_tag}
        sizes = [{"width": rendition.width or creative.width, "height": rendition.height or creative.height}]
        props = {"adCreativeFormatType": "THIRD_PARTY", "thirdPartyTag": tag, "creativeSizes": sizes}
    else:
        props = {"adCreativeFormatType": "THIRD_PARTY", "thirdPartyTag": {"tagType": "VAST_URL",
                                                                          "tagSource": creative.vast_url}}
    return {**base, "adCreativeFormatProperties": props}


def experiences(rendition: Rendition) -> list[str]:
    creative = rendition.creative
    if creative.delivery == Delivery.FILE:
        return EXPERIENCES[FORMAT_TYPE[creative.kind]]
    video = creative.delivery == Delivery.VAST or creative.kind == CreativeKind.VIDEO
    return ["THIRD_PARTY_VIDEO" if video else "THIRD_PARTY_DISPLAY"]


def assignments_in_scope(advertiser):
    """Assignments of ready, non-Kargo creatives to live DSP line items of the advertiser."""
    return (RenditionAssignment.objects
            .filter(line_item__in=in_scope(LINE_ITEM, advertiser), rendition__creative__advertiser=advertiser,
                    rendition__creative__status=CreativeStatus.READY)
            .exclude(line_item__status=EntityState.ARCHIVED)
            .exclude(rendition__creative__kargo_creatives__isnull=False)
            .select_related("rendition__creative__advertiser")
            .order_by("rendition_id", "line_item_id"))


@dataclass
class Work:
    rendition: Rendition
    ref: ExternalRef | None
    ours: dict
    hash: str

    @property
    def asset_key(self) -> str:
        """What the asset is made of: a new name alone updates the ad creative, not its asset."""
        return values_hash({k: self.ours[k] for k in ("content", "size", "format")})


class CreativePusher:
    """Needs the Pusher's client, recorder, advertiser, account, `remote_ids` and `_wait`."""

    def __init__(self, pusher):
        self.pusher = pusher
        self.rec, self.client, self.advertiser = pusher.rec, pusher.client, pusher.advertiser
        self.account_id, self.dry_run = pusher.account_id, pusher.dry_run
        self.stats = {"assets": 0, "creatives": 0, "creatives_updated": 0, "associations": 0}
        self._remote_creatives: dict[str, str] | None = None
        self._unsupported: set[int] = set()

    # --- driver ---------------------------------------------------------------------------------

    def push(self) -> None:
        assignments = list(assignments_in_scope(self.advertiser))
        if not assignments:
            return
        self.rec.add_total(len({a.rendition_id for a in assignments}) + len(assignments))
        self.rendition_ct = ContentType.objects.get_for_model(Rendition)
        self.assignment_ct = ContentType.objects.get_for_model(RenditionAssignment)
        refs = self._refs(self.rendition_ct)
        work: dict[int, Work] = {}
        for a in assignments:
            if a.rendition_id not in work:
                ours = rendition_ours(a.rendition)
                work[a.rendition_id] = Work(a.rendition, refs.get(a.rendition_id), ours, values_hash(ours))
        creatives = self._push_renditions(list(work.values()))
        self._push_associations(assignments, creatives)
        self.rec.run.stats["creatives"] = self.stats
        with transaction.atomic():
            self.rec.save()

    def _refs(self, content_type) -> dict[int, ExternalRef]:
        return {r.object_id: r for r in ExternalRef.objects.filter(
            system=ExternalSystem.AMAZON_DSP, content_type=content_type, advertiser=self.advertiser)}

    def _fail(self, obj: str, code: str, message: str, request_id: str | None = None, *, failed: bool = True) -> None:
        self.rec.error(obj=obj, code=code, message=message, request_id=request_id, failed=failed)
        self.rec.done()

    # --- renditions → ad creatives ----------------------------------------------------------------

    def _push_renditions(self, work: list[Work]) -> dict[int, str]:
        """rendition pk → Amazon ad creative id, for those on Amazon after this step."""
        on_amazon, todo = {}, []
        for w in work:
            label = f"rendition:{w.rendition.pk}"
            problem = unsupported(w.rendition)
            if problem:
                self._unsupported.add(w.rendition.pk)
                self._fail(label, "NOT_SUPPORTED", problem, failed=False)
            elif w.ref is not None and w.ref.external_id and w.ref.synced_hash == w.hash:
                on_amazon[w.rendition.pk] = w.ref.external_id
                self.rec.count("unchanged")
                self.rec.done()
            else:
                todo.append(w)
        if self.dry_run:
            for w in todo:
                self.rec.count("updated" if w.ref is not None and w.ref.external_id else "created")
                on_amazon[w.rendition.pk] = (w.ref.external_id if w.ref is not None and w.ref.external_id else NEW)
            self.rec.done(len(todo))
            return on_amazon
        self._journal(todo)
        files = [w for w in todo if w.rendition.creative.delivery == Delivery.FILE]
        self._upload_assets([w for w in files if (w.ref.remote_values or {}).get("assetFor") != w.asset_key])
        ready = self._wait_for_assets([w for w in files
                                       if (w.ref.remote_values or {}).get("assetFor") == w.asset_key])
        ready += [w for w in todo if w.rendition.creative.delivery != Delivery.FILE]
        for w in sorted(ready, key=lambda w: w.rendition.pk):
            self._ensure_creative(w)
        for w in todo:  # an update that failed leaves the previous ad creative serving: still associate
            if w.ref is not None and w.ref.external_id:
                on_amazon[w.rendition.pk] = w.ref.external_id
        return on_amazon

    def _journal(self, todo: list[Work]) -> None:
        now, new = timezone.now(), []
        for w in todo:
            if w.ref is None:
                w.ref = ExternalRef(content_type=self.rendition_ct, object_id=w.rendition.pk,
                                    advertiser=self.advertiser, system=ExternalSystem.AMAZON_DSP,
                                    account_id=self.account_id, pending_since=now, remote_values={})
                new.append(w.ref)
        with transaction.atomic():
            ExternalRef.objects.bulk_create(new)
            self.rec.save()

    def _save(self, w: Work, **remote) -> None:
        w.ref.remote_values = {**(w.ref.remote_values or {}), **remote}
        with transaction.atomic():
            w.ref.save(update_fields=REF_FIELDS)
            self.rec.save()

    def _upload_assets(self, todo: list[Work]) -> None:
        for w in todo:
            extension, content_type, asset_type = ASSET_FILES[w.rendition.format]
            with w.rendition.file.open("rb") as handle:
                content = handle.read()
            try:
                asset = self.client.upload_asset(
                    file_name=f"adops-rendition-{w.rendition.pk}.{extension}", content=content,
                    content_type=content_type, name=external_id_for("rendition", w.rendition.pk),
                    asset_type=asset_type, sub_types=("OTHER_IMAGE",) if asset_type == "IMAGE" else ("BACKGROUND_VIDEO",),
                    account_id=self.account_id)
            except ClientError as exc:
                self._fail(f"rendition:{w.rendition.pk}", exc.code or "ASSET_REFUSED", exc.message, exc.request_id)
                continue
            self.stats["assets"] += 1
            self._save(w, assetId=asset["assetId"], assetVersion=asset["versionId"], assetFor=w.asset_key,
                       assetStatus="PROCESSING")

    def _wait_for_assets(self, todo: list[Work]) -> list[Work]:
        """Poll every asset still processing, round after round (Amazon takes up to ~30 min);
        the run's heartbeat beats each round. Returns the renditions whose asset is ACTIVE."""
        interval = float(settings.AMAZON_ASSET_POLL_SECONDS)
        deadline = self.client.clock() + float(settings.AMAZON_ASSET_MAX_WAIT_SECONDS)
        ready = [w for w in todo if w.ref.remote_values.get("assetStatus") == "ACTIVE"]
        waiting = [w for w in todo if w.ref.remote_values.get("assetStatus") != "ACTIVE"]
        while waiting:
            still = []
            for w in waiting:
                values = w.ref.remote_values
                try:
                    status = self.client.asset_status(values["assetId"], values["assetVersion"],
                                                      account_id=self.account_id)
                except ClientError as exc:
                    status = exc.code or "NOT_FOUND"
                if status == "ACTIVE":
                    self._save(w, assetStatus="ACTIVE")
                    ready.append(w)
                elif status in ("PROCESSING", None):
                    still.append(w)
                else:  # rejected: forget the asset, so a later run uploads the rendition afresh
                    self._save(w, assetFor=None, assetStatus=status)
                    self._fail(f"rendition:{w.rendition.pk}", "ASSET_NOT_ACTIVE",
                               f"Amazon's asset library ended the upload {status}.")
            waiting = still
            if waiting:
                if self.client.clock() + interval > deadline:
                    for w in waiting:  # left as they are: the next run polls them again
                        self._fail(f"rendition:{w.rendition.pk}", "ASSET_STILL_PROCESSING",
                                   "Amazon is still processing the asset; the next push continues.", failed=False)
                    break
                self.client.sleep(interval)
                self.rec.beat()
        return ready

    def _ensure_creative(self, w: Work) -> str | None:
        """The ad creative for a rendition whose asset (if any) is ready: created, or updated when
        the rendition changed, then given its ad experience. Its id, or None when it failed."""
        label, values = f"rendition:{w.rendition.pk}", w.ref.remote_values or {}
        asset = values if w.rendition.creative.delivery == Delivery.FILE else None
        payload = creative_payload(w.rendition, asset)
        created = False
        if not w.ref.external_id and values.get("createSent"):
            found = self._find_creative(payload["externalId"])
            if found:
                self._attach(w, found)
                created = True
        if not w.ref.external_id:
            creative_id = self._create(w, payload)
            if creative_id is None:
                return None
            created = True
        elif not created and values.get("creativeFor") != w.hash:
            try:
                self.client.update_ad_creative(w.ref.external_id, {k: v for k, v in payload.items() if k != "externalId"},
                                               account_id=self.account_id)
            except ClientError as exc:
                self._fail(label, exc.code or "REFUSED", exc.message, exc.request_id)
                return None
            self._save(w, creativeFor=w.hash)
        try:
            self.client.set_ad_experiences(w.ref.external_id, experiences(w.rendition), account_id=self.account_id)
        except ClientError as exc:
            self._fail(label, exc.code or "REFUSED", f"Ad experience: {exc.message}", exc.request_id)
            return None
        fresh = not w.ref.synced_hash
        set_base(w.ref, w.ours)
        # remote_values keeps what Amazon told us of the asset: the next change of name reuses it.
        w.ref.pending_since, w.ref.remote_seen_at = None, timezone.now()
        self._save(w)
        self.rec.count("created" if fresh else "updated")
        self.stats["creatives" if fresh else "creatives_updated"] += 1
        self.rec.done()
        return w.ref.external_id

    def _create(self, w: Work, payload: dict) -> str | None:
        """POST one ad creative without the client's retry: after a 5xx or a lost connection the
        answer is unknown, so it is looked up by externalId before being sent again."""
        self._save(w, createSent=True)
        attempt, started = 0, self.client.clock()
        while True:
            attempt += 1
            try:
                answer = self.client.request("POST", "/dsp/v1/adCreatives", json=payload, account_id=self.account_id,
                                             retry=NO_RETRIES).body
            except ThrottledError as exc:
                self.pusher._wait(exc, attempt, started)
                continue
            except (ServerError, TransportError) as exc:
                self.pusher._wait(exc, attempt, started)
                self._remote_creatives = None  # read afresh: it may have landed meanwhile
                found = self._find_creative(payload["externalId"])
                if found:
                    self._attach(w, found)
                    return found
                continue
            except ClientError as exc:
                self._save(w, createSent=False)
                self._fail(f"rendition:{w.rendition.pk}", exc.code or "REFUSED", exc.message, exc.request_id)
                return None
            self._attach(w, str(answer["adCreativeId"]))
            return w.ref.external_id

    def _attach(self, w: Work, creative_id: str) -> None:
        w.ref.external_id = creative_id
        self._save(w, createSent=False, creativeFor=w.hash)

    def _find_creative(self, external_id: str) -> str | None:
        """An ad creative of ours on Amazon by its externalId (Amazon's list has no externalId
        filter: the account's creatives are read once per run, only when a create is in doubt)."""
        if self._remote_creatives is None:
            self._remote_creatives = {c.get("externalId"): str(c["adCreativeId"]) for c in self.client.iter_ad_creatives(
                page_size=limits.LIST_PAGE_MAX, account_id=self.account_id) if c.get("externalId")}
        return self._remote_creatives.get(external_id)

    # --- assignments → associations ---------------------------------------------------------------

    def _push_associations(self, assignments: list, creatives: dict[int, str]) -> None:
        ad_groups = self.pusher.remote_ids.get(LINE_ITEM.name, {})
        refs = self._refs(self.assignment_ct)
        send = []
        for a in assignments:
            ref = refs.get(a.pk)
            if ref is not None and ref.external_id:
                self.rec.count("unchanged")
                self.rec.done()
            elif a.rendition_id in self._unsupported:
                self._fail(f"assignment:{a.pk}", "NOT_SUPPORTED", f"Rendition {a.rendition_id} cannot go to Amazon.",
                           failed=False)
            elif a.rendition_id not in creatives:
                self._fail(f"assignment:{a.pk}", "CREATIVE_NOT_ON_AMAZON",
                           f"Rendition {a.rendition_id} is not on Amazon; not associated with line item {a.line_item_id}.")
            elif not ad_groups.get(a.line_item_id):
                self._fail(f"assignment:{a.pk}", "PARENT_NOT_ON_AMAZON",
                           f"Line item {a.line_item_id} is not on Amazon; rendition {a.rendition_id} not associated.")
            else:
                send.append((a, ref))
        if self.dry_run:
            self.rec.count("created", len(send))
            self.rec.done(len(send))
            return
        send = self._journal_associations(send)
        for batch in chunks(send, limits.ASSOCIATIONS_PER_WRITE):
            self._associate(batch, creatives, ad_groups)

    def _journal_associations(self, send: list) -> list[tuple]:
        now, new = timezone.now(), []
        out = []
        for a, ref in send:
            if ref is None:
                ref = ExternalRef(content_type=self.assignment_ct, object_id=a.pk, advertiser=self.advertiser,
                                  system=ExternalSystem.AMAZON_DSP, account_id=self.account_id, pending_since=now)
                new.append(ref)
            out.append((a, ref))
        with transaction.atomic():
            ExternalRef.objects.bulk_create(new)
            self.rec.save()
        return out

    def _associate(self, batch: list[tuple], creatives: dict[int, str], ad_groups: dict[int, str]) -> None:
        """One call of ≤ 20. The client's own retry is fine: an association sent twice is
        ENTITY_ALREADY_EXISTS, which means it is there."""
        remaining, attempt, started = list(batch), 0, self.client.clock()
        while remaining:
            attempt += 1
            items = [{"adCreativeId": creatives[a.rendition_id], "adGroupId": ad_groups[a.line_item_id],
                      "state": "ACTIVE"} for a, _ in remaining]
            try:
                result = self.client.associate_creatives(items, account_id=self.account_id)
            except ClientError as exc:
                self._associations_refused([(a, ref, exc.code or "REFUSED", exc.message) for a, ref in remaining])
                return
            done = [remaining[s["index"]] for s in result.success]
            retry, refused = [], []
            for entry in result.error:
                pair, code = remaining[entry["index"]], error_code(entry)
                if code == ALREADY_THERE:
                    done.append(pair)
                elif code in limits.TRANSIENT_ITEM_ERRORS:
                    retry.append(pair)
                else:
                    refused.append((*pair, code, error_message(entry)))
            now = timezone.now()
            for a, ref in done:
                ref.external_id = f"{creatives[a.rendition_id]}:{ad_groups[a.line_item_id]}"
                ref.pending_since = None
                set_base(ref, {"state": "ACTIVE"}, now=now)
                set_remote(ref, {"state": "ACTIVE"}, now=now)
            self.rec.count("created", len(done))
            self.rec.done(len(done))
            self.stats["associations"] += len(done)
            with transaction.atomic():
                refs_save([ref for _, ref in done])
                self._associations_refused(refused)
                self.rec.save()
            remaining = retry
            if remaining:
                self.pusher._wait(None, attempt, started)

    def _associations_refused(self, refused: list[tuple]) -> None:
        if not refused:
            return
        ExternalRef.objects.filter(pk__in=[ref.pk for _, ref, _, _ in refused], external_id__isnull=True).delete()
        for a, _, code, message in refused:
            self._fail(f"assignment:{a.pk}", code, f"Association with line item {a.line_item_id}: {message}")


def creatives_dirty_count(*, advertiser) -> int:
    """Renditions and assignments a push would send (no request made). What Amazon cannot take
    (audio) is not counted: a push would only report it again."""
    assignments = [a for a in assignments_in_scope(advertiser) if not unsupported(a.rendition)]
    if not assignments:
        return 0
    rendition_refs = {r.object_id: (r.external_id, r.synced_hash) for r in ExternalRef.objects.filter(
        system=ExternalSystem.AMAZON_DSP, content_type=ContentType.objects.get_for_model(Rendition),
        advertiser=advertiser)}
    synced_assignments = set(ExternalRef.objects.filter(
        system=ExternalSystem.AMAZON_DSP, content_type=ContentType.objects.get_for_model(RenditionAssignment),
        advertiser=advertiser, external_id__isnull=False).values_list("object_id", flat=True))
    renditions = {a.rendition_id: a.rendition for a in assignments}
    dirty = sum(1 for a in assignments if a.pk not in synced_assignments)
    for rendition_id, rendition in renditions.items():
        external_id, synced = rendition_refs.get(rendition_id, (None, ""))
        dirty += not (external_id and synced == values_hash(rendition_ours(rendition)))
    return dirty
