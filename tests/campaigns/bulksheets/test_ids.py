"""Amazon's numeric ids: matched through the hook integrations fills, else by name."""

from datetime import date

import pytest

from campaigns.bulksheets.ids import register_external_ids, unregister_external_ids
from campaigns.models import Campaign, Keyword, LineItem
from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory

from .conftest import DOWNLOAD, apply_sheet, plan_of


@pytest.fixture
def hooks():
    registered = []

    def register(**hooks):
        register_external_ids(**hooks)
        registered.append(hooks)

    yield register
    for hooks_ in registered:
        unregister_external_ids(**hooks_)


def test_the_hook_maps_amazons_ids_to_our_objects_whatever_their_names(advertiser, hooks):
    campaign = CampaignFactory(advertiser=advertiser, name="Renamed here", targeting_type="manual",
                               start_date=date(2026, 10, 1), total_budget=None)
    group = LineItemFactory(campaign=campaign, name="Also renamed")
    keyword = KeywordFactory(line_item=group, text="trail running shoes", match_type="exact")
    known = {Campaign: {"283920147781204": campaign.pk}, LineItem: {"3390184475021": group.pk},
             Keyword: {"81120033001": keyword.pk}}
    hooks(resolve=lambda *, model, advertiser, external_ids: {k: v for k, v in known.get(model, {}).items() if k in external_ids})

    plan = plan_of(advertiser, DOWNLOAD.read_bytes())

    assert plan.errors == {}
    by_row = {c.row: c for c in plan.changes}
    assert (by_row[2].action, by_row[2].pk, by_row[2].fields["name"]) == ("update", campaign.pk, "Trail Shoes - Manual")
    assert (by_row[4].action, by_row[4].pk) == ("update", group.pk)
    assert (by_row[6].action, by_row[6].pk, by_row[6].fields) == ("update", keyword.pk, {"bid": by_row[6].fields["bid"]})


def test_without_a_hook_ids_are_matched_by_name_and_created_ids_are_recorded(advertiser, hooks):
    recorded = {}
    hooks(record=lambda *, model, advertiser, ids: recorded.setdefault(model.__name__, {}).update(ids))

    apply_sheet(advertiser, DOWNLOAD.read_bytes())

    manual = Campaign.objects.get(name="Trail Shoes - Manual")
    assert recorded["Campaign"]["283920147781204"] == manual.pk
    assert recorded["Keyword"]["81120033009"] == Keyword.objects.get(text="kids").pk
    assert plan_of(advertiser, DOWNLOAD.read_bytes()).counts()["unchanged"] == 13  # found by name again


def test_a_hook_answer_outside_the_advertiser_is_ignored(advertiser, other_advertiser, hooks):
    theirs = CampaignFactory(advertiser=other_advertiser)
    hooks(resolve=lambda *, model, advertiser, external_ids: {i: theirs.pk for i in external_ids} if model is Campaign else {})

    plan = plan_of(advertiser, DOWNLOAD.read_bytes())

    assert all(c.pk != theirs.pk for c in plan.changes) and plan.counts()["create"] == 13
