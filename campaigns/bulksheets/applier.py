"""Writing a Plan: creates parents first, then updates, then archives, in the caller's
transaction (the service holds it: all rows or none; or, chosen, only the valid rows, which the
plan already keeps closed under their parents).

Updates go through campaigns.services.entities_bulk_set (model rules, archived refusal, one
UPDATE per field set, budget and bid history); archives through campaigns_set_status and
entities_set_state, which cascade to children. Creates are bulk_create, so their history
(initial budgets and bids) is written here explicitly, source="bulk": signal-based history
would miss bulk_create.
"""

from collections import defaultdict

from django.db import connection
from django.utils import timezone

from campaigns.bulksheets.ids import MODEL_OF, record_external
from campaigns.bulksheets.models import CampaignNegativeKeyword, CampaignNegativeTarget, PlacementAdjustment
from campaigns.bulksheets.plan import Change, Plan
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, ChangeRecord, Keyword, LineItem, ProductAd, ProductTarget
from campaigns.services import campaigns_set_status, entities_bulk_set, entities_set_state, history_records

SOURCE = "bulk"
# Parents before children: a child's parent pk is known once its level is written.
CREATE_ORDER = (
    ("campaign",), ("ad_group", "bidding_adjustment", "campaign_negative_keyword", "campaign_negative_product_targeting"),
    ("product_ad", "keyword", "negative_keyword", "product_targeting", "negative_product_targeting"),
)
_PARENT_FIELD = {
    "ad_group": "campaign_id", "bidding_adjustment": "campaign_id", "campaign_negative_keyword": "campaign_id",
    "campaign_negative_product_targeting": "campaign_id",
}
_OWN_MODELS = {
    "bidding_adjustment": PlacementAdjustment,
    "campaign_negative_keyword": CampaignNegativeKeyword,
    "campaign_negative_product_targeting": CampaignNegativeTarget,
}


class Applier:
    def __init__(self, *, plan: Plan, advertiser, by=None, progress=None):
        self.plan, self.advertiser, self.by = plan, advertiser, by
        self.progress = progress or (lambda done, total: None)
        self.work = [c for c in plan.changes if c.action != "unchanged"]
        self.done = 0

    def run(self) -> dict:
        """Write everything; returns the counts written. Must run inside a transaction."""
        assert connection.in_atomic_block, "the caller holds the transaction (all or nothing)"
        for level in CREATE_ORDER:
            self._create([c for c in self.work if c.action == "create" and c.entity in level])
        self._update([c for c in self.work if c.action == "update"])
        self._archive([c for c in self.work if c.action == "archive"])
        self._record_external_ids()
        counts = defaultdict(int)
        for change in self.work:
            counts[change.action] += 1
        return dict(counts)

    def _tick(self, n: int) -> None:
        self.done += n
        self.progress(self.done, len(self.work))

    def _model(self, entity: str):
        return _OWN_MODELS.get(entity) or MODEL_OF[entity]

    def _create(self, changes: list[Change]) -> None:
        by_model = defaultdict(list)
        for change in changes:
            by_model[change.entity].append(change)
        history = []
        for entity, group in by_model.items():
            model = self._model(entity)
            objects = []
            for change in group:
                fields = dict(change.fields)
                if entity == "campaign":
                    fields["advertiser"] = self.advertiser
                else:
                    parent = change.parent.created_pk if isinstance(change.parent, Change) else change.parent
                    fields[_PARENT_FIELD.get(entity, "line_item_id")] = parent
                objects.append(model(**fields))
            # Returns the new pks on PostgreSQL and SQLite ≥ 3.35 (the children need them).
            model.objects.bulk_create(objects, batch_size=1000)
            for change, obj in zip(group, objects):
                change.created_pk = obj.pk
                if model in (Campaign, LineItem, Keyword, ProductTarget):
                    if model is not Campaign:
                        self._cache_advertiser(obj, model)
                    history += history_records(obj=obj, before={}, by=self.by, source=SOURCE)
            self._tick(len(group))
        ChangeRecord.objects.bulk_create(history, batch_size=1000)

    def _cache_advertiser(self, obj, model) -> None:
        # history_records reads obj's advertiser id through its parents: set them without queries.
        campaign = Campaign(pk=obj.campaign_id if model is LineItem else None, advertiser=self.advertiser)
        if model is LineItem:
            obj.campaign = campaign
        else:
            obj.line_item = LineItem(pk=obj.line_item_id, campaign=campaign)

    def _update(self, changes: list[Change]) -> None:
        tree_changes = [c for c in changes if c.entity not in _OWN_MODELS]
        by_model = defaultdict(dict)
        for change in tree_changes:
            by_model[MODEL_OF[change.entity]][change.pk] = change
        pairs = []
        related = {LineItem: ("campaign__advertiser",), Campaign: ("advertiser",)}
        for model, wanted in by_model.items():
            loaded = model.objects.filter(pk__in=list(wanted)).select_related(
                *related.get(model, ("line_item__campaign__advertiser",))
            ).select_for_update(of=("self",))
            pairs += [(obj, wanted[obj.pk].fields) for obj in loaded]
        if pairs:
            entities_bulk_set(changes=pairs, by=self.by, source=SOURCE)
        now = timezone.now()
        for change in changes:
            if change.entity in _OWN_MODELS:
                _OWN_MODELS[change.entity].objects.filter(pk=change.pk).update(**change.fields, updated_at=now)
        self._tick(len(changes))

    def _archive(self, changes: list[Change]) -> None:
        campaign_ids = [c.pk for c in changes if c.entity == "campaign"]
        if campaign_ids:
            campaigns_set_status(campaigns=list(Campaign.objects.filter(pk__in=campaign_ids)),
                                 status=CampaignStatus.ARCHIVED, by=self.by)
        for entity_model in (LineItem, Keyword, ProductAd, ProductTarget):
            pks = [c.pk for c in changes if c.entity not in _OWN_MODELS and c.entity != "campaign"
                   and MODEL_OF[c.entity] is entity_model]
            if pks:
                related = ("campaign",) if entity_model is LineItem else ("line_item__campaign",)
                entities_set_state(objects=list(entity_model.objects.filter(pk__in=pks).select_related(*related)),
                                   state="archived", by=self.by)
        placements = [c.pk for c in changes if c.entity == "bidding_adjustment"]
        PlacementAdjustment.objects.filter(pk__in=placements).delete()  # a setting: no spend, no state
        for entity in ("campaign_negative_keyword", "campaign_negative_product_targeting"):
            pks = [c.pk for c in changes if c.entity == entity]
            if pks:
                _OWN_MODELS[entity].objects.filter(pk__in=pks).update(state="archived", updated_at=timezone.now())
        self._tick(len(changes))

    def _record_external_ids(self) -> None:
        by_model = defaultdict(dict)
        for change in self.plan.changes:
            if change.external_id and change.entity in MODEL_OF:
                by_model[MODEL_OF[change.entity]][change.external_id] = change.created_pk or change.pk
        for model, ids in by_model.items():
            record_external(model=model, advertiser=self.advertiser, ids=ids)


def plan_apply(*, plan: Plan, advertiser, by=None, progress=None) -> dict:
    return Applier(plan=plan, advertiser=advertiser, by=by, progress=progress).run()
