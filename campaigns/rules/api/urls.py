"""Included at /api/v1/campaigns/ by campaigns.api.urls."""

from rest_framework.routers import SimpleRouter

from campaigns.rules.api.views import EventViewSet, RuleMatchViewSet, RuleViewSet

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")
router.register("rules", RuleViewSet, basename="rule")
router.register("rule-matches", RuleMatchViewSet, basename="rule-match")

urlpatterns = router.urls
