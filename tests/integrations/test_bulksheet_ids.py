"""Amazon's ids in bulk sheets and the console, through the hooks integrations registers from
its AppConfig.ready: a sheet carrying the ids the DSP sync recorded resolves our objects whatever
their names; ids a sheet brings are kept for the next sheet; never across advertisers."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.bulksheets.ids import EXTERNAL_ID_RECORDERS, EXTERNAL_ID_RESOLVERS
from campaigns.models import Campaign, Keyword, LineItem
from integrations import external_ids
from integrations.models import ExternalRef, ExternalSystem, SyncStatus
from tests.campaigns.bulksheets.conftest import DOWNLOAD, apply_sheet, plan_of, row, sheet_bytes
from tests.integrations.test_sync_support import build_tree, dsp_client, dsp_connection, ref_of, sync  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(fake_dsp, dsp_connection, dsp_client, advertiser):
    """A campaign, its line item and keyword, pushed to the fake DSP: their Amazon ids are known."""
    [line_item] = build_tree(advertiser, line_items=1, targets=True)
    assert sync(advertiser, client=dsp_client).status == SyncStatus.SUCCEEDED
    return line_item.campaign, line_item, line_item.keywords.get()


def _update_sheet(campaign_id, ad_group_id, keyword_id, *, bid="1.80") -> bytes:
    """Amazon's ids (numeric), names that are not ours: only the ids can find the objects."""
    return sheet_bytes([
        row(Entity="Keyword", Operation="Update", Campaign_Id=campaign_id, Ad_Group_Id=ad_group_id,
            Keyword_Id=keyword_id, State="paused", Bid=bid),
    ])


def test_the_hooks_are_registered_when_the_app_starts():
    assert external_ids.resolve in EXTERNAL_ID_RESOLVERS and external_ids.record in EXTERNAL_ID_RECORDERS


def test_a_sheet_carrying_the_synced_amazon_ids_updates_exactly_those_objects(advertiser, synced):
    campaign, line_item, keyword = synced
    Keyword.objects.create(line_item=line_item, text="decoy", match_type="exact")  # same ad group, not the one

    plan = apply_sheet(advertiser, _update_sheet(ref_of(campaign).external_id, ref_of(line_item).external_id,
                                                 ref_of(keyword).external_id))

    [change] = plan.changes
    assert (change.action, change.pk) == ("update", keyword.pk)
    keyword.refresh_from_db()
    assert (keyword.state, keyword.bid) == ("paused", Decimal("1.80"))
    assert Keyword.objects.get(text="decoy").bid is None


def test_another_advertisers_sheet_cannot_reach_our_objects_through_our_amazon_ids(other_advertiser, synced):
    campaign, line_item, keyword = synced

    plan = plan_of(other_advertiser, _update_sheet(ref_of(campaign).external_id, ref_of(line_item).external_id,
                                                   ref_of(keyword).external_id))

    assert all(c.pk != keyword.pk for c in plan.changes)
    assert external_ids.resolve(model=Keyword, advertiser=other_advertiser,
                                external_ids={ref_of(keyword).external_id}) == {}


def test_ids_a_sheet_brings_are_kept_for_the_next_sheet_and_the_sync_ignores_them(
        fake_dsp, dsp_connection, dsp_client, advertiser):
    apply_sheet(advertiser, DOWNLOAD.read_bytes())  # Amazon's download: its numeric ids are recorded
    campaign = Campaign.objects.get(name="Trail Shoes - Manual")
    Campaign.objects.filter(pk=campaign.pk).update(name="Renamed here")

    again = plan_of(advertiser, DOWNLOAD.read_bytes())
    run = sync(advertiser, client=dsp_client)

    assert external_ids.resolve(model=Campaign, advertiser=advertiser, external_ids={"283920147781204"}) == {
        "283920147781204": campaign.pk}
    recorded = ExternalRef.objects.get(object_id=campaign.pk, system=ExternalSystem.AMAZON_BULKSHEET,
                                       content_type__model="campaign")
    assert recorded.external_id == "283920147781204"
    by_row = {c.row: c for c in again.changes}
    assert (by_row[2].action, by_row[2].pk, by_row[2].fields["name"]) == ("update", campaign.pk,
                                                                          "Trail Shoes - Manual")
    assert run.status == SyncStatus.SUCCEEDED  # a bulk-sheet id is not a DSP id: the push creates anew
    assert ref_of(campaign).external_id not in (None, "283920147781204")


def test_a_sheet_never_moves_an_id_to_another_object_or_tenant(advertiser, other_advertiser, synced):
    campaign, _, _ = synced
    theirs = Campaign.objects.create(advertiser=other_advertiser, name="Theirs", start_date=campaign.start_date,
                                     daily_budget=Decimal("10.00"))
    taken = ref_of(campaign).external_id

    external_ids.record(model=Campaign, advertiser=other_advertiser, ids={taken: theirs.pk})
    external_ids.record(model=Campaign, advertiser=other_advertiser, ids={"999": campaign.pk})  # not theirs

    assert external_ids.resolve(model=Campaign, advertiser=advertiser, external_ids={taken}) == {taken: campaign.pk}
    assert not ExternalRef.objects.filter(system=ExternalSystem.AMAZON_BULKSHEET).exists()


def test_our_objects_amazon_ids_for_an_export(advertiser, synced):
    campaign, line_item, keyword = synced
    other = Keyword.objects.create(line_item=line_item, text="not pushed", match_type="exact")

    assert external_ids.amazon_ids(model=Keyword, advertiser=advertiser, pks=[keyword.pk, other.pk]) == {
        keyword.pk: ref_of(keyword).external_id}
    assert external_ids.amazon_ids(model=LineItem, advertiser=advertiser, pks=[line_item.pk]) == {
        line_item.pk: ref_of(line_item).external_id}


def test_the_console_finds_an_object_by_its_amazon_id_within_the_users_advertisers(
        advertiser, synced, make_member, client, other_advertiser):
    _, line_item, _ = synced
    amazon_id = ref_of(line_item).external_id
    url = reverse("admin:campaigns_lineitem_changelist")
    outsider = make_member(other_advertiser, "manager")
    insider = make_member(advertiser, "trader")
    found = {}
    for user in (insider, outsider):
        user.is_staff = True
        user.save()
        client.force_login(user)
        found[user] = [li.pk for li in client.get(url, {"q": amazon_id}).context["cl"].result_list]

    assert found == {insider: [line_item.pk], outsider: []}


def test_recording_a_sheets_ids_costs_a_few_queries_not_one_per_id(advertiser):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.campaigns.factories import CampaignFactory, KeywordFactory, LineItemFactory

    line_item = LineItemFactory(campaign=CampaignFactory(advertiser=advertiser))
    keywords = [KeywordFactory(line_item=line_item, text=f"shoe {n}") for n in range(210)]

    def queries(chosen, first_id):
        with CaptureQueriesContext(connection) as captured:
            external_ids.record(model=Keyword, advertiser=advertiser,
                                ids={str(first_id + n): k.pk for n, k in enumerate(chosen)})
        return len(captured)

    few, many = queries(keywords[:10], 81_000_000), queries(keywords[10:], 82_000_000)
    assert many <= few + 4  # SQLite's parameter limit splits one INSERT into a few; one row each was 400
    # Recorded, and a second sheet with new ids for the same keywords replaces them in place.
    queries(keywords[:10], 83_000_000)
    refs = ExternalRef.objects.filter(system=ExternalSystem.AMAZON_BULKSHEET, content_type__model="keyword")
    assert refs.count() == 210
    assert external_ids.resolve(model=Keyword, advertiser=advertiser, external_ids={"83000000", "81000000"}) == {
        "83000000": keywords[0].pk}
