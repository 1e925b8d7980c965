"""Who may do what in the ops console, and the admin base classes that enforce it.

The rule for staff users who are not superusers (superusers may do everything except change
archived objects and edit the history):

* Django's model permissions (auth `Permission`s, groups) are not consulted for the campaign
  app: membership roles are. A user needs `is_staff` to reach the admin at all; from there they
  see exactly the advertisers they hold a `Membership` for, and every queryset of every page
  (changelist, change page, inline, autocomplete, raw-id popup, action, tree view) goes through
  `Model.objects.visible_to(request.user)`. Another advertiser's object simply does not exist.
* view: any role (viewer, trader, manager) on the object's advertiser.
* add and change: trader or manager on the object's advertiser; the advertiser, campaign or line
  item a new object hangs under is chosen among those where the user is at least a trader.
  Archived objects are final: their pages are read-only for everyone.
* budgets (campaign daily and total budget, line item budget) are read-only on existing objects
  unless the user is a manager of that advertiser. A trader sets the budget of a new campaign
  or line item on its add page (the campaign's is required); the initial value is recorded in
  the history. (Inline rows on an existing campaign share one column: read-only for all rows.)
* memberships: managers of an advertiser view, add, change and remove its memberships, except
  their own (nobody demotes or locks out themselves). Advertisers are created and edited by
  superusers; members see theirs read-only.
* delete: nothing that may have spend is deleted, by anyone: a campaign and what is under it
  can be deleted, one object at a time from its page, only while the campaign is a draft, by
  whoever may change it (`entity_delete`); everything else is archived. Advertisers: superusers.

Roles are read once per request (one query) and cached on the request, so the permission checks
a page makes cost nothing more however many rows it shows.
"""

from collections.abc import Callable, Iterable

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models

from campaigns.admin_console.forms import CappedInlineFormSet
from campaigns.choices import CampaignStatus, Role
from campaigns.models import Advertiser, Campaign, LineItem, Membership
from campaigns.permissions import advertiser_id_of as owner_id
from campaigns.services import BUDGET_FIELDS, changed_fields, entity_delete, entity_save

_ROLES_ATTR = "_console_roles"

# Hook for "search by external id": integrations registers a callable from its AppConfig.ready,
# campaigns never imports integrations. A search gets (model=…, term=…) and returns primary keys
# (an iterable or a values("pk") queryset) of `model` whose external id matches, or None.
ExternalIdSearch = Callable[..., Iterable | None]
EXTERNAL_ID_SEARCHES: list[ExternalIdSearch] = []


def register_external_id_search(search: ExternalIdSearch) -> ExternalIdSearch:
    if search not in EXTERNAL_ID_SEARCHES:
        EXTERNAL_ID_SEARCHES.append(search)
    return search


def console_roles(request) -> dict[int, str]:
    """advertiser id → the request user's role there, read once per request."""
    roles = getattr(request, _ROLES_ATTR, None)
    if roles is None:
        user = request.user
        roles = (
            dict(Membership.objects.filter(user=user).order_by().values_list("advertiser_id", "role"))
            if user.is_authenticated and user.is_active
            else {}
        )
        setattr(request, _ROLES_ATTR, roles)
    return roles


def has_role(request, role: str, advertiser_id: int | None = None) -> bool:
    """At least `role` on that advertiser, or on any advertiser when none is given."""
    user = request.user
    if user.is_active and user.is_superuser:
        return True
    allowed = Role.at_least(role)
    roles = console_roles(request)
    if advertiser_id is None:
        return any(r in allowed for r in roles.values())
    return roles.get(advertiser_id) in allowed


def advertiser_id_of(obj: models.Model | None) -> int | None:
    """The tenant of an object of the tree, a membership, a history record or an advertiser."""
    return None if obj is None else owner_id(obj)


def is_archived(obj: models.Model | None) -> bool:
    status = getattr(obj, "status", None) or getattr(obj, "state", None)
    return status == CampaignStatus.ARCHIVED


def campaign_of(obj: models.Model) -> Campaign:
    if isinstance(obj, Campaign):
        return obj
    return obj.campaign if isinstance(obj, LineItem) else obj.line_item.campaign


def may_delete(request, obj, role: str) -> bool:
    """Deleting is for drafts: nothing under a campaign that never ran has spend."""
    if obj is None or obj.pk is None or is_archived(obj):
        return False
    return campaign_of(obj).status == CampaignStatus.DRAFT and has_role(request, role, advertiser_id_of(obj))


def is_autocomplete(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and match.url_name == "autocomplete")


class ScopedFormFieldsMixin:
    """Form fields of every console form: choices limited to what the user may attach to."""

    edit_role = Role.TRADER

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related is Advertiser:
            kwargs["queryset"] = Advertiser.objects.visible_to(request.user, self.edit_role)
        elif related in (Campaign, LineItem):
            # Nothing new hangs under an archived parent (entity_save would refuse it anyway).
            kwargs["queryset"] = related.objects.visible_to(request.user, self.edit_role).exclude(
                status=CampaignStatus.ARCHIVED
            )
        elif related is get_user_model():
            kwargs["queryset"] = related.objects.filter(is_active=True).order_by(related.USERNAME_FIELD)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        # Archiving a campaign or line item cascades to its children: only the archive action
        # (services) does it, never a status dropdown that would leave the children live.
        if db_field.name == "status" and db_field.model in (Campaign, LineItem):
            kwargs["choices"] = [c for c in db_field.choices if c[0] != CampaignStatus.ARCHIVED]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def budget_fields_readonly(self, request, obj) -> list[str]:
        """Budget fields of this admin's model, when `obj` (the object, or an inline's parent)
        exists and the user is not a manager of its advertiser."""
        fields = BUDGET_FIELDS.get(self.model, ())
        if obj is None or obj.pk is None or has_role(request, Role.MANAGER, advertiser_id_of(obj)):
            return []
        return list(fields)


class TenantAdmin(ScopedFormFieldsMixin, admin.ModelAdmin):
    """A model admin whose every page is scoped to the user's advertisers (see the module doc)."""

    view_role = Role.VIEWER
    edit_role = Role.TRADER
    readonly_on_change: tuple[str, ...] = ()  # e.g. the parent FK: objects do not move between parents

    def scope(self, request, queryset):
        return queryset.visible_to(request.user)

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def has_module_permission(self, request):
        return has_role(request, self.view_role)

    def has_view_permission(self, request, obj=None):
        return has_role(request, self.view_role, advertiser_id_of(obj))

    def has_add_permission(self, request):
        return has_role(request, self.edit_role)

    def has_change_permission(self, request, obj=None):
        if obj is not None and is_archived(obj):
            return False
        return has_role(request, self.edit_role, advertiser_id_of(obj))

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), *self.budget_fields_readonly(request, obj)]
        if obj is not None:
            readonly += [f for f in self.readonly_on_change if f not in readonly]
        return readonly

    def get_search_results(self, request, queryset, search_term):
        scoped = queryset
        if is_autocomplete(request) and hasattr(queryset, "visible_to"):
            # Suggestions are only what the asking form accepts: parents the user may edit under.
            scoped = queryset.visible_to(request.user, Role.TRADER)
            if self.model in (Campaign, LineItem):
                scoped = scoped.exclude(status=CampaignStatus.ARCHIVED)
        results, may_have_duplicates = super().get_search_results(request, scoped, search_term)
        term = search_term.strip()
        if term and EXTERNAL_ID_SEARCHES:
            matches = models.Q(pk__in=results.values("pk"))
            for search in EXTERNAL_ID_SEARCHES:
                pks = search(model=self.model, term=term)
                if pks is not None:
                    matches |= models.Q(pk__in=pks)
            results = scoped.filter(matches)
        return results, may_have_duplicates


class TreeAdmin(TenantAdmin):
    """Admin for campaigns, line items, keywords, product ads and targets: every write goes
    through `entity_save` (validation, archive rules, budget and bid history)."""

    def guard_budget_fields(self, request, obj) -> None:
        # The form already shows budgets read-only to non-managers; this refuses a crafted POST.
        budgets = set(BUDGET_FIELDS.get(type(obj), ()))
        if obj.pk and budgets and not has_role(request, Role.MANAGER, advertiser_id_of(obj)):
            if budgets & changed_fields(obj):
                raise PermissionDenied("Only a manager of this advertiser changes budgets.")

    def has_delete_permission(self, request, obj=None):
        # Without an object (the changelist's bulk delete) there is no draft to check: refused.
        return may_delete(request, obj, self.edit_role)

    def save_model(self, request, obj, form, change):
        self.guard_budget_fields(request, obj)
        entity_save(obj=obj, by=request.user, source="console")

    def delete_model(self, request, obj):
        entity_delete(obj=obj, by=request.user)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            entity_delete(obj=obj, by=request.user)
        for obj in instances:
            self.guard_budget_fields(request, obj)
            entity_save(obj=obj, by=request.user, source="console")
        formset.save_m2m()


class TenantInline(ScopedFormFieldsMixin):
    """Mixin for inlines: rows scoped like every queryset; permissions from the parent's
    advertiser (`obj` is the parent here), following the same rule as the model admins."""

    view_role = Role.VIEWER
    edit_role = Role.TRADER
    formset = CappedInlineFormSet

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_view_permission(self, request, obj=None):
        return has_role(request, self.view_role, advertiser_id_of(obj))

    def has_add_permission(self, request, obj=None):
        return not is_archived(obj) and has_role(request, self.edit_role, advertiser_id_of(obj))

    def has_change_permission(self, request, obj=None):
        return not is_archived(obj) and has_role(request, self.edit_role, advertiser_id_of(obj))

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and not is_archived(obj)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.budget_fields_readonly(request, obj)]


class TreeInline(TenantInline):
    """Inline rows of the campaign tree: deleted (via `entity_delete`) only under a draft."""

    def has_delete_permission(self, request, obj=None):
        return may_delete(request, obj, self.edit_role)
