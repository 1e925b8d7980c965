"""Tenancy: another advertiser's rows answer exactly like rows that do not exist, on every
endpoint and every action, whatever the caller's role on their own advertiser."""

import pytest
from django.forms.models import model_to_dict

from campaigns.choices import CampaignStatus
from campaigns.models import Advertiser, Campaign, ChangeRecord, Keyword, LineItem, Membership, ProductAd, ProductTarget
from tests.campaigns.factories import ChangeRecordFactory, MembershipFactory, campaign_tree, member_of

pytestmark = pytest.mark.django_db
BASE = "/api/v1/campaigns"
ROLES = ["viewer", "trader", "manager"]
ALL_MODELS = (Advertiser, Membership, Campaign, LineItem, Keyword, ProductAd, ProductTarget, ChangeRecord)


def everything() -> dict:
    """Every row of every model, as plain values: equal before and after means nothing was written."""
    return {model.__name__: sorted(map(str, (model_to_dict(o) for o in model.objects.all()))) for model in ALL_MODELS}


@pytest.fixture
def theirs(other_advertiser):
    """Another advertiser's tree, as a draft: if tenancy failed, even a delete would succeed."""
    tree = campaign_tree(other_advertiser, status=CampaignStatus.DRAFT)
    tree.membership = MembershipFactory(advertiser=other_advertiser, role="trader", user__password=None)
    tree.change = ChangeRecordFactory(advertiser=other_advertiser, object_id=tree.campaign.pk)
    return tree


@pytest.fixture
def mine(advertiser):
    return campaign_tree(advertiser)


@pytest.fixture
def manager(advertiser):
    """The most powerful member of `advertiser` (fast: no password hashing)."""
    return member_of(advertiser, "manager")


def put_body(endpoint: str, tree) -> dict:
    """A complete, valid body for a PUT on `tree`'s object of that endpoint."""
    return {
        "advertisers": {"name": "Hijacked", "currency": "USD", "timezone": "UTC", "country": "US"},
        "memberships": {"user": tree.membership.user_id, "advertiser": tree.advertiser.pk, "role": "manager"},
        "campaigns": {"advertiser": tree.advertiser.pk, "name": "Hijacked", "daily_budget": "1.00",
                      "start_date": str(tree.campaign.start_date)},
        "line-items": {"campaign": tree.campaign.pk, "name": "Hijacked", "default_bid": "0.02"},
        "keywords": {"line_item": tree.line_item.pk, "text": "hijacked", "bid": "0.02"},
        "product-ads": {"line_item": tree.line_item.pk, "sku": "HIJACKED"},
        "product-targets": {"line_item": tree.line_item.pk, "expression": 'asin="B000000000"', "bid": "0.02"},
    }[endpoint]


OBJECT_OF = {
    "advertisers": lambda t: t.advertiser, "memberships": lambda t: t.membership, "campaigns": lambda t: t.campaign,
    "line-items": lambda t: t.line_item, "keywords": lambda t: t.keyword, "product-ads": lambda t: t.product_ad,
    "product-targets": lambda t: t.product_target, "changes": lambda t: t.change,
}
TREE = ["campaigns", "line-items", "keywords", "product-ads", "product-targets"]
DETAIL_CALLS = (
    [(endpoint, "get", "") for endpoint in OBJECT_OF]
    + [(endpoint, method, "") for endpoint in ["advertisers", "memberships", *TREE] for method in ("put", "patch")]
    + [(endpoint, "delete", "") for endpoint in ["memberships", *TREE]]
    + [(endpoint, "post", f"{verb}/") for endpoint in TREE for verb in ("pause", "enable", "archive")]
    + [("campaigns", "post", "duplicate/")]
)


def call(client, tree, endpoint, method, suffix):
    url = f"{BASE}/{endpoint}/{OBJECT_OF[endpoint](tree).pk}/{suffix}"
    body = put_body(endpoint, tree) if method in ("put", "patch") else {}
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,method,suffix", DETAIL_CALLS)
def test_another_advertisers_object_is_not_found_and_untouched(
    api_for, advertiser, mine, theirs, role, endpoint, method, suffix
):
    client = api_for(member_of(advertiser, role))
    before = everything()
    response = call(client, theirs, endpoint, method, suffix)
    assert response.status_code == 404, response.content
    assert everything() == before


@pytest.mark.parametrize("endpoint,method,suffix", DETAIL_CALLS)
def test_another_advertisers_object_answers_like_a_missing_one(api_for, manager, theirs, endpoint, method, suffix):
    client = api_for(manager)
    url_id = OBJECT_OF[endpoint](theirs).pk
    foreign = call(client, theirs, endpoint, method, suffix)
    missing = getattr(client, method)(f"{BASE}/{endpoint}/{url_id + 10_000}/{suffix}", {}, format="json")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(OBJECT_OF))
def test_lists_never_show_another_advertisers_rows(api_for, advertiser, mine, theirs, role, endpoint):
    client = api_for(member_of(advertiser, role))
    foreign_id = OBJECT_OF[endpoint](theirs).pk
    ids = [row["id"] for row in client.get(f"{BASE}/{endpoint}/", {"page_size": 500}).json()["results"]]
    assert foreign_id not in ids


@pytest.mark.parametrize("endpoint", ["campaigns", "line-items", "keywords", "product-ads", "product-targets", "changes"])
def test_filtering_by_another_advertiser_finds_nothing(api_for, manager, theirs, endpoint):
    response = api_for(manager).get(f"{BASE}/{endpoint}/", {"advertiser": theirs.advertiser.pk})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_the_history_of_another_advertisers_object_is_empty(api_for, manager, theirs):
    response = api_for(manager).get(f"{BASE}/changes/", {"object_type": "campaign", "object_id": theirs.campaign.pk})
    assert response.json()["count"] == 0


CREATES = {
    "campaigns": ("advertiser", lambda parent: {"advertiser": parent, "name": "New", "daily_budget": "10.00",
                                                "start_date": "2030-01-01"}),
    "line-items": ("campaign", lambda parent: {"campaign": parent, "name": "New", "default_bid": "0.50"}),
    "keywords": ("line_item", lambda parent: {"line_item": parent, "text": "new keyword", "bid": "0.50"}),
    "product-ads": ("line_item", lambda parent: {"line_item": parent, "asin": "B000000001"}),
    "product-targets": ("line_item", lambda parent: {"line_item": parent, "expression": 'asin="B000000002"',
                                                     "bid": "0.50"}),
    "memberships": ("advertiser", lambda parent: {"advertiser": parent, "user": None, "role": "viewer"}),
}
PARENT_OF = {"advertiser": lambda t: t.advertiser, "campaign": lambda t: t.campaign, "line_item": lambda t: t.line_item}


@pytest.mark.parametrize("endpoint", list(CREATES))
def test_creating_under_another_advertisers_parent_is_refused_like_a_missing_parent(
    api_for, manager, theirs, endpoint
):
    field, body_for = CREATES[endpoint]
    client = api_for(manager)
    foreign_id = PARENT_OF[field](theirs).pk
    missing_id = foreign_id + 10_000
    before = everything()

    def post(parent_id):
        body = body_for(parent_id)
        if "user" in body:
            body["user"] = manager.pk
        return client.post(f"{BASE}/{endpoint}/", body, format="json")

    foreign, missing = post(foreign_id), post(missing_id)
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == {field: [f'Invalid pk "{foreign_id}" - object does not exist.']}
    assert missing.json() == {field: [f'Invalid pk "{missing_id}" - object does not exist.']}
    assert everything() == before


@pytest.mark.parametrize("endpoint", list(OBJECT_OF))
def test_every_endpoint_needs_authentication(anon_api, endpoint):
    assert anon_api.get(f"{BASE}/{endpoint}/").status_code == 401


def test_bulk_bids_need_authentication(anon_api):
    assert anon_api.post(f"{BASE}/keywords/bulk-bids/", {"items": []}, format="json").status_code == 401


def test_a_user_without_memberships_sees_nothing(api_for, django_user_model, mine, theirs):
    client = api_for(django_user_model.objects.create_user(username="nobody"))
    for endpoint in OBJECT_OF:
        assert client.get(f"{BASE}/{endpoint}/").json()["count"] == 0, endpoint


def test_a_superuser_sees_every_advertiser(api_for, superuser, mine, theirs):
    client = api_for(superuser)
    assert client.get(f"{BASE}/campaigns/").json()["count"] == 2
    assert client.get(f"{BASE}/keywords/{theirs.keyword.pk}/").status_code == 200
