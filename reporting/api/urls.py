"""/api/v1/reporting/: reports and exports, daily rows, imports, pacing, budget recommendations."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from reporting.api import views

app_name = "reporting"

router = DefaultRouter()
router.register("performance", views.DailyPerformanceViewSet, basename="performance")
router.register("pacing/campaigns", views.CampaignPacingViewSet, basename="campaign-pacing")
router.register("pacing/line-items", views.LineItemPacingViewSet, basename="lineitem-pacing")
router.register("recommendations", views.RecommendationViewSet, basename="recommendation")
router.register("imports", views.PerformanceImportViewSet, basename="import")

urlpatterns = [
    path("report/", views.ReportView.as_view(), name="report"),
    path("report/export/", views.ReportExportView.as_view(), name="report-export"),
    *router.urls,
]
