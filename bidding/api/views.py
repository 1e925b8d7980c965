import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.views import APIView

from bidding import metrics
from bidding.api.filters import ProductBidFilter
from bidding.api.serializers import (
    LegacyBidErrorSerializer,
    LegacyBidRequestSerializer,
    LegacyBidResponseSerializer,
    ProductBidSerializer,
)
from bidding.models import ProductBid
from bidding.services import bid_calculate
from bidding.validation import BidInputError, loads_exact, parse_bid_input

log = logging.getLogger(__name__)


def _json(body: str, status_code: int) -> HttpResponse:
    return HttpResponse(body, status=status_code, content_type="application/json")


class LegacyBidView(APIView):
    """POST /api/bid/: the legacy contract, kept byte-compatible for existing callers."""

    parser_classes = []  # the body is parsed exactly (Decimals) by bidding.validation

    @extend_schema(
        request=LegacyBidRequestSerializer,
        responses={200: LegacyBidResponseSerializer, 400: OpenApiResponse(LegacyBidErrorSerializer)},
        summary="Calculate and store an adjusted CPC (legacy contract)",
    )
    def post(self, request):
        try:
            data = loads_exact(request.body)
        except RequestDataTooBig:
            return self._refuse(BidInputError({"non_field_errors": ["Request body too large."]}))
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or absurdly nested
            return self._refuse(BidInputError({"non_field_errors": ["Request body is not valid JSON."]}))
        try:
            bid_input = parse_bid_input(data)
        except BidInputError as refusal:
            return self._refuse(refusal)
        bid = bid_calculate(
            product_id=bid_input.product_id,
            current_cpc=bid_input.current_cpc,
            target_roas=bid_input.target_roas,
            source="legacy_api",
        )
        # The Decimal's own digits go out as the JSON number: exactly what was stored.
        return _json(f'{{"adjusted_cpc": {bid.adjusted_cpc}, "bid_id": {bid.pk}}}', status.HTTP_200_OK)

    def _refuse(self, refusal: BidInputError) -> HttpResponse:
        metrics.BIDS_REFUSED.labels(source="legacy_api").inc()
        body = {"errors": refusal.legacy_errors, "fields": refusal.fields}
        return _json(json.dumps(body), status.HTTP_400_BAD_REQUEST)


class ProductBidViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Bid calculations: create one (stored with its exact inputs), list with filters, retrieve."""

    queryset = ProductBid.objects.all()
    serializer_class = ProductBidSerializer
    filterset_class = ProductBidFilter
    ordering_fields = ["calculated_at", "product_id", "id"]

    def perform_create(self, serializer):
        serializer.instance = bid_calculate(source="api_v1", **serializer.validated_data)
