"""Registers the Kargo endpoints on the creatives router: /api/v1/creatives/kargo/…"""

from creatives.kargo.api import views


def register(router) -> None:
    router.register("kargo/formats", views.KargoFormatViewSet, basename="kargo-format")
    router.register("kargo/deals", views.KargoDealViewSet, basename="kargo-deal")
    router.register("kargo/deal-targets", views.KargoDealTargetViewSet, basename="kargo-deal-target")
    router.register("kargo/creatives", views.KargoCreativeViewSet, basename="kargo-creative")
    router.register("kargo/imports", views.KargoDealImportViewSet, basename="kargo-import")
