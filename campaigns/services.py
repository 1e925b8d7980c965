"""Writes to the campaign tree: validation, archive rules, status changes, duplication and the
budget/bid history, in one place for the API, the admin, rules and bulk sheets alike."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from backend.db_rows import insert_instances
from campaigns.choices import CampaignStatus, EntityState
from campaigns.models import (
    ArchivedError,
    Campaign,
    ChangeRecord,
    Keyword,
    LineItem,
    ProductAd,
    ProductTarget,
)

# Money fields whose every change is recorded (who, when, old → new).
TRACKED_FIELDS: dict[type, tuple[str, ...]] = {
    Campaign: ("daily_budget", "total_budget", "target_roas"),
    LineItem: ("default_bid", "budget"),
    Keyword: ("bid",),
    ProductTarget: ("bid",),
}
# Changing these needs a manager; everything else a trader.
BUDGET_FIELDS: dict[type, tuple[str, ...]] = {
    Campaign: ("daily_budget", "total_budget"),
    LineItem: ("budget",),
}


def _status_field(obj: models.Model) -> str:
    return "status" if isinstance(obj, (Campaign, LineItem)) else "state"


def _is_archived(obj: models.Model) -> bool:
    return getattr(obj, _status_field(obj)) == EntityState.ARCHIVED


def _parents(obj: models.Model) -> list[models.Model]:
    if isinstance(obj, LineItem):
        return [obj.campaign]
    if isinstance(obj, (Keyword, ProductAd, ProductTarget)):
        return [obj.line_item, obj.line_item.campaign]
    return []


def _advertiser_id(obj: models.Model) -> int:
    if isinstance(obj, Campaign):
        return obj.advertiser_id
    if isinstance(obj, LineItem):
        return obj.campaign.advertiser_id
    return obj.line_item.campaign.advertiser_id


def history_records(*, obj: models.Model, before: dict, by, source: str) -> list[ChangeRecord]:
    """ChangeRecords for the tracked fields of `obj` that differ from `before` (unsaved)."""
    records = []
    for field in TRACKED_FIELDS.get(type(obj), ()):
        old, new = before.get(field), getattr(obj, field)
        if old != new:
            records.append(
                ChangeRecord(
                    advertiser_id=_advertiser_id(obj),
                    object_type=type(obj)._meta.model_name,
                    object_id=obj.pk,
                    field=field,
                    old_value="" if old is None else str(old),
                    new_value="" if new is None else str(new),
                    changed_by=by if getattr(by, "pk", None) else None,
                    source=source,
                )
            )
    return records


def changed_fields(obj: models.Model) -> set[str]:
    """Concrete fields of `obj` that differ from the stored row (all of them for a new object)."""
    names = [f.attname for f in obj._meta.concrete_fields if not f.primary_key]
    if obj.pk is None:
        return set(names)
    stored = type(obj)._default_manager.filter(pk=obj.pk).values(*names).first() or {}
    return {name for name in names if stored.get(name) != getattr(obj, name)}


def _snapshot(obj: models.Model) -> dict:
    if obj.pk is None:
        return {}
    fields = TRACKED_FIELDS.get(type(obj), ()) + (_status_field(obj),)
    return type(obj)._default_manager.filter(pk=obj.pk).values(*fields).first() or {}


@transaction.atomic
def entity_save(*, obj: models.Model, by=None, source: str = "console") -> models.Model:
    """Validate and save any object of the tree; refuse changes to or under archived objects;
    record budget and bid changes. Raises ValidationError with field messages."""
    before = _snapshot(obj)
    if before and before.get(_status_field(obj)) == EntityState.ARCHIVED:
        raise ArchivedError("Archived entity cannot be modified.")
    for parent in _parents(obj):
        if _is_archived(parent):
            raise ArchivedError(f"Cannot change a child of archived {type(parent)._meta.verbose_name} {parent}.")
    obj.full_clean()
    obj.save()
    ChangeRecord.objects.bulk_create(history_records(obj=obj, before=before, by=by, source=source))
    return obj


def _children_of_campaigns(campaign_ids) -> list[models.QuerySet]:
    line_items = LineItem.objects.filter(campaign_id__in=campaign_ids)
    return [
        Keyword.objects.filter(line_item__in=line_items),
        ProductAd.objects.filter(line_item__in=line_items),
        ProductTarget.objects.filter(line_item__in=line_items),
    ]


# The writes below are all or nothing through transaction.atomic(savepoint=False): alone, they run
# in a transaction of their own; inside a caller's, they join it without a savepoint (two more
# round trips, for every rule that pauses or bids), and a failure in them dooms the caller's
# transaction, which is what all or nothing means there too. What can be refused is checked before
# anything is written, so a refusal leaves the caller's transaction usable.
_ALL_OR_NOTHING = transaction.atomic(savepoint=False)


@_ALL_OR_NOTHING
def campaigns_set_status(*, campaigns: Iterable[Campaign], status: str, by=None) -> int:
    """Pause, enable or archive campaigns; archived ones are skipped (archived is final).

    Archiving cascades: nothing stays live under an archived campaign. Returns how many changed.
    """
    ids = [c.pk for c in campaigns]
    queryset = Campaign.objects.filter(pk__in=ids).exclude(status=CampaignStatus.ARCHIVED)
    if status == CampaignStatus.ARCHIVED:
        archivable = list(queryset.values_list("pk", flat=True))
        LineItem.objects.filter(campaign_id__in=archivable).update(status=EntityState.ARCHIVED)
        for children in _children_of_campaigns(archivable):
            children.update(state=EntityState.ARCHIVED)
    return queryset.exclude(status=status).update(status=status)


@_ALL_OR_NOTHING
def entities_set_state(*, objects: Iterable[models.Model], state: str, by=None) -> int:
    """Pause/enable/archive line items, keywords, product ads or targets; archived ones stay."""
    changed: dict[tuple[type, str], list[int]] = {}
    for obj in objects:
        field = _status_field(obj)
        if _is_archived(obj) or getattr(obj, field) == state:
            continue
        if any(_is_archived(parent) for parent in _parents(obj)):
            continue
        setattr(obj, field, state)
        changed.setdefault((type(obj), field), []).append(obj.pk)
        if isinstance(obj, LineItem) and state == EntityState.ARCHIVED:
            for children in (obj.keywords, obj.product_ads, obj.product_targets):
                children.update(state=EntityState.ARCHIVED)
    # One UPDATE per model, not per object: rules pause or enable several ads at once.
    for (model, field), pks in changed.items():
        model.objects.filter(pk__in=pks).update(**{field: state})
    return sum(len(pks) for pks in changed.values())


_NOT_COPIED = {"id", "created_at", "updated_at"}


def _copy_fields(obj: models.Model, **overrides) -> dict:
    fields = {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.name not in _NOT_COPIED and f.attname not in _NOT_COPIED
    }
    return {**fields, **overrides}


@transaction.atomic
def campaign_duplicate(*, campaign: Campaign, by=None, name: str | None = None) -> Campaign:
    """Deep copy of a campaign and its tree, as a draft. Archived children are not copied."""
    copy_name = name or f"{campaign.name} (copy)"[: Campaign._meta.get_field("name").max_length]
    copy = Campaign(**_copy_fields(campaign, name=copy_name, status=CampaignStatus.DRAFT))
    copy.full_clean()
    copy.save()
    ChangeRecord.objects.bulk_create(history_records(obj=copy, before={}, by=by, source="duplicate"))
    live = ~models.Q(status=EntityState.ARCHIVED)
    for line_item in campaign.line_items.filter(live).prefetch_related("keywords", "product_ads", "product_targets"):
        new_item = LineItem.objects.create(**_copy_fields(line_item, campaign_id=copy.pk))
        history = history_records(obj=new_item, before={}, by=by, source="duplicate")
        keywords = Keyword.objects.bulk_create(
            [Keyword(**_copy_fields(k, line_item_id=new_item.pk)) for k in line_item.keywords.all() if k.state != EntityState.ARCHIVED]
        )
        ProductAd.objects.bulk_create(
            [ProductAd(**_copy_fields(p, line_item_id=new_item.pk)) for p in line_item.product_ads.all() if p.state != EntityState.ARCHIVED]
        )
        targets = ProductTarget.objects.bulk_create(
            [ProductTarget(**_copy_fields(t, line_item_id=new_item.pk)) for t in line_item.product_targets.all() if t.state != EntityState.ARCHIVED]
        )
        for child in [*keywords, *targets]:
            child.line_item = new_item
            history += history_records(obj=child, before={}, by=by, source="duplicate")
        ChangeRecord.objects.bulk_create(history)
    return copy


_MAX_ID = 2**63 - 1


@dataclass
class BidChange:
    keyword_id: object
    bid: object


class BulkBidError(Exception):
    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors


def _parse_bid(value) -> Decimal:
    if isinstance(value, (bool, float)) or value is None:
        raise ValueError("A bid is a decimal number (send it as a string or an exact JSON number).")
    try:
        bid = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number.") from None
    if not bid.is_finite():
        raise ValueError("A bid must be a finite number.")
    return bid


@transaction.atomic
def keyword_bids_set(*, keywords: models.QuerySet, changes: list[BidChange], by=None, source: str = "api") -> list[Keyword]:
    """Set many keyword bids at once, all or nothing.

    `keywords` is the caller's visible queryset: ids outside it are "not found", exactly like ids
    that do not exist. Raises BulkBidError with one entry per failing item; nothing is written then.
    """
    errors: list[dict] = []
    ids: list[int] = []
    valid_indexes = set()
    seen: set[int] = set()
    for index, change in enumerate(changes):
        keyword_id = change.keyword_id
        if isinstance(keyword_id, bool) or not isinstance(keyword_id, int) or not 1 <= keyword_id <= _MAX_ID:
            errors.append({"index": index, "keyword_id": keyword_id, "errors": ["keyword_id must be a positive integer."]})
        elif keyword_id in seen:
            errors.append({"index": index, "keyword_id": keyword_id, "errors": ["Duplicate keyword_id in this request."]})
        else:
            seen.add(keyword_id)
            ids.append(keyword_id)
            valid_indexes.add(index)
    found = {
        k.pk: k
        for k in keywords.filter(pk__in=ids).select_related("line_item__campaign__advertiser").select_for_update(of=("self",))
    }
    updated = []
    records = []
    for index, change in enumerate(changes):
        if index not in valid_indexes:
            continue
        keyword = found.get(change.keyword_id)
        if keyword is None:
            errors.append({"index": index, "keyword_id": change.keyword_id, "errors": ["Not found."]})
            continue
        try:
            bid = _parse_bid(change.bid)
        except ValueError as exc:
            errors.append({"index": index, "keyword_id": change.keyword_id, "errors": [str(exc)]})
            continue
        before = {"bid": keyword.bid}
        keyword.bid = bid
        keyword.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
        try:
            if _is_archived(keyword) or any(_is_archived(p) for p in _parents(keyword)):
                raise ArchivedError("Archived entity cannot be modified.")
            # Field checks and the row rules, without full_clean's per-row uniqueness queries:
            # 1,000 items stay a handful of statements.
            keyword.clean_fields(exclude=["line_item"])
            keyword.clean()
        except ValidationError as exc:
            messages = [m for ms in exc.message_dict.values() for m in ms] if hasattr(exc, "error_dict") else exc.messages
            errors.append({"index": index, "keyword_id": change.keyword_id, "errors": messages})
            continue
        updated.append(keyword)
        records += history_records(obj=keyword, before=before, by=by, source=source)
    if errors:
        raise BulkBidError(sorted(errors, key=lambda e: e["index"]))
    Keyword.objects.bulk_update(updated, ["bid", "updated_at"], batch_size=500)
    insert_instances(ChangeRecord, records)
    return updated


def entity_assert_editable(*, obj: models.Model) -> None:
    """Raise ArchivedError if saving `obj` would change an archived object or write under an
    archived parent: the checks entity_save makes first, for forms that report them as errors
    before anything is written (the admin validates inline rows before the parent is saved)."""
    stored = _snapshot(obj)
    if stored and stored.get(_status_field(obj)) == EntityState.ARCHIVED:
        raise ArchivedError("Archived entity cannot be modified.")
    for parent in _parents(obj):
        if _is_archived(parent):
            raise ArchivedError(f"Cannot change a child of archived {type(parent)._meta.verbose_name} {parent}.")


# --- Single-object writes for the API and the console (appended; the functions above are unchanged).

TREE_MODELS = (Campaign, LineItem, Keyword, ProductAd, ProductTarget)


class DeletionRefused(Exception):
    """Objects that may have spend are archived, never deleted."""


def entity_check_modifiable(*, obj: models.Model) -> None:
    """Raise ArchivedError when `obj` or one of its parents is archived (archived is final).

    The bulk setters above skip archived objects silently; single-object callers refuse instead.
    """
    if not isinstance(obj, TREE_MODELS):
        return
    if _is_archived(obj):
        raise ArchivedError("Archived entity cannot be modified.")
    for parent in _parents(obj):
        if _is_archived(parent):
            raise ArchivedError(f"Cannot change a child of archived {type(parent)._meta.verbose_name} {parent}.")


def _locked(obj: models.Model) -> models.Model:
    """`obj` re-read under a row lock, with its parents, so checks see the committed state."""
    related = {
        LineItem: ("campaign",),
        Keyword: ("line_item__campaign",),
        ProductAd: ("line_item__campaign",),
        ProductTarget: ("line_item__campaign",),
    }.get(type(obj), ())
    return type(obj)._default_manager.select_related(*related).select_for_update(of=("self",)).get(pk=obj.pk)


@transaction.atomic
def entity_set_state(*, obj: models.Model, state: str, by=None) -> models.Model:
    """Pause, enable or archive one campaign, line item, keyword, product ad or target.

    Refuses with ArchivedError when it or a parent is archived. Returns the object as stored.
    """
    current = _locked(obj)
    entity_check_modifiable(obj=current)
    if isinstance(current, Campaign):
        campaigns_set_status(campaigns=[current], status=state, by=by)
    else:
        entities_set_state(objects=[current], state=state, by=by)
    return type(obj)._default_manager.get(pk=obj.pk)


def _campaign_of(obj: models.Model) -> Campaign:
    if isinstance(obj, Campaign):
        return obj
    if isinstance(obj, LineItem):
        return obj.campaign
    return obj.line_item.campaign


@transaction.atomic
def entity_delete(*, obj: models.Model, by=None) -> None:
    """Delete an object of the tree, only while its campaign is a draft: a draft never ran, so
    nothing under it has spend. Everything else is archived instead (DeletionRefused)."""
    current = _locked(obj)
    entity_check_modifiable(obj=current)
    # Lock the campaign too, so it cannot be enabled between this check and the delete.
    campaign = Campaign.objects.select_for_update().get(pk=_campaign_of(current).pk)
    if campaign.status != CampaignStatus.DRAFT:
        raise DeletionRefused(
            f"Only objects under a draft campaign can be deleted; this {type(obj)._meta.verbose_name} "
            "may have spend. Archive it instead."
        )
    current.delete()


@transaction.atomic
def advertiser_save(*, advertiser, by=None):
    """Validate and save an advertiser. Currency and marketplace are fixed once it has campaigns:
    their budgets and bids were validated against them."""
    from campaigns.models import Advertiser

    if advertiser.pk is not None:
        stored = Advertiser.objects.select_for_update().filter(pk=advertiser.pk).values("currency", "country").first()
        if stored and Campaign.objects.filter(advertiser_id=advertiser.pk).exists():
            errors = {
                field: ["Cannot be changed once the advertiser has campaigns."]
                for field in ("currency", "country")
                if stored[field] != getattr(advertiser, field)
            }
            if errors:
                raise ValidationError(errors)
    advertiser.full_clean()
    advertiser.save()
    return advertiser


@transaction.atomic
def membership_save(*, membership, by=None):
    """Validate and save a membership (one user's role on one advertiser)."""
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def membership_delete(*, membership, by=None) -> None:
    membership.delete()


# --- Bulk field changes for the rules engine (appended; the functions above are unchanged).


class BulkChangeError(Exception):
    """Some objects refused their change; `errors` maps (model name, pk) to messages."""

    def __init__(self, errors: dict[tuple[str, int], list[str]]):
        super().__init__(errors)
        self.errors = errors


def entities_bulk_set(*, changes: list[tuple[models.Model, dict]], by=None, source: str) -> int:
    """Set fields (state, bid, budget) on many loaded objects, all or nothing, with history.

    The keyword_bids_set path generalised: each object is checked by its own clean() and field
    validators (marketplace bid limits, budget rules, negatives carry no bid) and against archived
    (itself or a parent) without a query per row; the caller loads the objects with their parents
    and, for read-modify-write, locks them. One UPDATE per model and field set, one history INSERT.
    Raises BulkChangeError naming every refused object; nothing is written then.
    """
    errors: dict[tuple[str, int], list[str]] = {}
    records, groups = [], {}
    now = timezone.now()
    for obj, values in changes:
        key = (type(obj)._meta.model_name, obj.pk)
        if _is_archived(obj) or any(_is_archived(p) for p in _parents(obj)):
            errors[key] = ["Archived entity cannot be modified."]
            continue
        before = {f: getattr(obj, f) for f in TRACKED_FIELDS.get(type(obj), ())}
        for name, value in values.items():
            setattr(obj, name, value)
        try:
            # Relations are loaded already: validating them would cost a query per row. Deferred
            # fields were not loaded, so there is nothing of the caller's to check in them.
            deferred = obj.get_deferred_fields()
            obj.clean_fields(exclude=[f.name for f in obj._meta.fields if f.is_relation or f.attname in deferred])
            obj.clean()
        except ValidationError as exc:
            errors[key] = [f"{f}: {m}" if f != "__all__" else m for f, ms in exc.message_dict.items() for m in ms]
            continue
        obj.updated_at = now  # bulk_update does not touch auto_now fields
        groups.setdefault((type(obj), tuple(sorted(values))), []).append(obj)
        records += history_records(obj=obj, before=before, by=by, source=source)
    if errors:
        raise BulkChangeError(errors)  # before any write: the caller's transaction stays usable
    with _ALL_OR_NOTHING:
        _bulk_write(groups, records, now)
    return sum(len(objects) for objects in groups.values())


def _bulk_write(groups: dict, records: list[ChangeRecord], now) -> None:
    for (model, fields), objects in groups.items():
        by_values: dict[tuple, list[int]] = {}
        for obj in objects:
            by_values.setdefault(tuple(getattr(obj, f) for f in fields), []).append(obj.pk)
        if len(by_values) <= 3:
            # Changes usually move many objects to a few values (a campaign's keywords share a
            # bid): a plain UPDATE per value is far cheaper to build than bulk_update's CASE.
            for values, pks in by_values.items():
                model.objects.filter(pk__in=pks).update(**dict(zip(fields, values)), updated_at=now)
        else:
            model.objects.bulk_update(objects, [*fields, "updated_at"], batch_size=500)
    insert_instances(ChangeRecord, records)  # no ids needed: cheaper than bulk_create
