"""Custom console views: the campaign tree (campaign → line items → keywords, product ads,
product targets) on one page, reachable from the campaign page."""

from django.db.models import Prefetch
from django.http import Http404
from django.template.response import TemplateResponse

from campaigns.models import Keyword, LineItem, ProductAd, ProductTarget


def campaign_tree_view(model_admin, request, object_id):
    """The whole tree of one campaign, scoped like the campaign page (another advertiser's
    campaign is not found). Five queries for the tree whatever its size: the campaign, its line
    items, and one per kind of child."""
    campaign = model_admin.get_object(request, object_id)
    if campaign is None or not model_admin.has_view_permission(request, campaign):
        raise Http404("No such campaign.")
    line_items = list(
        LineItem.objects.visible_to(request.user)
        .filter(campaign=campaign)
        .order_by("id")
        .prefetch_related(
            Prefetch("keywords", queryset=Keyword.objects.order_by("id")),
            Prefetch("product_ads", queryset=ProductAd.objects.order_by("id")),
            Prefetch("product_targets", queryset=ProductTarget.objects.order_by("id")),
        )
    )
    totals = {
        "line_items": len(line_items),
        "keywords": sum(len(li.keywords.all()) for li in line_items),
        "product_ads": sum(len(li.product_ads.all()) for li in line_items),
        "product_targets": sum(len(li.product_targets.all()) for li in line_items),
    }
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Campaign tree: {campaign}",
        "subtitle": None,
        "opts": model_admin.model._meta,
        "original": campaign,
        "campaign": campaign,
        "line_items": line_items,
        "totals": totals,
        "has_view_permission": True,
        "can_change": model_admin.has_change_permission(request, campaign),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/campaigns/campaign/tree.html", context)
