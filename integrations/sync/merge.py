"""The three-way merge both directions share, and the ExternalRef bookkeeping around it.

For each synced field: `base` is what both sides held at the last sync (ExternalRef.synced_values),
`ours` is our object now, `theirs` is Amazon now.
- ours == theirs: nothing to do (the base catches up if both moved to the same value);
- only ours moved: a push sends it;
- only theirs moved: a pull writes it here (through campaigns.services.entity_save, source "sync");
- both moved, differently: a conflict. Neither side is written; a SyncConflict row waits for an
  account manager to pick the winner. One exception: a target archived here is removed there
  whatever Amazon did to its state meanwhile (archived is final).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from integrations.models import ExternalRef, SyncConflict
from integrations.sync.mapping import ARCHIVED, Kind
from integrations.sync.values import values_hash

REF_FIELDS = ["external_id", "pending_since", "synced_values", "synced_hash", "synced_at", "remote_values",
              "remote_hash", "remote_seen_at", "delivery_status", "account_id"]


@dataclass
class Merge:
    push: set = field(default_factory=set)  # fields to send to Amazon
    pull: dict = field(default_factory=dict)  # field → their value, to write here
    conflicts: dict = field(default_factory=dict)  # field → (base, ours, theirs)
    base: dict = field(default_factory=dict)  # the new base once push and pull are applied
    target: dict = field(default_factory=dict)  # what Amazon should hold after the push
    converged: set = field(default_factory=set)  # both moved to the same value (closes a conflict)


def merge(kind: Kind, base: dict, ours: dict, theirs: dict) -> Merge:
    result = Merge(base=dict(base), target=dict(theirs))
    for name in kind.fields:
        b, o, t = base.get(name), ours.get(name), theirs.get(name)
        if o == t:
            if b != o:
                result.converged.add(name)
            result.base[name] = o
        elif t == b:
            result.push.add(name)
            result.target[name] = o
        elif o == b:
            result.pull[name] = t
        else:
            result.conflicts[name] = (b, o, t)
    if kind.is_target and ours.get("state") == ARCHIVED and theirs.get("state") != ARCHIVED:
        # Archived is final here and a target archived here is removed there: that wins over a
        # pause or an enable made on Amazon meanwhile, so it is never a conflict.
        result.conflicts.pop("state", None)
        result.push.add("state")
        result.target["state"] = ARCHIVED
    return result


def content_type(kind: Kind) -> ContentType:
    return ContentType.objects.get_for_model(kind.model)


def set_base(ref: ExternalRef, base: dict, *, now=None) -> None:
    ref.synced_values = base
    ref.synced_hash = values_hash(base)
    ref.synced_at = now or timezone.now()


def set_remote(ref: ExternalRef, theirs: dict, remote: dict | None = None, *, now=None) -> None:
    ref.remote_values = theirs
    ref.remote_hash = values_hash(theirs)
    ref.remote_seen_at = now or timezone.now()
    if remote is not None:
        ref.delivery_status = str(remote.get("deliveryStatus") or "")[:32]


def refs_save(refs: list[ExternalRef]) -> None:
    """Save the sync columns of many refs: one prepared UPDATE executed per row (executemany).
    QuerySet.bulk_update builds a CASE WHEN per field and row in Python, which took 30 s for
    10,000 refs; this takes about 0.1 ms a row."""
    refs = [ref for ref in refs if ref.pk is not None]
    if not refs:
        return
    fields = [ExternalRef._meta.get_field(name) for name in REF_FIELDS]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(ExternalRef._meta.db_table)} SET "
           + ", ".join(f"{quote(f.column)} = %s" for f in fields) + f" WHERE {quote('id')} = %s")
    rows = [[f.get_db_prep_save(getattr(ref, f.attname), connection) for f in fields] + [ref.pk] for ref in refs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def conflict_record(*, run, ref: ExternalRef, name: str, base, ours, theirs) -> SyncConflict:
    """The open conflict for (object, field), created or refreshed with the latest values."""
    conflict = SyncConflict.objects.filter(ref=ref, field=name, resolved_at__isnull=True).first()
    if conflict is None:
        return SyncConflict.objects.create(run=run, ref=ref, advertiser_id=ref.advertiser_id, field=name,
                                           base_value=base, our_value=ours, their_value=theirs)
    conflict.run, conflict.base_value, conflict.our_value, conflict.their_value = run, base, ours, theirs
    conflict.save(update_fields=["run", "base_value", "our_value", "their_value"])
    return conflict


def conflicts_close_settled(*, ref: ExternalRef, settled: set[str]) -> None:
    """Open conflicts on fields where both sides now agree are over (someone fixed one side by hand)."""
    if settled:
        SyncConflict.objects.filter(ref=ref, field__in=settled, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolution="")
