"""Who may do what on an advertiser's rows: roles checked against the object's advertiser.

Visibility (what a user may see at all) is `visible_to` in campaigns.querysets; these checks run
only on rows the user can already see, so refusing them with 403 leaks nothing. Rows the user
cannot see never get this far: they answer 404.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from campaigns.choices import Role
from campaigns.models import Advertiser


def advertiser_id_of(obj) -> int:
    """The id of the advertiser that owns `obj` (an Advertiser, or any row with a TENANT_PATH)."""
    if isinstance(obj, Advertiser):
        return obj.pk
    *hops, last = getattr(type(obj), "TENANT_PATH", "advertiser").split("__")
    for hop in hops:
        obj = getattr(obj, hop)
    return getattr(obj, f"{last}_id")


def has_role(user, advertiser_id: int, role: str) -> bool:
    """Whether `user` holds at least `role` on the advertiser; superusers hold every role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return Advertiser.objects.visible_to(user, role).filter(pk=advertiser_id).exists()


def role_message(role: str) -> str:
    return f"This needs the {role} role on the advertiser."


class HasAdvertiserRole(BasePermission):
    """Object level: the caller's role on the object's advertiser reaches `view.required_role()`.

    Creates are checked by the view once the parent is known (it is in the request body).
    """

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        role = view.required_role()
        if role is None:
            return True
        if not has_role(request.user, advertiser_id_of(obj), role):
            self.message = role_message(role)
            return False
        return True


class SuperuserWrites(BasePermission):
    """Everyone authenticated reads what they can see; only superusers create or change."""

    message = "Only superusers can create or change advertisers."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        # Updates are decided per object, after the lookup, so another tenant's id still answers 404.
        return request.method in SAFE_METHODS or view.action != "create" or request.user.is_superuser

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or request.user.is_superuser


__all__ = ["HasAdvertiserRole", "SuperuserWrites", "advertiser_id_of", "has_role", "role_message", "Role"]
