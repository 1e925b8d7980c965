"""/api/v1/campaigns/: the tree's viewsets (campaigns.api.routes) and the rules engine's endpoints."""

from campaigns.api.routes import router
from campaigns.rules.api.urls import urlpatterns as rules_urlpatterns

app_name = "campaigns"

urlpatterns = [*rules_urlpatterns, *router.urls]
