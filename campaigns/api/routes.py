"""The router for /api/v1/campaigns/ (included by campaigns.api.urls)."""

from rest_framework.routers import DefaultRouter

from campaigns.api import views

router = DefaultRouter()
router.register("advertisers", views.AdvertiserViewSet, basename="advertiser")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("line-items", views.LineItemViewSet, basename="lineitem")
router.register("keywords", views.KeywordViewSet, basename="keyword")
router.register("product-ads", views.ProductAdViewSet, basename="productad")
router.register("product-targets", views.ProductTargetViewSet, basename="producttarget")
router.register("changes", views.ChangeRecordViewSet, basename="changerecord")
from campaigns.bulksheets.api.views import BulkSheetJobViewSet; router.register("bulk-sheets", BulkSheetJobViewSet, basename="bulksheetjob")  # noqa: E402,E702
