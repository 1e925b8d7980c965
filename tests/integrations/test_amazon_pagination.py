"""Both pagination styles beyond one page, and the lookups the sync relies on."""

import pytest

from integrations.amazon.errors import ValidationError
from integrations.amazon.pagination import iter_offset
from tests.integrations.payloads import ad_group_payload, campaign_payload


def test_offset_pagination_walks_every_page_of_advertisers(fake_dsp, amazon):
    fake_dsp.add_advertisers("NA", [{"name": f"Extra {n}"} for n in range(6)])  # 11 in all
    advertisers = list(amazon.iter_advertisers(page_size=4))
    assert len(advertisers) == 11
    assert len({a["advertiserId"] for a in advertisers}) == 11
    pages = [r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/advertisers"]
    assert len(pages) == 3  # 4 + 4 + 3


def test_offset_pagination_sends_the_agency_profile_as_scope(fake_dsp, amazon):
    list(amazon.iter_advertisers())
    served = [r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/advertisers"]
    assert served[0]["scope"] == fake_dsp.profile_id("NA")


def test_offset_pagination_is_lazy(fake_dsp, amazon):
    first = next(amazon.iter_advertisers(page_size=2))
    assert first["advertiserId"] == fake_dsp.advertiser_ids()[0]
    assert len([r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/advertisers"]) == 1


def test_an_out_of_range_count_is_refused_before_any_call(amazon):
    with pytest.raises(ValueError):
        list(iter_offset(amazon, "/dsp/advertisers", count=500))


def test_next_token_pagination_walks_every_page_of_ad_groups(fake_dsp, amazon, campaign_id):
    amazon.create_ad_groups([ad_group_payload(campaign_id, name=f"AG {n}") for n in range(7)])
    ad_groups = list(amazon.iter_ad_groups(page_size=3))
    assert [g["name"] for g in ad_groups] == [f"AG {n}" for n in range(7)]
    assert len([r for r in fake_dsp.recent_requests() if r["path"] == "/dsp/v1/adGroups/list"]) == 3


def test_next_token_pagination_keeps_the_filters_on_every_page(amazon):
    result = amazon.create_campaigns([campaign_payload(name=f"C {n}") for n in range(5)])
    ids = list(result.ids("campaignId").values())
    found = list(amazon.iter_campaigns(page_size=2, campaignIdFilter={"include": ids[1:4]}))
    assert [c["campaignId"] for c in found] == ids[1:4]


def test_campaigns_can_be_found_by_external_id_or_name(amazon):
    amazon.create_campaigns([campaign_payload(name="Ours 42", externalId="adops-campaign-42"),
                             campaign_payload(name="Someone else's")])
    by_external = list(amazon.iter_campaigns(externalIdFilter={"include": ["adops-campaign-42"]}))
    by_name = list(amazon.iter_campaigns(nameFilter={"include": ["Ours 42"]}))
    assert [c["name"] for c in by_external] == ["Ours 42"]
    assert by_external == by_name


def test_a_forged_next_token_is_refused(amazon, campaign_id):
    with pytest.raises(ValidationError):
        amazon.post("/dsp/v1/campaigns/list", json={"nextToken": "not-a-token"})


def test_a_token_from_another_query_is_refused(amazon):
    amazon.create_campaigns([campaign_payload(name=f"C {n}") for n in range(3)])
    page = amazon.post("/dsp/v1/campaigns/list", json={"maxResults": 1})
    with pytest.raises(ValidationError):
        amazon.post("/dsp/v1/campaigns/list", json={"maxResults": 1, "nextToken": page["nextToken"],
                                                    "stateFilter": {"include": ["ACTIVE"]}})


def test_the_last_page_has_a_null_next_token(amazon):
    amazon.create_campaigns([campaign_payload()])
    assert amazon.post("/dsp/v1/campaigns/list", json={})["nextToken"] is None
