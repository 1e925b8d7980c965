"""What fuzzing the Kargo endpoints (tests/fuzz, FUZZ_IN_PROGRESS=1) and reviewing the paths it
could not reach turned up: each case refused with a clear error and nothing written, and answered
with a status the OpenAPI schema documents for the operation (tests.fuzz.openapi.assert_conforms)."""

from datetime import date, timedelta

import pytest

from campaigns.choices import CampaignStatus, EntityState
from campaigns.services import campaigns_set_status, entities_set_state
from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealTarget
from tests.fuzz.openapi import assert_conforms, call
from tests.integrations.test_sync_support import build_tree
from tests.kargo.factories import ANCHOR_TAG, KargoDealFactory, kargo_format

pytestmark = pytest.mark.django_db
BASE = "/api/v1/creatives/kargo"



def _deal_body(advertiser, **overrides) -> dict:
    return {"deal_id": "KRG-1", "name": "Kargo Anchor PMP", "deal_type": "private_auction", "floor_cpm": "2.50",
            "currency": "USD", "start_date": date.today().isoformat(),
            "end_date": (date.today() + timedelta(days=9)).isoformat(), "advertisers": [advertiser.pk],
            **overrides}


@pytest.mark.parametrize("currency", ["U$D", "12 ", "€€€", "us"])
def test_a_deal_in_something_that_is_not_a_currency_code_is_refused(token, advertiser, currency):
    response = call("POST", f"{BASE}/deals/", token, json_body=_deal_body(advertiser, currency=currency))

    assert response.status_code == 400
    assert "currency" in response.json
    assert not KargoDeal.objects.exists()
    assert_conforms("POST", f"{BASE}/deals/", response)


@pytest.mark.parametrize("deal_id", ["KRG 1", "KRG\t1", "KRG-1\u00a0X"])
def test_a_deal_id_with_spaces_is_refused_as_the_csv_import_refuses_it(token, advertiser, deal_id):
    response = call("POST", f"{BASE}/deals/", token, json_body=_deal_body(advertiser, deal_id=deal_id))

    assert response.status_code == 400
    assert "deal_id" in response.json
    assert not KargoDeal.objects.exists()


def test_a_deals_currency_cannot_be_patched_into_garbage_either(token, advertiser):
    deal = KargoDealFactory(offered_to=[advertiser])

    response = call("PATCH", f"{BASE}/deals/{deal.pk}/", token, json_body={"currency": "1$!"})

    assert response.status_code == 400 and "currency" in response.json
    deal.refresh_from_db()
    assert deal.currency == "USD"
    assert_conforms("PATCH", f"{BASE}/deals/{{id}}/", response)


@pytest.mark.parametrize("archive", ["campaign", "line_item"])
def test_an_archived_line_item_cannot_start_targeting_a_deal(token, advertiser, archive):
    [line_item] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser])
    if archive == "campaign":
        campaigns_set_status(campaigns=[line_item.campaign], status=CampaignStatus.ARCHIVED)
    else:
        entities_set_state(objects=[line_item], state=EntityState.ARCHIVED)

    response = call("POST", f"{BASE}/deal-targets/", token, json_body={"line_item": line_item.pk, "deal": deal.pk})

    assert response.status_code == 409, response.json
    assert "archived" in response.json["detail"].lower()
    assert not KargoDealTarget.objects.exists()
    assert_conforms("POST", f"{BASE}/deal-targets/", response)


def test_a_kargo_creative_cannot_be_made_for_an_archived_deal(token, advertiser):
    deal = KargoDealFactory(offered_to=[advertiser], carries=["Anchor"], state="archived")
    body = {"advertiser": advertiser.pk, "name": "Anchor", "format": kargo_format("Anchor").pk, "deal": deal.pk,
            "tag_type": "html", "tag": ANCHOR_TAG, "width": 320, "height": 50}

    response = call("POST", f"{BASE}/creatives/", token, json_body=body)

    assert response.status_code == 400
    assert "archived" in response.json["deal"][0]
    assert not KargoCreative.objects.exists()
    assert_conforms("POST", f"{BASE}/creatives/", response)


def test_the_csv_import_refuses_the_same_currencies_as_the_api():
    from creatives.kargo.imports import parse_deal_rows

    header = "Deal ID,Deal Name,Deal Type,Floor CPM,Currency,Start Date,End Date\n"
    rows, errors = parse_deal_rows(header + "KRG-1,Deal,PMP,2.50,ÉÉÉ,2026-01-01,2026-12-31\n")

    assert rows == []
    assert [e["field"] for e in errors] == ["currency"]
