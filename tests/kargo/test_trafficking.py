"""A Kargo deal and creative entered here end up on the fake Amazon DSP (over real HTTP) as deal
targeting and an associated third-party creative; every refusal pushes nothing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from creatives.kargo.choices import DealType, TagType
from creatives.kargo.imports import kargo_deal_import_start
from creatives.kargo.models import KargoCreative, KargoDeal, KargoDealTarget
from creatives.kargo.services import kargo_creative_create, kargo_deal_target_create
from integrations.models import ExternalRef, SyncStatus
from tests.campaigns.factories import AdvertiserFactory
from tests.integrations.test_sync_support import build_tree, fake_state, sync
from tests.kargo.factories import ANCHOR_TAG, VAST_XML, KargoDealFactory, kargo_format

pytestmark = pytest.mark.django_db


def _anchor(advertiser, deal, run_on_commit, **extra):
    with run_on_commit():
        kc = kargo_creative_create(
            advertiser=advertiser, name="Anchor spring", format=kargo_format("Anchor"), deal=deal,
            tag_type=TagType.HTML, tag=ANCHOR_TAG, width=320, height=50,
            click_through_url="https://acme.example.com/spring",
            impression_trackers=["https://px.kargo.com/imp?c=1"], click_trackers=["https://px.kargo.com/clk?c=1"],
            **extra)
    kc.creative.refresh_from_db()
    return kc


def _remote_targets(client):
    return list(client.iter_targets())


def test_a_deal_and_creative_become_deal_targeting_and_an_associated_third_party_creative(
        fake_dsp, dsp_connection, dsp_client, advertiser, run_on_commit):
    items = build_tree(advertiser, line_items=2)
    deal = KargoDealFactory(offered_to=[advertiser], carries=["Anchor"])
    for li in items:
        kargo_deal_target_create(deal=deal, line_item=li)
    kc = _anchor(advertiser, deal, run_on_commit)
    assert kc.creative.status == "ready"  # the pipeline checked it against the Kargo Anchor spec

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.stats["kargo"] == {"deal_targets": 2, "guaranteed_deals": 0, "creatives": 1, "associations": 2}
    groups = {g["externalId"]: g["adGroupId"] for g in dsp_client.iter_ad_groups()}
    deal_targets = [t for t in _remote_targets(dsp_client) if "dealTarget" in t["targetDetails"]]
    assert sorted(t["adGroupId"] for t in deal_targets) == sorted(groups.values())
    assert {t["targetDetails"]["dealTarget"]["dealId"] for t in deal_targets} == {deal.deal_id}
    assert {t["targetDetails"]["dealTarget"]["dealType"] for t in deal_targets} == {"PRIVATE_AUCTION"}
    [creative] = list(dsp_client.iter_ad_creatives())
    props = creative["adCreativeFormatProperties"]
    assert props["adCreativeFormatType"] == "THIRD_PARTY"
    assert props["thirdPartyTag"] == {"tagType": "HTML", "tagSource": ANCHOR_TAG}
    assert props["creativeSizes"] == [{"width": 320, "height": 50}]
    assert creative["adExperiences"] == ["THIRD_PARTY_DISPLAY"]
    assert {"type": "IMPRESSION", "url": "https://px.kargo.com/imp?c=1"} in props["trackingUrls"]
    associations = list(dsp_client.iter_associations())
    assert sorted(a["adGroupId"] for a in associations) == sorted(groups.values())
    assert {a["adCreativeId"] for a in associations} == {creative["adCreativeId"]}
    assert KargoDealTarget.objects.filter(trafficked_at__isnull=False).count() == 2
    assert KargoCreative.objects.get().trafficked_at is not None


def test_a_second_push_sends_no_kargo_write(fake_dsp, dsp_connection, dsp_client, advertiser, run_on_commit):
    [li] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser])
    kargo_deal_target_create(deal=deal, line_item=li)
    _anchor(advertiser, deal, run_on_commit)
    sync(advertiser, client=dsp_client)

    again = sync(advertiser, client=dsp_client)

    assert again.status == SyncStatus.SUCCEEDED
    assert again.stats["kargo"] == {"deal_targets": 0, "guaranteed_deals": 0, "creatives": 0, "associations": 0}
    entities = fake_state(fake_dsp)["entities"]
    assert (entities["targets"], entities["adCreatives"], entities["associations"]) == (1, 1, 1)


def test_an_imported_deal_list_is_trafficked_too(fake_dsp, dsp_connection, dsp_client, advertiser, run_on_commit):
    [li] = build_tree(advertiser)
    end = (date.today() + timedelta(days=20)).isoformat()
    csv_text = ("Deal ID,Deal Name,Deal Type,Floor CPM,Currency,Start Date,End Date,Formats\n"
                f"KRG-PG-1,Kargo Venti PG,Programmatic Guaranteed,$1.10,USD,{date.today().isoformat()},{end},Venti\n")
    with run_on_commit():
        job = kargo_deal_import_start(advertiser=advertiser, content=csv_text, filename="kargo.csv")
    job.refresh_from_db()
    assert job.status == "done", job.errors
    deal = KargoDeal.objects.get(deal_id="KRG-PG-1")
    kargo_deal_target_create(deal=deal, line_item=li)
    with run_on_commit():
        kargo_creative_create(advertiser=advertiser, name="Viewstream", format=kargo_format("VAST Viewstream"),
                              deal=KargoDealFactory(offered_to=[advertiser]), tag_type=TagType.VAST_XML,
                              vast_xml=VAST_XML)  # another deal: not pushed with this one
        kargo_creative_create(advertiser=advertiser, name="Venti", format=kargo_format("Venti"), deal=deal,
                              tag_type=TagType.HTML, tag='<div><script src="https://k.kargo.com/v.js"></script></div>')

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    [group] = list(dsp_client.iter_ad_groups())
    assert group["targetingSettings"] == {"targetedPGDealId": "KRG-PG-1"}
    [creative] = list(dsp_client.iter_ad_creatives())
    assert creative["name"] == "Venti"
    [association] = list(dsp_client.iter_associations())
    assert association["adGroupId"] == group["adGroupId"]


def test_inline_vast_goes_as_a_third_party_video_creative(fake_dsp, dsp_connection, dsp_client, advertiser):
    [li] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser])
    kargo_deal_target_create(deal=deal, line_item=li)
    kargo_creative_create(advertiser=advertiser, name="Viewstream", format=kargo_format("VAST Viewstream"),
                          deal=deal, tag_type=TagType.VAST_XML, vast_xml=VAST_XML)

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    [creative] = list(dsp_client.iter_ad_creatives())
    assert creative["adExperiences"] == ["THIRD_PARTY_VIDEO"]
    assert creative["adCreativeFormatProperties"]["thirdPartyTag"]["tagType"] == "VAST_XML"


# --- refusals: a clear error and nothing pushed --------------------------------------------------

def _refused(fake_dsp, dsp_client, advertiser, expected: str):
    run = sync(advertiser, client=dsp_client)
    assert run.status == SyncStatus.FAILED
    assert "nothing pushed" in run.error and expected in run.error
    assert any(e["code"] == "KARGO_DEAL_REFUSED" and expected in e["message"] for e in run.errors)
    assert fake_state(fake_dsp)["entities"]["campaigns"] == 0
    assert fake_state(fake_dsp)["requests"]["total"] == 0  # not even a token
    assert not ExternalRef.objects.exists()
    return run


def test_a_deal_that_has_ended_is_refused_and_nothing_is_pushed(fake_dsp, dsp_connection, dsp_client, advertiser):
    [li] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser], start_date=date.today() - timedelta(days=30),
                            end_date=date.today() - timedelta(days=3))
    kargo_deal_target_create(deal=deal, line_item=li)

    _refused(fake_dsp, dsp_client, advertiser, f"the deal ended on {deal.end_date.isoformat()}")


def test_a_deal_no_longer_offered_to_the_advertiser_is_refused(fake_dsp, dsp_connection, dsp_client, advertiser):
    [li] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser])
    kargo_deal_target_create(deal=deal, line_item=li)
    deal.advertisers.set([AdvertiserFactory()])

    _refused(fake_dsp, dsp_client, advertiser, f"the deal is not offered to {advertiser}")


def test_a_floor_above_the_line_items_max_bid_is_refused(fake_dsp, dsp_connection, dsp_client, advertiser):
    [li] = build_tree(advertiser)  # default bid 1.25
    deal = KargoDealFactory(offered_to=[advertiser], floor_cpm=Decimal("1.26"))
    kargo_deal_target_create(deal=deal, line_item=li)

    _refused(fake_dsp, dsp_client, advertiser, "the floor CPM 1.26 USD is above the line item's max bid 1.25")


def test_a_floor_equal_to_the_max_bid_goes(fake_dsp, dsp_connection, dsp_client, advertiser):
    [li] = build_tree(advertiser)
    kargo_deal_target_create(deal=KargoDealFactory(offered_to=[advertiser], floor_cpm=Decimal("1.25")), line_item=li)

    assert sync(advertiser, client=dsp_client).status == SyncStatus.SUCCEEDED


def test_two_guaranteed_deals_on_one_line_item_are_refused(fake_dsp, dsp_connection, dsp_client, advertiser):
    [li] = build_tree(advertiser)
    for _ in range(2):
        kargo_deal_target_create(deal=KargoDealFactory(offered_to=[advertiser],
                                                       deal_type=DealType.PROGRAMMATIC_GUARANTEED), line_item=li)

    _refused(fake_dsp, dsp_client, advertiser, "several programmatic guaranteed deals")


def test_a_deal_in_another_currency_is_refused(fake_dsp, dsp_connection, dsp_client, advertiser):
    [li] = build_tree(advertiser)
    kargo_deal_target_create(deal=KargoDealFactory(offered_to=[advertiser], currency="EUR"), line_item=li)

    _refused(fake_dsp, dsp_client, advertiser, "the deal's floor is in EUR")


def test_a_creative_the_pipeline_rejected_is_not_pushed(fake_dsp, dsp_connection, dsp_client, advertiser,
                                                        run_on_commit):
    [li] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser])
    kargo_deal_target_create(deal=deal, line_item=li)
    kc = _anchor(advertiser, deal, run_on_commit)
    kc.creative.status, kc.creative.rejection_reason = "rejected", "Passes none of the specs."
    kc.creative.save()

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.FAILED
    assert any(e["code"] == "CREATIVE_NOT_READY" for e in run.errors)
    assert fake_state(fake_dsp)["entities"]["adCreatives"] == 0
    assert fake_state(fake_dsp)["entities"]["targets"] == 1  # the deal targeting itself went


def test_a_new_deal_target_makes_the_advertiser_dirty_for_push_on_change(fake_dsp, dsp_connection, dsp_client,
                                                                         advertiser):
    from integrations.sync import push_dirty_count

    [li] = build_tree(advertiser)
    sync(advertiser, client=dsp_client)
    assert push_dirty_count(advertiser=advertiser) == 0

    kargo_deal_target_create(deal=KargoDealFactory(offered_to=[advertiser]), line_item=li)

    assert push_dirty_count(advertiser=advertiser) == 1
    sync(advertiser, client=dsp_client)
    assert push_dirty_count(advertiser=advertiser) == 0


def test_a_deal_that_ends_after_trafficking_does_not_block_later_pushes(fake_dsp, dsp_connection, dsp_client,
                                                                        advertiser):
    [li] = build_tree(advertiser)
    deal = KargoDealFactory(offered_to=[advertiser])
    kargo_deal_target_create(deal=deal, line_item=li)
    sync(advertiser, client=dsp_client)
    KargoDeal.objects.filter(pk=deal.pk).update(start_date=date.today() - timedelta(days=60),
                                                end_date=date.today() - timedelta(days=1))

    assert sync(advertiser, client=dsp_client).status == SyncStatus.SUCCEEDED


def test_a_bid_lowered_under_a_trafficked_deals_floor_is_refused(fake_dsp, dsp_connection, dsp_client, advertiser):
    from campaigns.models import LineItem

    [li] = build_tree(advertiser)
    kargo_deal_target_create(deal=KargoDealFactory(offered_to=[advertiser], floor_cpm=Decimal("1.00")), line_item=li)
    sync(advertiser, client=dsp_client)
    LineItem.objects.filter(pk=li.pk).update(default_bid=Decimal("0.90"))

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.FAILED and "above the line item's max bid 0.90" in run.error
    [group] = list(dsp_client.iter_ad_groups())
    assert group["bid"]["baseBid"] == 1.25  # the lower bid was not sent
