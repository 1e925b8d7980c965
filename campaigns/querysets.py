"""Tenancy: the one helper that decides which advertisers (and so which rows) a user sees.

Every API queryset and every admin changelist for non-superusers goes through `visible_to`.
"""

from django.db import models

from campaigns.choices import Role


def _is_usable(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


class AdvertiserQuerySet(models.QuerySet):
    def visible_to(self, user, role: str = Role.VIEWER):
        """Advertisers where `user` holds at least `role`; superusers see all."""
        if not _is_usable(user):
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(memberships__user=user, memberships__role__in=Role.at_least(role))


class TenantQuerySet(models.QuerySet):
    """Rows owned by an advertiser through `Model.TENANT_PATH` (default: `advertiser`)."""

    def visible_to(self, user, role: str = Role.VIEWER):
        if not _is_usable(user):
            return self.none()
        if user.is_superuser:
            return self.all()
        from campaigns.models import Advertiser

        path = getattr(self.model, "TENANT_PATH", "advertiser")
        return self.filter(**{f"{path}__in": Advertiser.objects.visible_to(user, role).values("pk")})

    def for_advertiser(self, advertiser):
        return self.filter(**{getattr(self.model, "TENANT_PATH", "advertiser"): advertiser})
