"""Writes of the Kargo side: third-party Kargo creatives, line item ↔ deal targeting, deals."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns.services import entity_check_modifiable
from creatives.kargo.choices import DealState, TagType
from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealTarget, KargoFormat
from creatives.kargo.validation import validate_creative
from creatives.services.uploads import creative_create_tag


@transaction.atomic
def kargo_creative_create(*, advertiser, name: str, format: KargoFormat, deal: KargoDeal, tag_type: str,
                          tag: str = "", vast_url: str = "", vast_xml: str = "", width: int | None = None,
                          height: int | None = None, click_through_url: str = "", click_trackers=(),
                          impression_trackers=(), by=None) -> KargoCreative:
    """Validate and store a Kargo creative. Tags and VAST URLs also become a creatives.Creative
    checked by the pipeline against the format's AdSpec (queued on commit)."""
    tag, vast_url, vast_xml = (tag or "").strip(), (vast_url or "").strip(), (vast_xml or "").strip()
    if format is not None and format.width and tag_type == TagType.HTML and not (width or height):
        width, height = format.width, format.height  # Kargo's snippet runs at the format's size
    errors = validate_creative(format=format, tag_type=tag_type, tag=tag, vast_url=vast_url, vast_xml=vast_xml,
                               width=width, height=height, click_through_url=click_through_url,
                               click_trackers=click_trackers, impression_trackers=impression_trackers)
    errors.setdefault("deal", []).extend(_deal_problems(deal, advertiser))
    carried = set(deal.formats.values_list("pk", flat=True))
    if carried and format is not None and format.pk not in carried:
        errors.setdefault("format", []).append(f"Deal {deal.deal_id} does not carry the {format} format.")
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)
    creative = None
    if tag_type in (TagType.HTML, TagType.VAST_URL):
        creative = creative_create_tag(
            advertiser=advertiser, name=name, width=width if tag_type == TagType.HTML else None,
            height=height if tag_type == TagType.HTML else None, third_party_tag=tag, vast_url=vast_url, by=by,
            specs=[format.ad_spec] if format.ad_spec_id else None,
        ).creative
    return KargoCreative.objects.create(
        advertiser=advertiser, name=name[:255], format=format, deal=deal, tag_type=tag_type, tag=tag,
        vast_url=vast_url, vast_xml=vast_xml, width=width if tag_type == TagType.HTML else None,
        height=height if tag_type == TagType.HTML else None, click_through_url=click_through_url,
        click_trackers=list(click_trackers or []), impression_trackers=list(impression_trackers or []),
        creative=creative, created_by=by if getattr(by, "pk", None) else None,
    )


def _deal_problems(deal: KargoDeal, advertiser) -> list[str]:
    """Why `advertiser` may not use `deal` (creatives and line-item targets alike)."""
    if not deal.is_offered_to(advertiser):
        return [f"Deal {deal.deal_id} is not offered to {advertiser}."]
    if deal.state == DealState.ARCHIVED:
        return [f"Deal {deal.deal_id} is archived."]
    return []


def kargo_deal_target_create(*, deal: KargoDeal, line_item, by=None) -> KargoDealTarget:
    """A line item targets a deal. Refused when the deal is not offered to its advertiser or is
    archived (ValidationError), or when the line item or its campaign is archived (ArchivedError:
    archived is final); the push checks dates and floors again, since both can change after this."""
    entity_check_modifiable(obj=line_item)
    advertiser = line_item.campaign.advertiser
    errors: dict[str, list[str]] = {"deal": _deal_problems(deal, advertiser)}
    if KargoDealTarget.objects.filter(deal=deal, line_item=line_item).exists():
        errors.setdefault("deal", []).append("This line item already targets this deal.")
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)
    return KargoDealTarget.objects.create(deal=deal, line_item=line_item,
                                          created_by=by if getattr(by, "pk", None) else None)
