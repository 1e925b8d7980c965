"""Archived is final (409), deletes only under a draft campaign (409 otherwise), duplication."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from campaigns.choices import CampaignStatus, EntityState
from campaigns.models import Campaign, ChangeRecord, Keyword, LineItem, ProductAd, ProductTarget
from campaigns.services import campaigns_set_status, entities_set_state
from tests.campaigns.factories import KeywordFactory, LineItemFactory, campaign_tree, member_of

pytestmark = pytest.mark.django_db
BASE = "/api/v1/campaigns"
MODELS = (Campaign, LineItem, Keyword, ProductAd, ProductTarget, ChangeRecord)
OBJECT_OF = {
    "campaigns": lambda t: t.campaign, "line-items": lambda t: t.line_item, "keywords": lambda t: t.keyword,
    "product-ads": lambda t: t.product_ad, "product-targets": lambda t: t.product_target,
}


def everything() -> dict:
    return {model.__name__: sorted(map(str, (model_to_dict(o) for o in model.objects.all()))) for model in MODELS}


@pytest.fixture
def manager_user(advertiser):
    return member_of(advertiser, "manager")


@pytest.fixture
def client(api_for, manager_user):
    return api_for(manager_user)


@pytest.fixture
def archived(advertiser):
    tree = campaign_tree(advertiser)
    campaigns_set_status(campaigns=[tree.campaign], status=CampaignStatus.ARCHIVED)
    return tree


def full_body(endpoint, tree) -> dict:
    return {
        "campaigns": {"advertiser": tree.advertiser.pk, "name": "Revived", "daily_budget": "100.00",
                      "start_date": str(tree.campaign.start_date)},
        "line-items": {"campaign": tree.campaign.pk, "name": "Revived", "default_bid": "0.75"},
        "keywords": {"line_item": tree.line_item.pk, "text": "revived", "bid": "0.50"},
        "product-ads": {"line_item": tree.line_item.pk, "sku": "REVIVED"},
        "product-targets": {"line_item": tree.line_item.pk, "expression": 'asin="B000000000"', "bid": "0.60"},
    }[endpoint]


CHANGES = (
    [(endpoint, method, "") for endpoint in OBJECT_OF for method in ("put", "patch", "delete")]
    + [(endpoint, "post", f"{verb}/") for endpoint in OBJECT_OF for verb in ("pause", "enable", "archive")]
)


@pytest.mark.parametrize("endpoint,method,suffix", CHANGES)
def test_any_change_to_an_archived_object_is_a_conflict(client, archived, endpoint, method, suffix):
    before = everything()
    url = f"{BASE}/{endpoint}/{OBJECT_OF[endpoint](archived).pk}/{suffix}"
    response = getattr(client, method)(url, full_body(endpoint, archived) if method in ("put", "patch") else {},
                                       format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "Archived entity cannot be modified."}
    assert everything() == before


@pytest.mark.parametrize("endpoint", ["line-items", "keywords", "product-ads", "product-targets"])
def test_creating_under_an_archived_parent_is_a_conflict(client, archived, endpoint):
    before = everything()
    body = full_body(endpoint, archived)
    response = client.post(f"{BASE}/{endpoint}/", body, format="json")
    assert response.status_code == 409
    assert "archived" in response.json()["detail"]
    assert everything() == before


def test_a_child_under_an_archived_line_item_is_a_conflict_even_if_not_archived_itself(client, advertiser):
    tree = campaign_tree(advertiser)
    LineItem.objects.filter(pk=tree.line_item.pk).update(status=EntityState.ARCHIVED)  # no cascade: a legacy row
    response = client.patch(f"{BASE}/keywords/{tree.keyword.pk}/", {"bid": "0.90"}, format="json")
    assert response.status_code == 409
    tree.keyword.refresh_from_db()
    assert tree.keyword.bid == Decimal("0.50")


def test_an_archived_campaign_can_still_be_read_and_duplicated(client, archived):
    assert client.get(f"{BASE}/campaigns/{archived.campaign.pk}/").json()["status"] == "archived"
    response = client.post(f"{BASE}/campaigns/{archived.campaign.pk}/duplicate/")
    assert response.status_code == 201 and response.json()["status"] == "draft"


# --- Deletes -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", list(OBJECT_OF))
def test_objects_under_a_draft_campaign_can_be_deleted(client, advertiser, endpoint):
    tree = campaign_tree(advertiser, status=CampaignStatus.DRAFT)
    obj = OBJECT_OF[endpoint](tree)
    assert client.delete(f"{BASE}/{endpoint}/{obj.pk}/").status_code == 204
    assert not type(obj).objects.filter(pk=obj.pk).exists()


def test_deleting_a_draft_campaign_deletes_its_tree(client, advertiser):
    tree = campaign_tree(advertiser, status=CampaignStatus.DRAFT)
    assert client.delete(f"{BASE}/campaigns/{tree.campaign.pk}/").status_code == 204
    assert not Keyword.objects.exists() and not LineItem.objects.exists()


@pytest.mark.parametrize("status", [CampaignStatus.ENABLED, CampaignStatus.PAUSED])
@pytest.mark.parametrize("endpoint", list(OBJECT_OF))
def test_objects_that_may_have_spend_cannot_be_deleted(client, advertiser, status, endpoint):
    tree = campaign_tree(advertiser, status=status)
    before = everything()
    response = client.delete(f"{BASE}/{endpoint}/{OBJECT_OF[endpoint](tree).pk}/")
    assert response.status_code == 409
    assert "Archive it instead" in response.json()["detail"]
    assert everything() == before


def test_a_paused_draft_is_no_longer_a_draft_and_cannot_be_deleted(client, advertiser):
    tree = campaign_tree(advertiser, status=CampaignStatus.DRAFT)
    client.post(f"{BASE}/campaigns/{tree.campaign.pk}/pause/")
    assert client.delete(f"{BASE}/campaigns/{tree.campaign.pk}/").status_code == 409


def test_an_archived_keyword_under_a_draft_is_final_too(client, advertiser):
    tree = campaign_tree(advertiser, status=CampaignStatus.DRAFT)
    entities_set_state(objects=[tree.keyword], state=EntityState.ARCHIVED)
    response = client.delete(f"{BASE}/keywords/{tree.keyword.pk}/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Archived entity cannot be modified."}


# --- State actions --------------------------------------------------------------------------


def test_pausing_and_enabling_a_campaign_keeps_its_tree(client, advertiser):
    tree = campaign_tree(advertiser)
    assert client.post(f"{BASE}/campaigns/{tree.campaign.pk}/pause/").json()["status"] == "paused"
    assert client.post(f"{BASE}/campaigns/{tree.campaign.pk}/enable/").json()["status"] == "enabled"
    tree.keyword.refresh_from_db()
    assert tree.keyword.state == EntityState.ENABLED


def test_archiving_a_line_item_archives_its_keywords_ads_and_targets(client, advertiser):
    tree = campaign_tree(advertiser)
    assert client.post(f"{BASE}/line-items/{tree.line_item.pk}/archive/").json()["status"] == "archived"
    for obj in (tree.keyword, tree.product_ad, tree.product_target):
        obj.refresh_from_db()
        assert obj.state == EntityState.ARCHIVED
    tree.campaign.refresh_from_db()
    assert tree.campaign.status == CampaignStatus.ENABLED


def test_an_action_answers_with_the_object_as_stored(client, advertiser):
    tree = campaign_tree(advertiser)
    body = client.post(f"{BASE}/keywords/{tree.keyword.pk}/pause/").json()
    assert body["state"] == "paused" and body["id"] == tree.keyword.pk and body["bid"] == "0.50"


# --- Duplicate ------------------------------------------------------------------------------


def test_duplicate_answers_201_with_a_draft_deep_copy(client, advertiser):
    tree = campaign_tree(advertiser)
    archived_keyword = KeywordFactory(line_item=tree.line_item, state=EntityState.ARCHIVED)
    response = client.post(f"{BASE}/campaigns/{tree.campaign.pk}/duplicate/")
    assert response.status_code == 201
    copy = Campaign.objects.get(pk=response.json()["id"])
    assert copy.status == CampaignStatus.DRAFT and copy.name == f"{tree.campaign.name} (copy)"
    line_item = copy.line_items.get()
    assert [k.text for k in line_item.keywords.all()] == [tree.keyword.text]
    assert archived_keyword.text not in [k.text for k in line_item.keywords.all()]
    assert line_item.product_ads.count() == 1 and line_item.product_targets.count() == 1


def test_duplicate_takes_an_optional_name(client, advertiser):
    tree = campaign_tree(advertiser)
    response = client.post(f"{BASE}/campaigns/{tree.campaign.pk}/duplicate/", {"name": "Spring relaunch"}, format="json")
    assert response.json()["name"] == "Spring relaunch"


@pytest.mark.parametrize("name", ["x" * 129, "", ["a list"], {"an": "object"}])
def test_duplicate_refuses_a_bad_name_and_copies_nothing(client, advertiser, name):
    tree = campaign_tree(advertiser)
    response = client.post(f"{BASE}/campaigns/{tree.campaign.pk}/duplicate/", {"name": name}, format="json")
    assert response.status_code == 400 and "name" in response.json()
    assert Campaign.objects.count() == 1


def test_duplicate_keeps_line_items_default_bids(client, advertiser):
    tree = campaign_tree(advertiser)
    LineItemFactory(campaign=tree.campaign, default_bid="2.50")
    copy_id = client.post(f"{BASE}/campaigns/{tree.campaign.pk}/duplicate/").json()["id"]
    bids = sorted(str(b) for b in LineItem.objects.filter(campaign_id=copy_id).values_list("default_bid", flat=True))
    assert bids == ["0.75", "2.50"]
