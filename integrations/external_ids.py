"""Amazon's ids of our objects, for the parts of campaigns that show or take them without
importing integrations: registered from IntegrationsConfig.ready.

- Bulk sheets (campaigns.bulksheets.ids): `resolve` maps the numeric ids of a sheet to our
  objects (the DSP ids the sync recorded, and the ids earlier sheets brought: Amazon's bulk-sheet
  ids of Sponsored Products differ from the console's and from the DSP's); `record` keeps the
  ids of a sheet just applied so the next sheet finds the same objects by id. `amazon_ids` gives
  an object's Amazon ids for an export.
- The console's search (campaigns.admin_console.access): an Amazon id finds its object.

Everything is per advertiser: an id recorded for one tenant never resolves for another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from integrations.models import ExternalRef, ExternalSystem

# Where an id may come from, the first wins: a sheet's own id, then the sync's.
RESOLVE_ORDER = (ExternalSystem.AMAZON_BULKSHEET, ExternalSystem.AMAZON_DSP)


def _refs(model, advertiser):
    return ExternalRef.objects.filter(content_type=ContentType.objects.get_for_model(model), advertiser=advertiser)


def resolve(*, model, advertiser, external_ids: Iterable[str]) -> dict[str, int]:
    """{external id: our pk} for the ids of `model` that Amazon gave the advertiser's objects."""
    wanted = {str(i) for i in external_ids}
    if not wanted:
        return {}
    rows = _refs(model, advertiser).filter(external_id__in=wanted, system__in=RESOLVE_ORDER).values_list(
        "system", "external_id", "object_id")
    found: dict[str, int] = {}
    for system in RESOLVE_ORDER:
        for row_system, external_id, pk in rows:
            if row_system == system:
                found.setdefault(external_id, pk)
    return found


def amazon_ids(*, model, advertiser, pks: Iterable[int]) -> dict[int, str]:
    """{our pk: Amazon id}: the id the sync knows (the DSP's) or, failing that, a sheet's."""
    rows = _refs(model, advertiser).filter(object_id__in=list(pks), external_id__isnull=False,
                                           system__in=RESOLVE_ORDER).values_list("system", "object_id", "external_id")
    found: dict[int, str] = {}
    for system in reversed(RESOLVE_ORDER):
        for row_system, pk, external_id in rows:
            if row_system == system:
                found.setdefault(pk, external_id)
    return found


@transaction.atomic
def record(*, model, advertiser, ids: Mapping[str, int]) -> None:
    """Keep the Amazon ids a sheet carried for the objects it created or matched. An id the sync
    already maps to the same object needs nothing; one taken by another object (or another
    advertiser) is left alone: a sheet never moves an id between objects or tenants. A fixed
    number of statements whatever the number of ids (a first Amazon download brings one per row)."""
    if not ids:
        return
    owned = set(model.objects.for_advertiser(advertiser).filter(pk__in=set(ids.values())).values_list("pk", flat=True))
    wanted = {str(k): int(v) for k, v in ids.items() if int(v) in owned}
    known = set(ExternalRef.objects.filter(external_id__in=wanted, system__in=RESOLVE_ORDER).values_list(
        "external_id", flat=True))  # the sync's own ids, or taken
    by_object = {pk: external_id for external_id, pk in wanted.items() if external_id not in known}  # last one wins
    if not by_object:
        return
    content_type = ContentType.objects.get_for_model(model)
    ExternalRef.objects.bulk_create(
        [ExternalRef(system=ExternalSystem.AMAZON_BULKSHEET, content_type=content_type, object_id=pk,
                     advertiser=advertiser, external_id=external_id) for pk, external_id in by_object.items()],
        update_conflicts=True, unique_fields=["system", "content_type", "object_id"],
        update_fields=["external_id", "advertiser"], batch_size=1000,
    )


def search(*, model, term: str):
    """Primary keys of `model` whose Amazon id is `term` (the console narrows them to what the
    user may see), or None when the term cannot be an id."""
    term = (term or "").strip()
    if not term or len(term) > 128 or " " in term:
        return None
    return ExternalRef.objects.filter(content_type=ContentType.objects.get_for_model(model), external_id=term,
                                      system__in=RESOLVE_ORDER).values("object_id")
