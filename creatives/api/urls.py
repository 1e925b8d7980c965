"""/api/v1/creatives/: creatives, upload batches, assignments and ad specs."""

from rest_framework.routers import DefaultRouter

from creatives.api import views
from creatives.kargo.api.urls import register as register_kargo

app_name = "creatives"

router = DefaultRouter()
router.register("creatives", views.CreativeViewSet, basename="creative")
router.register("batches", views.UploadBatchViewSet, basename="batch")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("specs", views.AdSpecViewSet, basename="adspec")
register_kargo(router)  # /api/v1/creatives/kargo/…

urlpatterns = router.urls
