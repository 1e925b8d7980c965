"""/api/v1/creatives/kargo/: formats, deals, deal targets, creatives and imports, scoped by advertiser."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealImport, KargoDealTarget
from tests.integrations.test_sync_support import build_tree
from tests.kargo.factories import ANCHOR_TAG, KargoDealFactory, kargo_format

pytestmark = pytest.mark.django_db
BASE = "/api/v1/creatives/kargo"


@pytest.fixture
def trader_api(api_for, trader):
    return api_for(trader)


def test_formats_are_seeded_from_the_reference_and_linked_to_their_specs(trader_api):
    rows = {f["name"]: f for f in trader_api.get(f"{BASE}/formats/").json()["results"]}

    assert len(rows) == 11
    assert (rows["Anchor"]["dsp_size"], rows["Venti"]["dsp_size"]) == ("320x50", "300x250")
    assert rows["VAST Viewstream"]["is_vast"] and rows["VAST Viewstream"]["media_type"] == "video"
    assert all(r["ad_spec"] for r in rows.values())


def test_only_superusers_change_formats(trader_api):
    anchor = kargo_format("Anchor")
    assert trader_api.patch(f"{BASE}/formats/{anchor.pk}/", {"is_active": False}, format="json").status_code == 403


def test_deals_are_scoped_by_the_advertisers_they_are_offered_to(trader_api, advertiser, other_advertiser):
    mine = KargoDealFactory(offered_to=[advertiser, other_advertiser])
    theirs = KargoDealFactory(offered_to=[other_advertiser])

    listed = trader_api.get(f"{BASE}/deals/").json()["results"]

    assert [d["deal_id"] for d in listed] == [mine.deal_id]
    assert listed[0]["advertisers"] == [advertiser.pk]  # the other tenant is not revealed
    assert trader_api.get(f"{BASE}/deals/{theirs.pk}/").status_code == 404


def test_a_trader_enters_a_deal_for_their_advertiser(trader_api, advertiser, other_advertiser):
    body = {"deal_id": "KRG-1", "name": "Kargo Anchor PMP", "deal_type": "private_auction", "floor_cpm": "2.50",
            "currency": "usd", "start_date": date.today().isoformat(),
            "end_date": (date.today() + timedelta(days=9)).isoformat(), "advertisers": [advertiser.pk],
            "formats": [kargo_format("Anchor").pk]}

    created = trader_api.post(f"{BASE}/deals/", body, format="json")
    refused = trader_api.post(f"{BASE}/deals/", {**body, "deal_id": "KRG-2", "advertisers": [other_advertiser.pk]},
                              format="json")

    assert created.status_code == 201, created.json()
    deal = KargoDeal.objects.get(deal_id="KRG-1")
    assert (str(deal.floor_cpm), deal.currency) == ("2.50", "USD")
    assert refused.status_code == 400 and "advertisers" in refused.json()


def test_updating_a_shared_deal_keeps_the_offers_the_caller_cannot_see(trader_api, advertiser, other_advertiser):
    deal = KargoDealFactory(offered_to=[advertiser, other_advertiser])

    response = trader_api.patch(f"{BASE}/deals/{deal.pk}/", {"name": "Renamed", "advertisers": [advertiser.pk]},
                                format="json")

    assert response.status_code == 200
    assert set(deal.advertisers.values_list("pk", flat=True)) == {advertiser.pk, other_advertiser.pk}


def test_a_line_item_targets_a_deal_offered_to_its_advertiser(trader_api, advertiser, other_advertiser):
    [li] = build_tree(advertiser)
    offered = KargoDealFactory(offered_to=[advertiser])
    not_offered = KargoDealFactory(offered_to=[other_advertiser])

    ok = trader_api.post(f"{BASE}/deal-targets/", {"line_item": li.pk, "deal": offered.pk}, format="json")
    hidden = trader_api.post(f"{BASE}/deal-targets/", {"line_item": li.pk, "deal": not_offered.pk}, format="json")

    assert ok.status_code == 201, ok.json()
    assert hidden.status_code == 400 and "deal" in hidden.json()
    assert KargoDealTarget.objects.count() == 1


def test_another_advertisers_line_item_cannot_target_deals(trader_api, other_advertiser, advertiser):
    [li] = build_tree(other_advertiser)
    deal = KargoDealFactory(offered_to=[advertiser, other_advertiser])

    response = trader_api.post(f"{BASE}/deal-targets/", {"line_item": li.pk, "deal": deal.pk}, format="json")

    assert response.status_code == 400 and "line_item" in response.json()


def test_a_kargo_creative_is_validated_and_created(trader_api, advertiser):
    deal = KargoDealFactory(offered_to=[advertiser])
    body = {"advertiser": advertiser.pk, "name": "Anchor", "format": kargo_format("Anchor").pk, "deal": deal.pk,
            "tag_type": "html", "tag": ANCHOR_TAG, "width": 320, "height": 50,
            "impression_trackers": ["https://px.kargo.com/i"]}

    ok = trader_api.post(f"{BASE}/creatives/", body, format="json")
    wrong = trader_api.post(f"{BASE}/creatives/", {**body, "width": 300, "height": 250,
                                                   "tag": '<div><img src="http://x.example.com/a.png"></div>'},
                            format="json")

    assert ok.status_code == 201, ok.json()
    assert ok.json()["creative_status"] in ("pending", "processing", "ready")
    assert wrong.status_code == 400
    assert "runs at 320×50" in wrong.json()["width"][0]
    assert "http:" in wrong.json()["tag"][0]
    assert KargoCreative.objects.count() == 1


def test_a_viewer_cannot_create_kargo_creatives(api_for, viewer, advertiser):
    deal = KargoDealFactory(offered_to=[advertiser])
    body = {"advertiser": advertiser.pk, "name": "Anchor", "format": kargo_format("Anchor").pk, "deal": deal.pk,
            "tag_type": "html", "tag": ANCHOR_TAG}

    assert api_for(viewer).post(f"{BASE}/creatives/", body, format="json").status_code == 403


def test_another_advertisers_kargo_creative_is_not_found(trader_api, other_advertiser):
    deal = KargoDealFactory(offered_to=[other_advertiser])
    kc = KargoCreative.objects.create(advertiser=other_advertiser, name="x", format=kargo_format("Anchor"), deal=deal,
                                      tag_type="html", tag=ANCHOR_TAG)

    assert trader_api.get(f"{BASE}/creatives/{kc.pk}/").status_code == 404
    assert trader_api.get(f"{BASE}/creatives/").json()["results"] == []


def test_a_csv_import_is_queued_and_reports_its_result(trader_api, advertiser, django_capture_on_commit_callbacks):
    csv_bytes = (b"Deal ID,Deal Name,Deal Type,Floor CPM,Start Date,End Date,Formats\n"
                 b"KRG-9,Kargo Venti,PMP,$3.00,2026-01-01,2026-12-31,Venti;Key Art\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = trader_api.post(f"{BASE}/imports/", {"advertiser": advertiser.pk,
                                                        "file": SimpleUploadedFile("deals.csv", csv_bytes)},
                                   format="multipart")

    assert response.status_code == 202, response.json()
    job = trader_api.get(f"{BASE}/imports/{response.json()['id']}/").json()
    assert (job["status"], job["created"], job["errors"]) == ("done", 1, [])
    assert KargoDeal.objects.get(deal_id="KRG-9").advertisers.get() == advertiser


def test_another_advertisers_import_is_not_found(trader_api, other_advertiser):
    job = KargoDealImport.objects.create(advertiser=other_advertiser, content="x")

    assert trader_api.get(f"{BASE}/imports/{job.pk}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"width": 0, "height": 0}, {"width": 300}, {"height": 250}])
def test_a_format_with_a_bad_size_pair_is_a_400_not_a_500(body):
    from rest_framework.test import APIClient

    from tests.campaigns.factories import UserFactory

    admin = UserFactory(is_superuser=True, is_staff=True)
    client = APIClient()
    client.force_authenticate(admin)
    payload = {"name": "Odd format", "media_type": "display", "is_vast": False, **body}
    response = client.post("/api/v1/creatives/kargo/formats/", payload, format="json")
    assert response.status_code == 400, response.content
