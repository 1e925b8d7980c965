"""The console: deals with dates and floors and their filters, the line item's Kargo panel, tenancy."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealImport, KargoDealTarget
from creatives.kargo.services import kargo_deal_target_create
from tests.integrations.test_sync_support import build_tree
from tests.kargo.factories import ANCHOR_TAG, KargoDealFactory, kargo_format

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_trader(trader):
    trader.is_staff = True
    trader.save()
    return trader


def test_the_deal_list_shows_dates_and_floors_and_filters_ending_soon(admin_client_logged_in, advertiser):
    soon = KargoDealFactory(offered_to=[advertiser], end_date=timezone.localdate() + timedelta(days=10),
                            floor_cpm=Decimal("4.75"))
    later = KargoDealFactory(offered_to=[advertiser], end_date=timezone.localdate() + timedelta(days=40))

    page = admin_client_logged_in.get("/admin/creatives/kargodeal/").content.decode()
    ending = admin_client_logged_in.get("/admin/creatives/kargodeal/?ending=14").content.decode()

    assert soon.deal_id in page and later.deal_id in page and "4.75" in page
    assert soon.deal_id in ending and later.deal_id not in ending


def test_the_not_trafficked_filter_leaves_out_deals_on_amazon(admin_client_logged_in, advertiser):
    [li] = build_tree(advertiser)
    trafficked, waiting = KargoDealFactory(offered_to=[advertiser]), KargoDealFactory(offered_to=[advertiser])
    target = kargo_deal_target_create(deal=trafficked, line_item=li)
    KargoDealTarget.objects.filter(pk=target.pk).update(trafficked_at=timezone.now())

    page = admin_client_logged_in.get("/admin/creatives/kargodeal/?trafficked=no").content.decode()

    assert waiting.deal_id in page and trafficked.deal_id not in page


def test_staff_see_only_deals_offered_to_their_advertisers(client, staff_trader, advertiser, other_advertiser):
    mine, theirs = KargoDealFactory(offered_to=[advertiser]), KargoDealFactory(offered_to=[other_advertiser])
    client.force_login(staff_trader)

    page = client.get("/admin/creatives/kargodeal/").content.decode()

    assert mine.deal_id in page and theirs.deal_id not in page
    assert client.get(f"/admin/creatives/kargodeal/{theirs.pk}/change/").status_code == 302  # not found → index


def test_the_line_item_page_shows_its_deals_and_kargo_creatives(admin_client_logged_in, advertiser):
    [li] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser], name="Kargo Anchor Q3")
    kargo_deal_target_create(deal=deal, line_item=li)
    KargoCreative.objects.create(advertiser=advertiser, name="Anchor spring", format=kargo_format("Anchor"),
                                 deal=deal, tag_type="html", tag=ANCHOR_TAG, width=320, height=50)

    page = admin_client_logged_in.get(f"/admin/campaigns/lineitem/{li.pk}/change/").content.decode()

    assert "Targeted Kargo deals and Kargo creatives" in page
    assert "Kargo Anchor Q3" in page and "Anchor spring (Anchor)" in page


def test_the_line_item_page_still_saves_with_the_panel(admin_client_logged_in, advertiser):
    [li] = build_tree(advertiser)
    kargo_deal_target_create(deal=KargoDealFactory(offered_to=[advertiser]), line_item=li)
    page = admin_client_logged_in.get(f"/admin/campaigns/lineitem/{li.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["name"] = "Renamed line item"
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name, field in management.fields.items():
            data[f"{management.prefix}-{name}"] = management.initial.get(name, field.initial) or 0

    response = admin_client_logged_in.post(f"/admin/campaigns/lineitem/{li.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    li.refresh_from_db()
    assert li.name == "Renamed line item"


def test_a_csv_is_imported_from_the_console(admin_client_logged_in, advertiser, django_capture_on_commit_callbacks):
    csv_bytes = (b"Deal ID,Deal Name,Deal Type,Floor CPM,Start Date,End Date\n"
                 b"KRG-A,Kargo Anchor,Preferred,1.50,2026-01-01,2026-12-31\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged_in.post("/admin/creatives/kargodealimport/add/", {
            "advertiser": advertiser.pk, "upload": SimpleUploadedFile("kargo.csv", csv_bytes)})

    assert response.status_code == 302
    assert KargoDealImport.objects.get().status == "done"
    assert KargoDeal.objects.get(deal_id="KRG-A").deal_type == "preferred"


def test_a_kargo_creative_with_the_wrong_size_is_refused_in_the_console(admin_client_logged_in, advertiser):
    deal = KargoDealFactory(offered_to=[advertiser])
    response = admin_client_logged_in.post("/admin/creatives/kargocreative/add/", {
        "advertiser": advertiser.pk, "name": "Anchor", "format": kargo_format("Anchor").pk, "deal": deal.pk,
        "tag_type": "html", "tag": ANCHOR_TAG, "width": 300, "height": 250, "click_trackers": "[]",
        "impression_trackers": "[]"})

    assert response.status_code == 200
    assert "runs at 320×50" in response.content.decode()
    assert not KargoCreative.objects.exists()


@pytest.mark.parametrize("field,value,message", [
    ("deal_id", "deal 42", "A deal id has no spaces."),
    ("currency", "u s", "&#x27;u s&#x27; is not a currency code (three letters, such as USD)."),
])
def test_the_console_refuses_what_the_api_and_the_import_refuse(admin_client_logged_in, field, value, message):
    form = {"deal_id": "deal-42", "name": "Deal", "deal_type": "private_auction", "floor_cpm": "2.50",
            "currency": "USD", "start_date": date.today().isoformat(),
            "end_date": (date.today() + timedelta(days=30)).isoformat(), "state": "enabled", field: value}
    response = admin_client_logged_in.post("/admin/creatives/kargodeal/add/", form)
    assert response.status_code == 200 and message in response.content.decode()
    assert not KargoDeal.objects.exists()


def test_the_console_stores_a_valid_deal(admin_client_logged_in):
    form = {"deal_id": "deal-42", "name": "Deal", "deal_type": "private_auction", "floor_cpm": "2.50",
            "currency": "USD", "start_date": date.today().isoformat(),
            "end_date": (date.today() + timedelta(days=30)).isoformat(), "state": "enabled"}
    response = admin_client_logged_in.post("/admin/creatives/kargodeal/add/", form)
    assert response.status_code == 302
    assert KargoDeal.objects.get().deal_id == "deal-42"
