"""Roles on the caller's own advertiser: viewers read, traders edit, managers also move money."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from campaigns.choices import CampaignStatus, EntityState
from campaigns.models import Advertiser, Campaign, ChangeRecord, Keyword, LineItem, Membership, ProductAd, ProductTarget
from tests.campaigns.factories import AdvertiserFactory, CampaignFactory, campaign_tree, member_of

pytestmark = pytest.mark.django_db
BASE = "/api/v1/campaigns"
TREE_MODELS = (Campaign, LineItem, Keyword, ProductAd, ProductTarget, Membership, ChangeRecord)


def everything() -> dict:
    return {model.__name__: sorted(map(str, (model_to_dict(o) for o in model.objects.all()))) for model in TREE_MODELS}


@pytest.fixture
def draft(advertiser):
    """The caller's own tree, as a draft: every write, deletes included, would succeed for a trader."""
    return campaign_tree(advertiser, status=CampaignStatus.DRAFT)


@pytest.fixture
def as_viewer(api_for, advertiser):
    return api_for(member_of(advertiser, "viewer"))


@pytest.fixture
def trader_user(advertiser):
    return member_of(advertiser, "trader")


@pytest.fixture
def as_trader(api_for, trader_user):
    return api_for(trader_user)


@pytest.fixture
def manager_user(advertiser):
    return member_of(advertiser, "manager")


@pytest.fixture
def as_manager(api_for, manager_user):
    return api_for(manager_user)


OBJECT_OF = {
    "campaigns": lambda t: t.campaign, "line-items": lambda t: t.line_item, "keywords": lambda t: t.keyword,
    "product-ads": lambda t: t.product_ad, "product-targets": lambda t: t.product_target,
}
EDITS = {
    "campaigns": {"name": "Renamed"},
    "line-items": {"name": "Renamed", "default_bid": "0.90"},
    "keywords": {"bid": "0.95"},
    "product-ads": {"sku": "RENAMED"},
    "product-targets": {"bid": "0.85"},
}
WRITES = (
    [(endpoint, "patch", "") for endpoint in OBJECT_OF]
    + [(endpoint, "delete", "") for endpoint in OBJECT_OF]
    + [(endpoint, "post", f"{verb}/") for endpoint in OBJECT_OF for verb in ("pause", "enable", "archive")]
    + [("campaigns", "post", "duplicate/")]
)


@pytest.mark.parametrize("endpoint,method,suffix", WRITES)
def test_a_viewer_cannot_change_their_own_advertisers_objects(as_viewer, draft, endpoint, method, suffix):
    before = everything()
    url = f"{BASE}/{endpoint}/{OBJECT_OF[endpoint](draft).pk}/{suffix}"
    response = getattr(as_viewer, method)(url, EDITS[endpoint] if method == "patch" else {}, format="json")
    assert response.status_code == 403
    assert everything() == before


@pytest.mark.parametrize("endpoint", list(OBJECT_OF))
def test_a_viewer_reads_their_own_advertisers_objects(as_viewer, draft, endpoint):
    obj = OBJECT_OF[endpoint](draft)
    assert as_viewer.get(f"{BASE}/{endpoint}/{obj.pk}/").json()["id"] == obj.pk
    assert as_viewer.get(f"{BASE}/{endpoint}/").json()["count"] == 1


CREATES = {
    "campaigns": lambda t: {"advertiser": t.advertiser.pk, "name": "New", "daily_budget": "10.00",
                            "start_date": str(t.campaign.start_date)},
    "line-items": lambda t: {"campaign": t.campaign.pk, "name": "New", "default_bid": "0.50"},
    "keywords": lambda t: {"line_item": t.line_item.pk, "text": "new keyword", "bid": "0.50"},
    "product-ads": lambda t: {"line_item": t.line_item.pk, "asin": "B000000001"},
    "product-targets": lambda t: {"line_item": t.line_item.pk, "expression": 'asin="B000000002"', "bid": "0.50"},
}


@pytest.mark.parametrize("endpoint", list(CREATES))
def test_a_viewer_cannot_create_under_their_own_advertiser(as_viewer, draft, endpoint):
    before = everything()
    response = as_viewer.post(f"{BASE}/{endpoint}/", CREATES[endpoint](draft), format="json")
    assert response.status_code == 403
    assert everything() == before


@pytest.mark.parametrize("endpoint", ["line-items", "keywords", "product-ads", "product-targets"])
def test_a_trader_creates_line_items_and_their_children(as_trader, draft, endpoint):
    response = as_trader.post(f"{BASE}/{endpoint}/", CREATES[endpoint](draft), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["advertiser"] == draft.advertiser.pk


@pytest.mark.parametrize("endpoint", list(EDITS))
def test_a_trader_edits_campaigns_line_items_keywords_ads_targets_and_bids(as_trader, draft, endpoint):
    obj = OBJECT_OF[endpoint](draft)
    response = as_trader.patch(f"{BASE}/{endpoint}/{obj.pk}/", EDITS[endpoint], format="json")
    assert response.status_code == 200, response.json()
    obj.refresh_from_db()
    for field, value in EDITS[endpoint].items():
        assert str(getattr(obj, field)) == value
        assert response.json()[field] == value


@pytest.mark.parametrize("endpoint", list(OBJECT_OF))
@pytest.mark.parametrize("verb,state", [("pause", "paused"), ("enable", "enabled"), ("archive", "archived")])
def test_a_trader_pauses_enables_and_archives(as_trader, draft, endpoint, verb, state):
    obj = OBJECT_OF[endpoint](draft)
    response = as_trader.post(f"{BASE}/{endpoint}/{obj.pk}/{verb}/")
    assert response.status_code == 200, response.json()
    obj.refresh_from_db()
    field = "status" if endpoint in ("campaigns", "line-items") else "state"
    assert getattr(obj, field) == state == response.json()[field]


BUDGET_CHANGES = [
    ("campaigns", {"daily_budget": "120.00"}),
    ("campaigns", {"total_budget": "5000.00"}),
    ("campaigns", {"total_budget": None}),
    ("line-items", {"budget": "900.00"}),
    ("line-items", {"budget": None}),
]


@pytest.mark.parametrize("endpoint,change", BUDGET_CHANGES)
def test_a_trader_cannot_change_budgets(as_trader, draft, endpoint, change):
    before = everything()
    response = as_trader.patch(f"{BASE}/{endpoint}/{OBJECT_OF[endpoint](draft).pk}/", change, format="json")
    assert response.status_code == 403
    assert "manager" in response.json()["detail"]
    assert everything() == before


@pytest.mark.parametrize("endpoint,change", BUDGET_CHANGES)
def test_a_manager_changes_budgets_and_the_change_is_recorded(as_manager, manager_user, draft, endpoint, change):
    obj = OBJECT_OF[endpoint](draft)
    response = as_manager.patch(f"{BASE}/{endpoint}/{obj.pk}/", change, format="json")
    assert response.status_code == 200, response.json()
    (field, value), = change.items()
    record = ChangeRecord.objects.get(object_id=obj.pk, field=field)
    assert (record.new_value, record.changed_by, record.source) == (value or "", manager_user, "api")


def test_a_trader_may_resend_unchanged_budgets_in_a_full_update(as_trader, draft):
    campaign = draft.campaign
    body = {"advertiser": campaign.advertiser_id, "name": "Renamed", "start_date": str(campaign.start_date),
            "end_date": str(campaign.end_date), "daily_budget": "100", "total_budget": "3000.0"}
    response = as_trader.put(f"{BASE}/campaigns/{campaign.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed" and response.json()["daily_budget"] == "100.00"


def test_creating_a_campaign_sets_a_budget_so_it_needs_a_manager(as_trader, as_manager, draft):
    body = CREATES["campaigns"](draft)
    assert as_trader.post(f"{BASE}/campaigns/", body, format="json").status_code == 403
    response = as_manager.post(f"{BASE}/campaigns/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == CampaignStatus.DRAFT
    assert ChangeRecord.objects.filter(object_id=response.json()["id"], field="daily_budget", source="api").exists()


def test_a_trader_cannot_create_a_line_item_with_a_budget(as_trader, draft):
    body = {**CREATES["line-items"](draft), "budget": "100.00"}
    assert as_trader.post(f"{BASE}/line-items/", body, format="json").status_code == 403
    assert LineItem.objects.count() == 1


def test_duplicating_a_campaign_needs_a_manager(as_trader, as_manager, draft):
    assert as_trader.post(f"{BASE}/campaigns/{draft.campaign.pk}/duplicate/").status_code == 403
    assert as_manager.post(f"{BASE}/campaigns/{draft.campaign.pk}/duplicate/").status_code == 201


def test_a_status_cannot_be_written_directly(as_manager, advertiser):
    campaign = CampaignFactory(advertiser=advertiser, status=CampaignStatus.ENABLED)
    response = as_manager.patch(f"{BASE}/campaigns/{campaign.pk}/", {"status": "draft"}, format="json")
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ENABLED  # a draft could be deleted: never by a PATCH


def test_a_trader_on_one_advertiser_and_viewer_on_another_cannot_write_the_second(api_for, advertiser, trader_user):
    second = AdvertiserFactory()
    tree = campaign_tree(second)
    Membership.objects.create(user=trader_user, advertiser=second, role="viewer")
    client = api_for(trader_user)
    assert client.get(f"{BASE}/keywords/{tree.keyword.pk}/").status_code == 200
    assert client.patch(f"{BASE}/keywords/{tree.keyword.pk}/", {"bid": "0.70"}, format="json").status_code == 403
    assert client.post(f"{BASE}/keywords/", CREATES["keywords"](tree), format="json").status_code == 403


def test_a_superuser_changes_any_advertisers_budget(api_for, superuser, other_advertiser):
    tree = campaign_tree(other_advertiser)
    response = api_for(superuser).patch(f"{BASE}/campaigns/{tree.campaign.pk}/", {"daily_budget": "50.00"}, format="json")
    assert response.status_code == 200
    tree.campaign.refresh_from_db()
    assert tree.campaign.daily_budget == Decimal("50.00")


def test_the_conftest_role_fixtures_line_up_with_the_api(api_for, viewer, trader, manager, draft):
    keyword = f"{BASE}/keywords/{draft.keyword.pk}/"
    budget = f"{BASE}/campaigns/{draft.campaign.pk}/"
    assert api_for(viewer).patch(keyword, {"bid": "0.70"}, format="json").status_code == 403
    assert api_for(trader).patch(keyword, {"bid": "0.70"}, format="json").status_code == 200
    assert api_for(trader).patch(budget, {"daily_budget": "90.00"}, format="json").status_code == 403
    assert api_for(manager).patch(budget, {"daily_budget": "90.00"}, format="json").status_code == 200


# --- Memberships: managers only -------------------------------------------------------------


def test_a_manager_lists_their_advertisers_memberships_only(as_manager, advertiser, other_advertiser):
    member_of(advertiser, "viewer")
    member_of(other_advertiser, "manager")
    body = as_manager.get(f"{BASE}/memberships/").json()
    assert body["count"] == 2
    assert {row["advertiser"] for row in body["results"]} == {advertiser.pk}


@pytest.mark.parametrize("role", ["viewer", "trader"])
def test_members_below_manager_do_not_see_memberships(api_for, advertiser, role):
    user = member_of(advertiser, role)
    client = api_for(user)
    assert client.get(f"{BASE}/memberships/").json()["count"] == 0
    own = Membership.objects.get(user=user)
    assert client.get(f"{BASE}/memberships/{own.pk}/").status_code == 404
    assert client.patch(f"{BASE}/memberships/{own.pk}/", {"role": "manager"}, format="json").status_code == 404
    own.refresh_from_db()
    assert own.role == role


@pytest.mark.parametrize("role", ["viewer", "trader"])
def test_members_below_manager_cannot_add_members(api_for, advertiser, django_user_model, role):
    newcomer = django_user_model.objects.create(username="newcomer")
    body = {"user": newcomer.pk, "advertiser": advertiser.pk, "role": "manager"}
    assert api_for(member_of(advertiser, role)).post(f"{BASE}/memberships/", body, format="json").status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()


def test_a_manager_adds_changes_and_removes_a_member(as_manager, advertiser, django_user_model):
    newcomer = django_user_model.objects.create(username="newcomer")
    created = as_manager.post(f"{BASE}/memberships/", {"user": newcomer.pk, "advertiser": advertiser.pk, "role": "viewer"},
                              format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["username"] == "newcomer"
    url = f"{BASE}/memberships/{created.json()['id']}/"
    assert as_manager.patch(url, {"role": "trader"}, format="json").json()["role"] == "trader"
    assert as_manager.delete(url).status_code == 204
    assert not Membership.objects.filter(user=newcomer).exists()


def test_a_second_membership_for_the_same_user_and_advertiser_is_refused(as_manager, advertiser, trader_user):
    body = {"user": trader_user.pk, "advertiser": advertiser.pk, "role": "manager"}
    response = as_manager.post(f"{BASE}/memberships/", body, format="json")
    assert response.status_code == 400
    assert Membership.objects.get(user=trader_user).role == "trader"


def test_a_membership_cannot_be_moved_to_another_user_or_advertiser(
    as_manager, manager_user, advertiser, trader_user, django_user_model
):
    membership = Membership.objects.get(user=trader_user)
    url = f"{BASE}/memberships/{membership.pk}/"
    other_user = django_user_model.objects.create(username="someone-else")
    assert as_manager.patch(url, {"user": other_user.pk}, format="json").status_code == 400
    second = AdvertiserFactory()
    Membership.objects.create(user=manager_user, advertiser=second, role="manager")
    assert as_manager.patch(url, {"advertiser": second.pk}, format="json").status_code == 400
    membership.refresh_from_db()
    assert (membership.user, membership.advertiser) == (trader_user, advertiser)


# --- Advertisers: superusers write ----------------------------------------------------------


def test_members_list_only_their_advertisers(api_for, advertiser, other_advertiser):
    body = api_for(member_of(advertiser, "viewer")).get(f"{BASE}/advertisers/").json()
    assert [row["id"] for row in body["results"]] == [advertiser.pk]


def test_only_superusers_create_advertisers(as_manager, api_for, superuser):
    body = {"name": "Newco", "currency": "EUR", "timezone": "Europe/Berlin", "country": "DE"}
    assert as_manager.post(f"{BASE}/advertisers/", body, format="json").status_code == 403
    assert not Advertiser.objects.filter(name="Newco").exists()
    response = api_for(superuser).post(f"{BASE}/advertisers/", body, format="json")
    assert response.status_code == 201 and response.json()["country"] == "DE"


def test_only_superusers_change_advertisers(as_manager, api_for, superuser, advertiser):
    url = f"{BASE}/advertisers/{advertiser.pk}/"
    assert as_manager.patch(url, {"name": "Renamed"}, format="json").status_code == 403
    assert api_for(superuser).patch(url, {"name": "Renamed"}, format="json").status_code == 200
    advertiser.refresh_from_db()
    assert advertiser.name == "Renamed"


def test_an_advertiser_is_never_deleted(api_for, superuser, advertiser):
    assert api_for(superuser).delete(f"{BASE}/advertisers/{advertiser.pk}/").status_code == 405
    assert Advertiser.objects.filter(pk=advertiser.pk).exists()


def test_an_unknown_time_zone_is_refused(api_for, superuser):
    body = {"name": "Newco", "currency": "USD", "timezone": "Mars/Olympus", "country": "US"}
    response = api_for(superuser).post(f"{BASE}/advertisers/", body, format="json")
    assert response.status_code == 400 and "timezone" in response.json()


def test_an_advertisers_currency_is_fixed_once_it_has_campaigns(api_for, superuser, advertiser):
    CampaignFactory(advertiser=advertiser)
    response = api_for(superuser).patch(f"{BASE}/advertisers/{advertiser.pk}/", {"currency": "JPY"}, format="json")
    assert response.status_code == 400 and "currency" in response.json()
    advertiser.refresh_from_db()
    assert advertiser.currency == "USD"


def test_archiving_through_the_api_archives_the_whole_tree(as_trader, draft):
    assert as_trader.post(f"{BASE}/campaigns/{draft.campaign.pk}/archive/").status_code == 200
    draft.line_item.refresh_from_db()
    assert draft.line_item.status == EntityState.ARCHIVED
    for obj in (draft.keyword, draft.product_ad, draft.product_target):
        obj.refresh_from_db()
        assert obj.state == EntityState.ARCHIVED
