"""Budget and bid history (ChangeRecord rows written by the services) on the object pages."""

from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from campaigns.admin_console.access import advertiser_id_of
from campaigns.models import Campaign, ChangeRecord, Keyword, LineItem, ProductTarget

HISTORY_ROWS = 50
KINDS = {m._meta.model_name: m._meta.verbose_name for m in (Campaign, LineItem, Keyword, ProductTarget)}


def tree_history_q(*, campaign_ids=None, line_item_ids=None) -> Q:
    """Records of the given campaigns or line items and of everything under them."""
    if campaign_ids is not None:
        line_items = LineItem.objects.filter(campaign_id__in=campaign_ids)
        own = Q(object_type="campaign", object_id__in=campaign_ids)
    else:
        line_items = LineItem.objects.filter(pk__in=line_item_ids)
        own = Q()
    return (
        own
        | Q(object_type="lineitem", object_id__in=line_items.values("pk"))
        | Q(object_type="keyword", object_id__in=Keyword.objects.filter(line_item__in=line_items).values("pk"))
        | Q(
            object_type="producttarget",
            object_id__in=ProductTarget.objects.filter(line_item__in=line_items).values("pk"),
        )
    )


def history_for(obj) -> tuple[Q, dict]:
    """The filter for `obj`'s records (and its children's), and the changelist query that lists
    them all."""
    if isinstance(obj, Campaign):
        return tree_history_q(campaign_ids=[obj.pk]), {"campaign": obj.pk}
    if isinstance(obj, LineItem):
        return tree_history_q(line_item_ids=[obj.pk]), {"object_type": "lineitem", "object_id": obj.pk}
    own = {"object_type": type(obj)._meta.model_name, "object_id": obj.pk}
    return Q(**own), own


def render_history(obj) -> str:
    """The latest budget and bid changes of `obj` and its children as an HTML table (one query).

    Scoped to `obj`'s advertiser: the page showing `obj` has already proven the user sees it."""
    if obj is None or obj.pk is None:
        return "—"
    condition, query = history_for(obj)
    records = list(
        ChangeRecord.objects.filter(advertiser_id=advertiser_id_of(obj))
        .filter(condition)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")[: HISTORY_ROWS + 1]
    )
    for record in records:
        record.kind = KINDS.get(record.object_type, record.object_type)
        record.admin_url = change_url(record.object_type, record.object_id)
        record.is_self = record.object_type == type(obj)._meta.model_name and record.object_id == obj.pk
    return render_to_string(
        "admin/campaigns/includes/history.html",
        {
            "records": records[:HISTORY_ROWS],
            "more": len(records) > HISTORY_ROWS,
            "all_url": f"{reverse('admin:campaigns_changerecord_changelist')}?{urlencode(query)}",
        },
    )


def change_url(object_type: str, object_id: int) -> str | None:
    if object_type not in {*KINDS, "productad"}:
        return None
    return reverse(f"admin:campaigns_{object_type}_change", args=[object_id])
