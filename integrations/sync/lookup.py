"""Reads a push makes to find our objects on Amazon: by Amazon id (to see what changed there
before patching), by our externalId (a create whose answer was lost), and by name for an object
Amazon holds without our externalId."""

from __future__ import annotations

from typing import Iterable

from integrations.amazon import limits
from integrations.amazon.pagination import iter_next_token
from integrations.models import ExternalRef, ExternalSystem
from integrations.sync.mapping import Kind

PAGE = limits.LIST_PAGE_MAX


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class AmazonReads:
    """Needs `client`, `account_id` and `_parent_remote(kind, obj)`; items have `.obj` and `.ours`."""

    def _list(self, kind: Kind, filters: dict) -> Iterable[dict]:
        return iter_next_token(self.client, kind.list_path, items_key=kind.items_key, body=filters,
                               max_results=PAGE, account_id=self.account_id)

    def _read(self, kind: Kind, ids: list[str]) -> dict[str, dict]:
        found = {}
        for chunk in chunks(ids, PAGE):
            for remote in self._list(kind, {kind.id_filter: {"include": chunk}}):
                found[str(remote[kind.id_key])] = remote
        return found

    def _lookup(self, kind: Kind, items: list[Item], *, by_name: bool = False) -> dict[int, dict]:
        """Our objects Amazon already has, found by the externalId we gave them (pk → remote)."""
        wanted = {kind.external_id(it.obj.pk): it for it in items}
        found: dict[int, dict] = {}
        if kind.external_id_filter:
            queries = [{kind.external_id_filter: {"include": chunk}} for chunk in chunks(list(wanted), PAGE)]
        else:  # targets: Amazon filters them by ad group only
            parents = sorted({p for p in (self._parent_remote(kind, it.obj) for it in items) if p})
            queries = [{"adGroupIdFilter": {"include": chunk}} for chunk in chunks(parents, PAGE)]
        for query in queries:
            for remote in self._list(kind, query):
                it = wanted.get(remote.get("externalId"))
                if it is not None:
                    found[it.obj.pk] = remote
        if by_name and kind.external_id_filter:
            found.update(self._lookup_by_name(kind, [it for it in items if it.obj.pk not in found]))
        return found

    def _lookup_by_name(self, kind: Kind, items: list[Item]) -> dict[int, dict]:
        """Fallback for an object Amazon holds without our externalId: same name and parent, no
        externalId, not anyone else's, and exactly one candidate on each side."""
        by_name: dict[str, list[Item]] = {}
        for it in items:
            by_name.setdefault(it.ours["name"], []).append(it)
        unique = {name: its[0] for name, its in by_name.items() if len(its) == 1}
        candidates: dict[str, list[dict]] = {}
        for chunk in chunks(list(unique), PAGE):
            for remote in self._list(kind, {"nameFilter": {"include": chunk}}):
                if not remote.get("externalId"):
                    candidates.setdefault(remote.get("name"), []).append(remote)
        taken = set(ExternalRef.objects.filter(
            system=ExternalSystem.AMAZON_DSP,
            external_id__in=[str(r[kind.id_key]) for rs in candidates.values() for r in rs]).values_list(
            "external_id", flat=True))
        found = {}
        for name, remotes in candidates.items():
            it = unique[name]
            parent = self._parent_remote(kind, it.obj)
            fits = [r for r in remotes if str(r[kind.id_key]) not in taken
                    and (parent is None or str(r.get("campaignId")) == parent)]
            if len(fits) == 1:
                found[it.obj.pk] = fits[0]
        return found
