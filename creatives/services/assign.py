"""Assigning renditions to line items: same advertiser, and a line item whose format takes the
creative's kind (a video creative never runs on a display line item)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns.choices import EntityState, LineItemFormat
from campaigns.models import LineItem
from creatives.choices import CreativeKind, CreativeStatus
from creatives.models import AdSpec, Creative, RenditionAssignment

KIND_OF_LINE_ITEM = {
    LineItemFormat.DISPLAY: CreativeKind.DISPLAY,
    LineItemFormat.VIDEO: CreativeKind.VIDEO,
    LineItemFormat.AUDIO: CreativeKind.AUDIO,
}


class CreativeNotReady(Exception):
    """Only a ready creative has renditions to assign (a state conflict, not bad input: 409)."""


def line_item_refusal(creative: Creative, line_item: LineItem) -> str | None:
    if line_item.campaign.advertiser_id != creative.advertiser_id:
        return f"Line item {line_item.pk} belongs to another advertiser."
    if line_item.status == EntityState.ARCHIVED:
        return f"Line item {line_item.pk} is archived."
    takes = KIND_OF_LINE_ITEM.get(line_item.format)
    if takes != creative.kind:
        what = f"{takes} creatives" if takes else "no creatives"
        return (f"Line item {line_item.pk} is a {LineItemFormat(line_item.format).label.lower()} line item; it takes "
                f"{what}, not a {creative.kind} creative.")
    return None


@transaction.atomic
def renditions_assign(*, creative: Creative, line_items: list[LineItem], specs: list[AdSpec] | None = None,
                      by=None) -> list[RenditionAssignment]:
    """Assign the creative's renditions (all, or those of `specs`) to every line item.

    Refused whole (nothing written) when any line item does not fit. Assigning twice is harmless."""
    if creative.status != CreativeStatus.READY:
        raise CreativeNotReady(f"The creative is {creative.status}; only a ready creative can be assigned.")
    renditions = list(creative.renditions.select_related("spec").filter(**({"spec__in": specs} if specs else {})))
    if not renditions:
        raise ValidationError({"specs": ["The creative has no rendition for these specs."]})
    problems = [p for p in (line_item_refusal(creative, li) for li in line_items) if p]
    if problems:
        raise ValidationError({"line_items": problems})
    assignments = []
    for line_item in line_items:
        for rendition in renditions:
            assignment, _ = RenditionAssignment.objects.get_or_create(
                rendition=rendition, line_item=line_item, defaults={"assigned_by": by}
            )
            assignments.append(assignment)
    return assignments
