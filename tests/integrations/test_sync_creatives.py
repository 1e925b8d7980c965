"""Our creatives in a push: ready creatives' renditions assigned to line items become DSP ad
creatives (asset upload → register → processing → active → ad creative → ad experience) and
creative ↔ ad group associations, 20 per call, each journaled so that nothing is created twice."""

from io import BytesIO

import pytest
from django.core.files.storage import default_storage

from campaigns.choices import LineItemFormat
from campaigns.models import LineItem
from creatives.choices import CreativeStatus
from creatives.models import Creative, Rendition
from creatives.services import creative_create_tag, creative_upload, renditions_assign
from integrations.amazon import limits
from integrations.models import ExternalRef, SyncStatus
from integrations.sync import push_dirty_count
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory
from tests.integrations.test_sync_support import (  # noqa: F401 (fixtures)
    build_tree,
    clear_faults,
    dsp_client,
    dsp_connection,
    fake_state,
    ref_of,
    set_faults,
    sync,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AMAZON_ASSET_POLL_SECONDS = 7
    return tmp_path / "media"


@pytest.fixture
def upload(advertiser, django_capture_on_commit_callbacks):
    """upload(bytes, filename, specs) → the creative, processed by the real pipeline."""

    def make(data: bytes, filename: str, *, specs, name="") -> Creative:
        with django_capture_on_commit_callbacks(execute=True):
            result = creative_upload(advertiser=advertiser, fh=BytesIO(data), filename=filename, specs=specs,
                                     name=name)
        result.creative.refresh_from_db()
        assert result.creative.status == CreativeStatus.READY, result.creative.rejection_reason
        return result.creative

    return make


@pytest.fixture
def banner(upload):
    """A PNG with two display renditions (300x250 and 728x90)."""
    specs = [AdSpecFactory(width=300, height=250, allowed_formats=["png"]),
             AdSpecFactory(width=728, height=90, allowed_formats=["png"])]
    return upload(media.png(900, 600), "spring-banner.png", specs=specs, name="Spring banner")


def _state(fake_dsp) -> dict:
    return fake_state(fake_dsp)["entities"]


def _calls(fake_dsp, route: str) -> int:
    return fake_state(fake_dsp)["requests"]["by_route"].get(route, {}).get("count", 0)


def test_a_banner_goes_up_as_one_ad_creative_per_rendition_associated_with_its_line_items(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    items = build_tree(advertiser, line_items=3)
    renditions_assign(creative=banner, line_items=items)

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    entities = _state(fake_dsp)
    assert (entities["assets"], entities["adCreatives"], entities["associations"]) == (2, 2, 6)
    assert run.created == 1 + 3 + 2 + 6
    assert run.stats["creatives"] == {"assets": 2, "creatives": 2, "creatives_updated": 0, "associations": 6}
    remote = {c["externalId"]: c for c in dsp_client.iter_ad_creatives(page_size=100)}
    for rendition in banner.renditions.all():
        creative = remote[f"adops-rendition-{rendition.pk}"]
        props = creative["adCreativeFormatProperties"]
        assert props["adCreativeFormatType"] == "DISPLAY"
        assert props["creativeSizes"] == [{"width": rendition.width, "height": rendition.height}]
        assert creative["adExperiences"] == ["STANDARD_DISPLAY"]
        assert ref_of(rendition).external_id == creative["adCreativeId"]
    groups = {ref_of(li).external_id for li in items}
    assert {a["adGroupId"] for a in dsp_client.iter_associations()} == groups
    assert not ExternalRef.objects.filter(pending_since__isnull=False).exists()


def test_the_uploaded_asset_is_the_renditions_file(fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    items = build_tree(advertiser, line_items=1)
    rendition = banner.renditions.get(width=300)
    renditions_assign(creative=banner, line_items=items, specs=[rendition.spec])

    sync(advertiser, client=dsp_client)

    [asset] = fake_dsp.app.state.assets.values()
    with rendition.file.open("rb") as handle:
        assert asset["size"] == len(handle.read()) == rendition.size_bytes
    assert asset["fileName"] == f"adops-rendition-{rendition.pk}.png" and asset["contentType"] == "image/png"
    puts = [r for r in fake_dsp.recent_requests() if r["path"].startswith("/_s3/assets/")]
    assert [p["authorization"] for p in puts] == [False]  # presigned: no Authorization header


def test_associations_go_at_most_twenty_per_call(fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    items = build_tree(advertiser, line_items=45)
    rendition = banner.renditions.get(width=300)
    renditions_assign(creative=banner, line_items=items, specs=[rendition.spec])

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED
    assert _state(fake_dsp)["associations"] == 45
    assert _calls(fake_dsp, "POST /dsp/v1/adCreatives/associations/adGroups") == -(-45 // limits.ASSOCIATIONS_PER_WRITE)


def test_a_second_push_sends_nothing_and_a_new_assignment_only_its_association(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    items = build_tree(advertiser, line_items=3)
    spec = banner.renditions.get(width=300).spec
    renditions_assign(creative=banner, line_items=items[:2], specs=[spec])
    sync(advertiser, client=dsp_client)

    again = sync(advertiser, client=dsp_client)
    renditions_assign(creative=banner, line_items=items[2:], specs=[spec])
    added = sync(advertiser, client=dsp_client)

    assert (again.stats["requests"], again.created) == ({}, 0)
    assert (added.created, added.stats["requests"]) == (1, {"api": 1})
    assert _state(fake_dsp)["associations"] == 3 and _state(fake_dsp)["adCreatives"] == 1
    assert push_dirty_count(advertiser=advertiser) == 0


def test_asset_processing_is_polled_for_every_rendition_in_the_same_rounds(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner, clock):
    fake_dsp.configure(asset_processing_polls=3)
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=1))

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED
    assert _calls(fake_dsp, "GET /assets") == 2 * 4  # each asset: 3 × PROCESSING, then ACTIVE
    assert clock.sleeps == [7.0, 7.0, 7.0]  # AMAZON_ASSET_POLL_SECONDS, once per round, not per asset


def test_a_third_party_tag_becomes_a_third_party_ad_creative(fake_dsp, dsp_connection, dsp_client, advertiser,
                                                              django_capture_on_commit_callbacks):
    spec = AdSpecFactory(delivery="tag", width=320, height=50, allowed_formats=[])
    tag = '<div id="rm"><script src="https://cdn.example.com/rich.js"></script></div>'
    with django_capture_on_commit_callbacks(execute=True):
        creative = creative_create_tag(advertiser=advertiser, name="Rich media", width=320, height=50,
                                       third_party_tag=tag, specs=[spec]).creative
    creative.refresh_from_db()
    renditions_assign(creative=creative, line_items=build_tree(advertiser, line_items=2))

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    [remote] = list(dsp_client.iter_ad_creatives())
    props = remote["adCreativeFormatProperties"]
    assert props["thirdPartyTag"] == {"tagType": "HTML", "tagSource": tag}
    assert props["creativeSizes"] == [{"width": 320, "height": 50}]
    assert remote["adExperiences"] == ["THIRD_PARTY_DISPLAY"]
    assert (_state(fake_dsp)["assets"], _state(fake_dsp)["associations"]) == (0, 2)


def test_a_renamed_creative_updates_its_ad_creative_without_a_new_asset(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=1),
                      specs=[banner.renditions.get(width=300).spec])
    sync(advertiser, client=dsp_client)
    Creative.objects.filter(pk=banner.pk).update(name="Summer banner")

    run = sync(advertiser, client=dsp_client)

    [remote] = list(dsp_client.iter_ad_creatives())
    assert (run.updated, run.created, remote["name"]) == (1, 0, "Summer banner 300x250")
    assert _state(fake_dsp)["assets"] == 1
    assert run.stats["creatives"]["creatives_updated"] == 1


def test_a_creative_whose_answer_was_lost_is_found_not_created_again(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=2))
    # Amazon creates the ad creative, the answer never arrives (twice).
    set_faults(fake_dsp, [{"route": "POST /dsp/v1/adCreatives", "status": [502, 504], "phase": "after", "times": 2}])

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert _state(fake_dsp)["adCreatives"] == 2 and _state(fake_dsp)["associations"] == 4
    assert run.created == 1 + 2 + 2 + 4


def test_a_push_killed_after_its_creates_left_then_run_again_creates_nothing_twice(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=25))
    # The first ad creative is created but its answer is lost, and the run cannot look it up
    # (Amazon's list keeps failing): it stops there, like a worker killed after sending. Its
    # journal ("create sent") is all the rerun has.
    set_faults(fake_dsp, [{"route": "POST /dsp/v1/adCreatives", "drop": True, "phase": "after"},
                          {"route": "POST /dsp/v1/adCreatives/list", "status": 500}])
    first = sync(advertiser, client=dsp_client)
    blind = _state(fake_dsp)
    in_doubt = ExternalRef.objects.filter(pending_since__isnull=False, external_id__isnull=True).count()
    clear_faults(fake_dsp)

    second = sync(advertiser, client=dsp_client)

    assert first.status == SyncStatus.FAILED and (blind["adCreatives"], blind["associations"]) == (1, 0)
    assert in_doubt == 2  # both renditions: one sent, one not yet
    assert second.status == SyncStatus.SUCCEEDED, second.errors
    entities = _state(fake_dsp)
    assert (entities["adCreatives"], entities["associations"], entities["assets"]) == (2, 50, 2)
    assert not ExternalRef.objects.filter(pending_since__isnull=False).exists()
    assert push_dirty_count(advertiser=advertiser) == 0


def test_a_push_killed_while_associating_then_run_again_associates_each_once(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=25))
    set_faults(fake_dsp, [{"route": "POST /dsp/v1/adCreatives/associations/adGroups", "drop": True,
                           "phase": "after"}])  # they land; no answer ever comes back
    first = sync(advertiser, client=dsp_client)
    landed = _state(fake_dsp)["associations"]
    clear_faults(fake_dsp)

    second = sync(advertiser, client=dsp_client)

    assert first.status == SyncStatus.FAILED and landed == 20  # the first call, sent again and again
    assert second.status == SyncStatus.SUCCEEDED, second.errors
    assert (_state(fake_dsp)["associations"], second.stats["creatives"]["associations"]) == (50, 50)
    assert push_dirty_count(advertiser=advertiser) == 0


def test_associations_whose_answers_were_lost_are_sent_again_and_already_exist(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=30),
                      specs=[banner.renditions.get(width=300).spec])
    set_faults(fake_dsp, [{"route": "POST /dsp/v1/adCreatives/associations/adGroups", "status": 503,
                           "phase": "after", "times": 1},
                          {"route": "POST /dsp/v1/adCreatives/associations/adGroups", "partial": 0.3}])

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert _state(fake_dsp)["associations"] == 30 and run.stats["creatives"]["associations"] == 30


def test_an_asset_amazon_cannot_process_fails_its_rendition_alone(fake_dsp, dsp_connection, dsp_client, advertiser,
                                                                  banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=1))
    broken = banner.renditions.get(width=728)
    with default_storage.open(broken.file.name, "wb") as handle:  # the file got damaged on disk
        handle.write(b"not a png any more" * 10)

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.FAILED
    assert [(e["object"], e["code"]) for e in run.errors] == [
        (f"rendition:{broken.pk}", "ASSET_NOT_ACTIVE"),
        (f"assignment:{broken.assignments.get().pk}", "CREATIVE_NOT_ON_AMAZON")]
    assert _state(fake_dsp)["adCreatives"] == 1
    assert run.progress_done == run.progress_total


def test_a_creative_that_is_not_ready_is_not_pushed(fake_dsp, dsp_connection, dsp_client, advertiser, banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=1))
    Creative.objects.filter(pk=banner.pk).update(status=CreativeStatus.REJECTED)

    run = sync(advertiser, client=dsp_client)

    assert (run.status, _state(fake_dsp)["adCreatives"]) == (SyncStatus.SUCCEEDED, 0)


def test_a_dry_run_counts_creatives_and_associations_and_sends_nothing(fake_dsp, dsp_connection, dsp_client,
                                                                      advertiser, banner):
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=2))

    run = sync(advertiser, client=dsp_client, dry_run=True)

    assert (run.status, run.created) == (SyncStatus.SUCCEEDED, 1 + 2 + 2 + 4)
    assert _state(fake_dsp)["assets"] == 0 and not ExternalRef.objects.exists()
    assert push_dirty_count(advertiser=advertiser) == 1 + 2 + 2 + 4


@media.needs_ffmpeg
def test_a_video_goes_up_as_a_video_ad_creative(fake_dsp, dsp_connection, dsp_client, advertiser, upload, tmp_path):
    spec = AdSpecFactory(kind="video", width=None, height=None, allowed_formats=["mp4"])
    video = upload(media.mp4(tmp_path, 2), "teaser.mp4", specs=[spec])
    renditions_assign(creative=video, line_items=[_line_item(advertiser, LineItemFormat.VIDEO)])

    run = sync(advertiser, client=dsp_client)

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    [remote] = list(dsp_client.iter_ad_creatives())
    assert remote["adCreativeFormatProperties"]["adCreativeFormatType"] == "VIDEO"
    assert remote["adExperiences"] == ["ONLINE_VIDEO"]
    [asset] = fake_dsp.app.state.assets.values()
    assert (asset["assetType"], asset["contentType"]) == ("VIDEO", "video/mp4")


@media.needs_ffmpeg
def test_audio_is_reported_as_not_supported_and_the_run_still_succeeds(
        fake_dsp, dsp_connection, dsp_client, advertiser, upload, tmp_path):
    spec = AdSpecFactory(kind="audio", width=None, height=None, allowed_formats=["mp3"])
    audio = upload(media.mp3(tmp_path, 12), "jingle.mp3", specs=[spec])
    renditions_assign(creative=audio, line_items=[_line_item(advertiser, LineItemFormat.AUDIO)])

    run = sync(advertiser, client=dsp_client)

    rendition = Rendition.objects.get(creative=audio)
    assert (run.status, run.failed) == (SyncStatus.SUCCEEDED, 0)
    assert [e["code"] for e in run.errors] == ["NOT_SUPPORTED", "NOT_SUPPORTED"]
    assert f"rendition:{rendition.pk}" == run.errors[0]["object"]
    assert _state(fake_dsp)["adCreatives"] == 0
    assert push_dirty_count(advertiser=advertiser) == 0  # nothing for "push on change" to retry


def _line_item(advertiser, fmt) -> LineItem:
    """One line item of format `fmt` in a live campaign (build_tree makes display ones)."""
    display = build_tree(advertiser, line_items=1)[0]
    LineItem.objects.filter(pk=display.pk).update(format=fmt, default_bid="5.00", name=f"{fmt} line item")
    return LineItem.objects.get(pk=display.pk)


def test_an_asset_still_processing_at_the_deadline_is_left_for_the_next_push(
        fake_dsp, dsp_connection, dsp_client, advertiser, banner, clock, settings):
    settings.AMAZON_ASSET_POLL_SECONDS = 5
    settings.AMAZON_ASSET_MAX_WAIT_SECONDS = 12
    fake_dsp.configure(asset_processing_polls=1000)  # PROCESSING for as long as this run waits
    renditions_assign(creative=banner, line_items=build_tree(advertiser, line_items=1))
    renditions = sorted(banner.renditions.values_list("pk", flat=True))

    run = sync(advertiser, client=dsp_client)

    waiting = [(e["object"], e["code"]) for e in run.errors if e["code"] == "ASSET_STILL_PROCESSING"]
    assert waiting == [(f"rendition:{pk}", "ASSET_STILL_PROCESSING") for pk in renditions]
    assert all("next push continues" in e["message"] for e in run.errors if e["code"] == "ASSET_STILL_PROCESSING")
    assert clock.sleeps == [5.0, 5.0]  # a third round would end past the 12 s deadline
    assert _calls(fake_dsp, "GET /assets") == 2 * 3
    assert (_state(fake_dsp)["assets"], _state(fake_dsp)["adCreatives"]) == (2, 0)

    fake_dsp.configure(asset_processing_polls=0)  # Amazon finished meanwhile
    again = sync(advertiser, client=dsp_client)

    assert again.status == SyncStatus.SUCCEEDED, again.errors
    assert _calls(fake_dsp, "POST /assets/upload") == 2  # polled again, not uploaded a second time
    entities = _state(fake_dsp)
    assert (entities["assets"], entities["adCreatives"], entities["associations"]) == (2, 2, 2)
