"""The ops console: tenancy on every page, roles, actions, history, tree view, query counts.

Staff users here are ordinary members (is_staff, no Django model permissions): the console's
rule is membership roles (campaigns/admin_console/access.py).
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from campaigns.choices import CampaignStatus, EntityState, Role
from campaigns.models import Campaign, ChangeRecord, Keyword, Membership
from campaigns.services import BidChange, keyword_bids_set
from tests.campaigns.factories import (
    CampaignFactory,
    KeywordFactory,
    LineItemFactory,
    ProductAdFactory,
    ProductTargetFactory,
)

pytestmark = pytest.mark.django_db

TREE_MODELS = ["campaign", "lineitem", "keyword", "productad", "producttarget"]


def make_tree(advertiser, label):
    campaign = CampaignFactory(advertiser=advertiser, name=f"{label} campaign")
    line_item = LineItemFactory(campaign=campaign, name=f"{label} line item")
    return {
        "campaign": campaign,
        "lineitem": line_item,
        "keyword": KeywordFactory(line_item=line_item, text=f"{label} keyword"),
        "productad": ProductAdFactory(line_item=line_item, sku=f"{label}-SKU"),
        "producttarget": ProductTargetFactory(line_item=line_item, expression=f'asin="{label.upper()}00001"'),
    }


@pytest.fixture
def mine(advertiser):
    return make_tree(advertiser, "Mine")


@pytest.fixture
def theirs(other_advertiser):
    tree = make_tree(other_advertiser, "Theirs")
    tree["changerecord"] = ChangeRecord.objects.create(
        advertiser=other_advertiser, object_type="campaign", object_id=tree["campaign"].pk,
        field="daily_budget", old_value="100.00", new_value="150.00", source="api",
    )
    return tree


def staff_login(client):
    """login(user) → `client` logged in as `user`, made staff (and given nothing else)."""

    def login(user):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return login


@pytest.fixture
def console(client):
    return staff_login(client)


def url(model, suffix="changelist", *args):
    from django.urls import reverse

    return reverse(f"admin:campaigns_{model}_{suffix}", args=args)


def form_data(response) -> dict:
    """The POST body the admin page would send unchanged: its form and its inline formsets."""

    def value_of(bound):
        value = bound.value()
        if isinstance(value, bool):
            return "on" if value else None
        return "" if value is None else str(value)

    data = {"_save": "Save"}
    form = response.context["adminform"].form
    forms = [form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += [formset.management_form, *formset.forms]
    for each in forms:
        for name in each.fields:
            value = value_of(each[name])
            if value is not None:
                data[each.add_prefix(name)] = value
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def act(client, model, action, *objects):
    """Run a changelist action on `objects`, following the redirect to the messages."""
    selected = [obj.pk for obj in objects]
    return client.post(url(model), {"action": action, "_selected_action": selected}, follow=True)


# --- another advertiser's objects do not exist --------------------------------------------------


@pytest.mark.parametrize("model", [*TREE_MODELS, "changerecord"])
def test_a_changelist_lists_only_the_traders_advertisers(console, trader, mine, theirs, model):
    page = console(trader).get(url(model))
    assert page.status_code == 200
    shown = {obj.pk for obj in page.context["cl"].result_list}
    assert theirs[model].pk not in shown
    if model in mine:
        assert shown == {mine[model].pk}


@pytest.mark.parametrize("model", [*TREE_MODELS, "changerecord"])
def test_another_advertisers_change_page_does_not_exist(console, trader, theirs, model):
    response = console(trader).get(url(model, "change", theirs[model].pk), follow=True)
    assert response.redirect_chain and response.redirect_chain[-1][0] == "/admin/"
    assert any("doesn’t exist" in m for m in messages_of(response))
    assert str(theirs[model]) not in response.content.decode()


@pytest.mark.parametrize("model", TREE_MODELS)
def test_another_advertisers_history_and_delete_pages_reveal_nothing(console, trader, theirs, model):
    client = console(trader)
    history = client.get(url(model, "history", theirs[model].pk), follow=True)
    assert any("doesn’t exist" in m for m in messages_of(history))
    assert client.get(url(model, "delete", theirs[model].pk)).status_code == 403  # delete is superuser-only


def test_another_advertiser_is_invisible_on_the_advertiser_pages(console, trader, advertiser, other_advertiser):
    client = console(trader)
    listed = client.get(url("advertiser")).context["cl"].result_list
    assert [a.pk for a in listed] == [advertiser.pk]
    response = client.get(url("advertiser", "change", other_advertiser.pk), follow=True)
    assert any("doesn’t exist" in m for m in messages_of(response))


def test_the_tree_view_of_another_advertisers_campaign_is_not_found(console, trader, theirs):
    response = console(trader).get(url("campaign", "tree", theirs["campaign"].pk))
    assert response.status_code == 404
    assert "Theirs" not in response.content.decode()


@pytest.mark.parametrize("model, field", [("lineitem", "campaign"), ("keyword", "line_item")])
def test_autocomplete_suggests_only_parents_the_user_may_edit_under(console, trader, mine, theirs, model, field):
    parent = "campaign" if field == "campaign" else "lineitem"
    response = console(trader).get(
        "/admin/autocomplete/", {"app_label": "campaigns", "model_name": model, "field_name": field, "term": ""}
    )
    assert response.status_code == 200
    ids = {int(r["id"]) for r in response.json()["results"]}
    assert ids == {mine[parent].pk}


def test_the_raw_id_popup_is_scoped_too(console, trader, mine, theirs):
    page = console(trader).get(url("lineitem"), {"_to_field": "id", "_popup": "1"})
    assert page.status_code == 200
    assert "Theirs line item" not in page.content.decode()
    assert "Mine line item" in page.content.decode()


def test_an_action_posted_with_another_advertisers_id_changes_nothing(console, trader, theirs):
    act(console(trader), "campaign", "pause_selected", theirs["campaign"])
    theirs["campaign"].refresh_from_db()
    assert theirs["campaign"].status == CampaignStatus.ENABLED


def test_the_advertiser_choices_are_those_where_the_user_trades(console, trader, advertiser, other_advertiser):
    Membership.objects.create(user=trader, advertiser=other_advertiser, role=Role.VIEWER)
    page = console(trader).get(url("campaign", "add"))
    choices = list(page.context["adminform"].form.fields["advertiser"].queryset)
    assert choices == [advertiser]


def test_a_campaign_cannot_be_created_for_an_advertiser_the_user_only_views(console, trader, other_advertiser):
    Membership.objects.create(user=trader, advertiser=other_advertiser, role=Role.VIEWER)
    response = console(trader).post(url("campaign", "add"), {
        "advertiser": other_advertiser.pk, "name": "Sneaky", "phase": "conversion", "status": "draft",
        "start_date": "2030-01-01", "daily_budget": "10", "bidding_strategy": "legacyForSales",
        "targeting_type": "manual", "goal_kpi": "roas",
        "line_items-TOTAL_FORMS": "0", "line_items-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "advertiser" in response.context["adminform"].form.errors
    assert not Campaign.objects.filter(name="Sneaky").exists()


def test_a_keyword_cannot_be_added_under_another_advertisers_line_item(console, trader, mine, theirs):
    client = console(trader)
    data = {"text": "trail shoes", "match_type": "exact", "bid": "0.70", "state": "enabled"}
    refused = client.post(url("keyword", "add"), data | {"line_item": theirs["lineitem"].pk})
    assert refused.status_code == 200 and "line_item" in refused.context["adminform"].form.errors
    assert client.post(url("keyword", "add"), data | {"line_item": mine["lineitem"].pk}).status_code == 302
    added = Keyword.objects.get(text="trail shoes")
    assert added.line_item == mine["lineitem"]
    assert ChangeRecord.objects.filter(object_type="keyword", object_id=added.pk, new_value="0.70").exists()


def test_a_staff_user_without_memberships_sees_no_campaign_pages(console, django_user_model):
    loner = django_user_model.objects.create_user(username="loner", password="x")
    client = console(loner)
    assert "Campaigns" not in client.get("/admin/").content.decode()
    assert client.get(url("campaign")).status_code == 403


# --- roles ------------------------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_change(console, viewer, mine):
    client = console(viewer)
    page = client.get(url("campaign", "change", mine["campaign"].pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    data = {"name": "Renamed", "line_items-TOTAL_FORMS": "0", "line_items-INITIAL_FORMS": "0"}
    assert client.post(url("campaign", "change", mine["campaign"].pk), data).status_code == 403
    assert client.get(url("campaign", "add")).status_code == 403
    assert client.get(url("keyword", "add")).status_code == 403
    act(client, "campaign", "pause_selected", mine["campaign"])
    mine["campaign"].refresh_from_db()
    assert mine["campaign"].name != "Renamed" and mine["campaign"].status == CampaignStatus.ENABLED


def test_a_trader_sees_budgets_read_only_and_a_crafted_post_does_not_change_them(console, trader, mine):
    client = console(trader)
    campaign = mine["campaign"]
    page = client.get(url("campaign", "change", campaign.pk))
    assert 'name="daily_budget"' not in page.content.decode()
    assert 'name="line_items-0-budget"' not in page.content.decode()
    data = form_data(page) | {"name": "Renamed by trader", "daily_budget": "999.00", "total_budget": "9999.00"}
    response = client.post(url("campaign", "change", campaign.pk), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Renamed by trader"
    assert campaign.daily_budget == Decimal("100.00") and campaign.total_budget == Decimal("3000.00")
    assert not ChangeRecord.objects.filter(field__in=["daily_budget", "total_budget"]).exists()


def test_a_trader_changes_bids_and_the_change_is_recorded(console, trader, mine):
    client = console(trader)
    keyword = mine["keyword"]
    data = form_data(client.get(url("keyword", "change", keyword.pk))) | {"bid": "0.80"}
    assert client.post(url("keyword", "change", keyword.pk), data).status_code == 302
    record = ChangeRecord.objects.get(object_type="keyword", object_id=keyword.pk)
    assert (record.old_value, record.new_value, record.changed_by, record.source) == ("0.50", "0.80", trader, "console")


def test_a_manager_changes_budgets_and_the_history_shows_on_the_page(console, manager, mine):
    client = console(manager)
    campaign = mine["campaign"]
    data = form_data(client.get(url("campaign", "change", campaign.pk))) | {"daily_budget": "150.00"}
    assert client.post(url("campaign", "change", campaign.pk), data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.daily_budget == Decimal("150.00")
    page = client.get(url("campaign", "change", campaign.pk)).content.decode()
    assert "Budget and bid history" in page
    assert "daily_budget" in page and "100.00" in page and "150.00" in page and "maria-manager" in page


def test_a_campaign_page_shows_its_childrens_bid_history(console, trader, mine):
    keyword = mine["keyword"]
    keyword_bids_set(keywords=Keyword.objects.all(), changes=[BidChange(keyword.pk, "0.95")], by=trader)
    client = console(trader)
    for page_url in (url("campaign", "change", mine["campaign"].pk), url("lineitem", "change", mine["lineitem"].pk),
                     url("keyword", "change", keyword.pk)):
        page = client.get(page_url).content.decode()
        assert "0.95" in page
    history = client.get(url("changerecord"), {"campaign": mine["campaign"].pk})
    assert [r.new_value for r in history.context["cl"].result_list] == ["0.95"]


def test_archived_objects_are_read_only(console, manager, mine):
    campaign = mine["campaign"]
    campaign.status = CampaignStatus.ARCHIVED
    campaign.save()
    page = console(manager).get(url("campaign", "change", campaign.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


def test_the_status_field_cannot_archive_a_campaign_around_the_action(console, trader, mine):
    page = console(trader).get(url("campaign", "change", mine["campaign"].pk))
    choices = [value for value, _ in page.context["adminform"].form.fields["status"].choices]
    assert CampaignStatus.ARCHIVED not in choices and CampaignStatus.PAUSED in choices


def test_only_what_is_under_a_draft_campaign_can_be_deleted(console, trader, mine):
    client = console(trader)
    keyword = mine["keyword"]
    assert client.get(url("keyword", "delete", keyword.pk)).status_code == 403  # enabled: it may have spend
    Campaign.objects.filter(pk=mine["campaign"].pk).update(status=CampaignStatus.DRAFT)
    assert client.get(url("keyword", "delete", keyword.pk)).status_code == 200
    assert client.post(url("keyword", "delete", keyword.pk), {"post": "yes"}).status_code == 302
    assert not Keyword.objects.filter(pk=keyword.pk).exists()


def test_a_viewer_deletes_nothing_even_under_a_draft(console, viewer, mine):
    Campaign.objects.filter(pk=mine["campaign"].pk).update(status=CampaignStatus.DRAFT)
    assert console(viewer).get(url("lineitem", "delete", mine["lineitem"].pk)).status_code == 403


# --- creating through the forms -----------------------------------------------------------------


def campaign_post(advertiser, **line_item):
    start = date.today()
    data = {
        "advertiser": advertiser.pk, "name": "Spring launch", "phase": "awareness", "status": "draft",
        "start_date": start.isoformat(), "end_date": (start + timedelta(days=30)).isoformat(),
        "daily_budget": "50.00", "total_budget": "1500.00", "target_roas": "", "bidding_strategy": "legacyForSales",
        "targeting_type": "manual", "goal_kpi": "roas",
        "line_items-TOTAL_FORMS": "1", "line_items-INITIAL_FORMS": "0",
        "line_items-MIN_NUM_FORMS": "0", "line_items-MAX_NUM_FORMS": "1000",
        "line_items-0-name": "Spring display", "line_items-0-format": "display", "line_items-0-status": "enabled",
        "line_items-0-default_bid": "1.25", "line_items-0-budget": "", "line_items-0-pacing": "even",
        "_save": "Save",
    }
    return data | {f"line_items-0-{k}": v for k, v in line_item.items()}


def test_a_trader_creates_a_campaign_with_a_line_item_and_its_budget_is_recorded(console, trader, advertiser):
    response = console(trader).post(url("campaign", "add"), campaign_post(advertiser))
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = Campaign.objects.get(name="Spring launch")
    assert list(campaign.line_items.values_list("name", "default_bid")) == [("Spring display", Decimal("1.25"))]
    fields = set(ChangeRecord.objects.filter(changed_by=trader).values_list("object_type", "field"))
    assert {("campaign", "daily_budget"), ("lineitem", "default_bid")} <= fields


def test_a_new_line_items_bid_is_checked_against_the_new_campaigns_marketplace(console, trader, advertiser):
    response = console(trader).post(url("campaign", "add"), campaign_post(advertiser, default_bid="5000"))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert "Bid must be between" in str(errors)
    assert not Campaign.objects.filter(name="Spring launch").exists()


def test_a_line_item_under_an_archived_campaign_is_refused_as_a_form_error(console, manager, mine):
    mine["campaign"].status = CampaignStatus.ARCHIVED
    mine["campaign"].save()
    client = console(manager)
    line_item = mine["lineitem"]
    page = client.get(url("lineitem", "change", line_item.pk))
    assert page.status_code == 200 and 'name="_save"' in page.content.decode()
    data = form_data(page) | {"name": "Renamed under archive"}
    response = client.post(url("lineitem", "change", line_item.pk), data)
    assert response.status_code == 200
    assert "archived" in str(response.context["adminform"].form.errors)
    line_item.refresh_from_db()
    assert line_item.name == "Mine line item"


# --- actions ------------------------------------------------------------------------------------


def test_the_pause_action_reports_how_many_changed_and_why_others_did_not(console, trader, advertiser, mine):
    already = CampaignFactory(advertiser=advertiser, status=CampaignStatus.PAUSED)
    response = act(console(trader), "campaign", "pause_selected", mine["campaign"], already)
    assert "Paused 1 campaign(s). 1 already in that state or archived" in " ".join(messages_of(response))
    mine["campaign"].refresh_from_db()
    assert mine["campaign"].status == CampaignStatus.PAUSED


def test_the_enable_and_archive_actions_call_the_services(console, trader, mine):
    client = console(trader)
    campaign = mine["campaign"]
    campaign.status = CampaignStatus.PAUSED
    campaign.save()
    assert "Enabled 1 campaign(s)." in messages_of(act(client, "campaign", "enable_selected", campaign))
    archived = act(client, "campaign", "archive_selected", campaign)
    assert "Archived 1 campaign(s)." in messages_of(archived)
    mine["keyword"].refresh_from_db()
    assert mine["keyword"].state == EntityState.ARCHIVED  # archiving cascades


def test_the_duplicate_action_copies_the_tree_as_a_draft(console, trader, mine):
    response = act(console(trader), "campaign", "duplicate_selected", mine["campaign"])
    assert "Duplicated 1 campaign(s) as drafts." in messages_of(response)
    copy = Campaign.objects.get(name="Mine campaign (copy)")
    assert copy.status == CampaignStatus.DRAFT and copy.line_items.get().keywords.count() == 1


def test_actions_count_only_what_the_user_may_change(console, trader, advertiser, other_advertiser):
    Membership.objects.create(user=trader, advertiser=other_advertiser, role=Role.VIEWER)
    own, viewed = CampaignFactory(advertiser=advertiser), CampaignFactory(advertiser=other_advertiser)
    response = act(console(trader), "campaign", "pause_selected", own, viewed)
    assert "Paused 1 campaign(s). 1 you may not change (viewer role)." in messages_of(response)
    viewed.refresh_from_db()
    assert viewed.status == CampaignStatus.ENABLED


@pytest.mark.parametrize("model", ["lineitem", "keyword", "productad", "producttarget"])
def test_children_have_pause_actions_that_report_counts(console, trader, mine, model):
    response = act(console(trader), model, "pause_selected", mine[model])
    noun = {"lineitem": "line item", "keyword": "keyword", "productad": "product ad", "producttarget": "product target"}
    assert f"Paused 1 {noun[model]}(s)." in messages_of(response)
    mine[model].refresh_from_db()
    assert EntityState.PAUSED in (getattr(mine[model], "status", None), getattr(mine[model], "state", None))
