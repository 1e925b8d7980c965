from rest_framework.routers import DefaultRouter

from bidding.api.views import ProductBidViewSet

app_name = "bidding"

router = DefaultRouter()
router.register("bids", ProductBidViewSet, basename="bid")

urlpatterns = router.urls
