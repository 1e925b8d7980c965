from django.urls import path

from bidding.api.views import LegacyBidView

urlpatterns = [
    path("bid/", LegacyBidView.as_view(), name="bid_endpoint"),
]
