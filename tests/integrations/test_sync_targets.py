"""Targets (keywords, product targets) after their create: Amazon lets a target's state change
(Ads API v1 update/targets) and a target be removed (G2 deleteByObject), nothing else. Pause,
enable and archive here reach Amazon; a pause there comes back here."""

import pytest

from campaigns.choices import EntityState
from campaigns.models import Keyword, ProductTarget
from campaigns.services import entity_set_state
from integrations.models import SyncConflict, SyncDirection, SyncScope, SyncStatus
from tests.integrations.payloads import ad_group_payload
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    dsp_client,
    dsp_connection,
    fake_state,
    ref_of,
    sync,
)

pytestmark = pytest.mark.django_db


def _keyword_target(ad_group_id, text="trail shoes"):
    return {"adGroupId": ad_group_id, "adProduct": "AMAZON_DSP", "state": "ENABLED", "negative": False,
            "targetDetails": {"keywordTarget": {"keyword": text, "matchType": "exact"}}}


@pytest.fixture
def target_id(amazon, campaign_id):
    ad_group_id = amazon.create_ad_groups([ad_group_payload(campaign_id)]).ids("adGroupId")[0]
    return amazon.create_targets([_keyword_target(ad_group_id)]).ids("targetId")[0]


def _remote_targets(client) -> dict[str, dict]:
    return {t["targetId"]: t for t in client.iter_targets()}


# --- the client and the fake ------------------------------------------------------------------------

def test_a_targets_state_is_updated_through_the_ads_api_v1(fake_dsp, amazon, target_id):
    result = amazon.update_targets([{"targetId": target_id, "state": "PAUSED"}])

    assert result.ok and result.ids("targetId") == {0: target_id}
    assert _remote_targets(amazon)[target_id]["state"] == "PAUSED"
    [call] = [r for r in fake_dsp.recent_requests() if r["path"] == "/adsApi/v1/update/targets"]
    assert call["account"] == amazon.account_id and call["status"] == 207


def test_what_a_target_is_cannot_be_updated_and_the_item_is_refused_alone(amazon, target_id):
    result = amazon.update_targets([
        {"targetId": target_id, "targetDetails": {"keywordTarget": {"keyword": "other", "matchType": "exact"}}},
        {"targetId": target_id, "state": "ARCHIVED"},
        {"targetId": "6099999999999", "state": "PAUSED"},
        {"targetId": target_id, "state": "PAUSED"},
    ])

    assert [s["index"] for s in result.success] == [3]
    assert {e["index"]: e["errorCode"] for e in result.error} == {
        0: "FIELD_VALUE_IS_INVALID", 1: "FIELD_VALUE_IS_INVALID", 2: "RESOURCE_ID_NOT_FOUND"}
    assert "targetDetails cannot be updated" in result.error[0]["errorMessage"]
    remote = _remote_targets(amazon)[target_id]
    assert remote["targetDetails"]["keywordTarget"]["keyword"] == "trail shoes" and remote["state"] == "PAUSED"


def test_a_target_is_removed_by_what_it_is_and_a_second_removal_is_not_found(amazon, target_id):
    target = _remote_targets(amazon)[target_id]
    item = {k: target[k] for k in ("adGroupId", "adProduct", "negative", "targetDetails")}

    first = amazon.delete_targets([item])
    again = amazon.delete_targets([item])

    assert first.ids("targetId") == {0: target_id}
    assert [e["errorCode"] for e in again.error] == ["RESOURCE_ID_NOT_FOUND"]
    assert target_id not in _remote_targets(amazon)


# --- the push ----------------------------------------------------------------------------------------

def test_pausing_a_keyword_here_pauses_its_target_on_amazon(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=2, targets=True)
    sync(advertiser, client=dsp_client)
    keyword = items[0].keywords.get()
    entity_set_state(obj=keyword, state=EntityState.PAUSED)

    run = sync(advertiser, client=dsp_client)

    assert (run.status, run.updated, run.failed) == (SyncStatus.SUCCEEDED, 1, 0)
    assert _remote_targets(dsp_client)[ref_of(keyword).external_id]["state"] == "PAUSED"
    assert run.stats["requests"] == {"api": 2}  # read it back, one update call
    assert sync(advertiser, client=dsp_client).stats["requests"] == {}  # settled


def test_enabling_it_again_enables_it_on_amazon(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1, targets=True)
    target = items[0].product_targets.get()
    ProductTarget.objects.filter(pk=target.pk).update(state=EntityState.PAUSED)
    sync(advertiser, client=dsp_client)
    assert _remote_targets(dsp_client)[ref_of(target).external_id]["state"] == "PAUSED"  # created paused
    ProductTarget.objects.filter(pk=target.pk).update(state=EntityState.ENABLED)

    run = sync(advertiser, client=dsp_client)

    assert run.updated == 1
    assert _remote_targets(dsp_client)[ref_of(target).external_id]["state"] == "ENABLED"


def test_archiving_a_keyword_here_removes_its_target_from_amazon_once(fake_dsp, dsp_connection, dsp_client,
                                                                       advertiser):
    items = build_tree(advertiser, line_items=2, targets=True)
    sync(advertiser, client=dsp_client)
    keyword = items[1].keywords.get()
    gone = ref_of(keyword).external_id
    entity_set_state(obj=keyword, state=EntityState.ARCHIVED)

    run = sync(advertiser, client=dsp_client)
    pull = sync(advertiser, SyncDirection.PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    assert (run.status, run.updated) == (SyncStatus.SUCCEEDED, 1)
    assert gone not in _remote_targets(dsp_client)
    assert fake_state(fake_dsp)["entities"]["targets"] == 3
    assert ref_of(keyword).synced_values["state"] == "ARCHIVED"
    assert (pull.status, pull.stats["pull"]["missing_on_amazon"]) == (SyncStatus.SUCCEEDED, 0)
    assert sync(advertiser, client=dsp_client).stats["requests"] == {}


def test_archive_wins_over_a_pause_made_on_amazon_meanwhile(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1, targets=True)
    sync(advertiser, client=dsp_client)
    keyword = items[0].keywords.get()
    dsp_client.update_targets([{"targetId": ref_of(keyword).external_id, "state": "PAUSED"}])
    entity_set_state(obj=keyword, state=EntityState.ARCHIVED)

    pulled = sync(advertiser, SyncDirection.PULL, client=dsp_client, scope=SyncScope.ENTITIES)
    pushed = sync(advertiser, client=dsp_client)

    assert (pulled.conflicts, pushed.conflicts, SyncConflict.objects.count()) == (0, 0, 0)
    assert ref_of(keyword).external_id not in _remote_targets(dsp_client)


def test_a_target_already_gone_from_amazon_is_settled_when_archived_here(fake_dsp, dsp_connection, dsp_client,
                                                                        advertiser):
    items = build_tree(advertiser, line_items=1, targets=True)
    sync(advertiser, client=dsp_client)
    keyword = items[0].keywords.get()
    remote = _remote_targets(dsp_client)[ref_of(keyword).external_id]
    dsp_client.delete_targets([{k: remote[k] for k in ("adGroupId", "adProduct", "negative", "targetDetails")}])
    Keyword.objects.filter(pk=keyword.pk).update(state=EntityState.ARCHIVED)

    run = sync(advertiser, client=dsp_client)

    assert (run.status, run.failed, run.unchanged) == (SyncStatus.SUCCEEDED, 0, 4)
    assert sync(advertiser, client=dsp_client).stats["requests"] == {}


def test_a_pause_made_on_amazon_is_pulled_here(fake_dsp, dsp_connection, dsp_client, advertiser):
    items = build_tree(advertiser, line_items=1, targets=True)
    sync(advertiser, client=dsp_client)
    target = items[0].product_targets.get()
    dsp_client.update_targets([{"targetId": ref_of(target).external_id, "state": "PAUSED"}])

    run = sync(advertiser, SyncDirection.PULL, client=dsp_client, scope=SyncScope.ENTITIES)

    target.refresh_from_db()
    assert (run.status, run.updated, target.state) == (SyncStatus.SUCCEEDED, 1, EntityState.PAUSED)
    assert sync(advertiser, client=dsp_client).stats["requests"] == {}


def test_new_words_are_still_not_updatable_but_a_pause_with_them_is_sent(fake_dsp, dsp_connection, dsp_client,
                                                                         advertiser):
    items = build_tree(advertiser, line_items=1, targets=True)
    sync(advertiser, client=dsp_client)
    keyword = items[0].keywords.get()
    Keyword.objects.filter(pk=keyword.pk).update(text="changed words", state=EntityState.PAUSED)

    run = sync(advertiser, client=dsp_client)

    remote = _remote_targets(dsp_client)[ref_of(keyword).external_id]
    assert [(e["code"], e["object"]) for e in run.errors] == [("NOT_UPDATABLE", f"keyword:{keyword.pk}")]
    assert "target" in run.errors[0]["message"] and run.status == SyncStatus.FAILED
    assert (remote["state"], remote["targetDetails"]["keywordTarget"]["keyword"]) == ("PAUSED", f"tent {items[0].pk}")
    assert run.progress_done == run.progress_total


def test_ours_wins_on_a_targets_state_goes_through_the_update_and_its_words_cannot(
        fake_dsp, dsp_connection, dsp_client, advertiser, superuser):
    # With two states a target's state cannot conflict by itself (both sides moving means both
    # paused or both enabled); a conflict row from elsewhere (an older version) still resolves.
    from integrations.sync import ConflictNotResolvable, sync_conflict_resolve

    items = build_tree(advertiser, line_items=1, targets=True)
    sync(advertiser, client=dsp_client)
    ref = ref_of(items[0].product_targets.get())
    state = SyncConflict.objects.create(ref=ref, advertiser=advertiser, field="state", base_value="ENABLED",
                                        our_value="PAUSED", their_value="ENABLED")
    words = SyncConflict.objects.create(ref=ref, advertiser=advertiser, field="target", base_value="a",
                                        our_value="b", their_value="c")

    sync_conflict_resolve(conflict=state, resolution="ours", by=superuser, client=dsp_client)
    with pytest.raises(ConflictNotResolvable, match="does not let target"):
        sync_conflict_resolve(conflict=words, resolution="ours", by=superuser, client=dsp_client)

    assert _remote_targets(dsp_client)[ref.external_id]["state"] == "PAUSED"
    assert SyncConflict.objects.get(pk=words.pk).is_open
