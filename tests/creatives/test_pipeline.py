"""Processing runs survive lost workers; uploads dedupe per advertiser; a spec change reprocesses
the creatives it covers; every step can run twice."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone

from creatives.choices import CreativeStatus, RunStatus
from creatives.models import Creative, ProcessingRun, Rendition
from creatives.services import creative_create_tag, creative_process, creative_process_enqueue, creative_upload, runs_reconcile
from creatives.services.pipeline import creative_check_specs, creative_sniff, creative_verify, specs_for
from creatives.services.runs import Heartbeat, RunLost, creatives_reprocess_for_spec, run_claim, run_still_mine
from creatives.tasks import reconcile_creative_runs
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory, seeded

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(db):
    return AdSpecFactory(width=300, height=250, max_bytes=150_000)


def queued_creative(advertiser, spec, data=None) -> Creative:
    """A creative whose run is queued but whose task never ran (the on_commit never fired)."""
    result = creative_upload(advertiser=advertiser, fh=BytesIO(data or media.jpeg(600, 500)), filename="a.jpg", specs=[spec])
    return result.creative


def test_an_upload_creates_a_run_first_and_the_task_completes_it(upload, spec):
    creative = upload(media.jpeg(600, 500), "a.jpg", specs=[spec])
    run = creative.runs.get()
    assert (run.status, run.step, run.attempts, run.reason) == (RunStatus.DONE, "done", 1, "upload")
    assert run.duration_ms is not None and run.heartbeat_at is not None
    assert creative.status == CreativeStatus.READY and creative.processed_at


def test_the_steps_are_separate_services(advertiser, spec):
    creative = queued_creative(advertiser, spec)
    assert creative_sniff(creative=creative) == "jpeg"
    decoded = creative_verify(creative=creative, specs=specs_for(creative))
    assert decoded.first.size == (300, 250) or decoded.first.size[0] >= 300  # decoded once, at working scale
    verdicts = creative_check_specs(creative=creative, specs=specs_for(creative))
    assert [v.passed for v in verdicts] == [True]


def test_the_same_bytes_twice_for_one_advertiser_are_one_creative(upload, advertiser, other_advertiser, spec):
    data = media.jpeg(600, 500)
    first = upload(data, "a.jpg", specs=[spec])
    again = creative_upload(advertiser=advertiser, fh=BytesIO(data), filename="renamed.jpg")
    assert not again.created and again.creative.pk == first.pk and again.run is None
    theirs = upload(data, "a.jpg", to=other_advertiser, specs=[spec])
    assert theirs.pk != first.pk and Creative.objects.count() == 2


def test_processing_a_run_twice_does_nothing_the_second_time(advertiser, spec):
    creative = queued_creative(advertiser, spec)
    run = creative.runs.get()
    assert creative_process(run_id=run.pk).status == RunStatus.DONE
    assert creative_process(run_id=run.pk) is None
    assert Rendition.objects.filter(creative=creative).count() == 1


def test_reprocessing_while_a_run_is_active_keeps_that_run(advertiser, spec):
    creative = queued_creative(advertiser, spec)
    first = creative.runs.get()
    assert creative_process_enqueue(creative=creative, reason="again").pk == first.pk
    assert ProcessingRun.objects.filter(creative=creative).count() == 1


def test_reprocessing_keeps_renditions_in_place_so_assignments_survive(upload, spec, run_on_commit):
    creative = upload(media.jpeg(600, 500), "a.jpg", specs=[spec])
    rendition = creative.renditions.get()
    with run_on_commit():
        creative_process_enqueue(creative=creative, reason="reprocess")
    assert creative.renditions.get().pk == rendition.pk
    assert creative.runs.count() == 2 and creative.runs.filter(status=RunStatus.DONE).count() == 2


def test_the_reconciler_requeues_a_run_whose_worker_was_lost(advertiser, spec, run_on_commit):
    creative = queued_creative(advertiser, spec)
    run = run_claim(creative.runs.get().pk)  # a worker took it … and was killed (SIGKILL)
    ProcessingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with run_on_commit():
        result = runs_reconcile()
    assert result["requeued"] == [run.pk]
    run.refresh_from_db()
    creative.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.DONE, 2) and "Worker lost during step claimed" in run.error
    assert creative.status == CreativeStatus.READY


def test_a_run_lost_too_many_times_fails_and_says_so(advertiser, spec, settings):
    settings.CREATIVES_RUN_MAX_ATTEMPTS = 1
    creative = queued_creative(advertiser, spec)
    run = run_claim(creative.runs.get().pk)
    ProcessingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runs_reconcile()["failed"] == [run.pk]
    creative.refresh_from_db()
    assert creative.status == CreativeStatus.REJECTED and "worker was lost 1 times" in creative.rejection_reason


def test_a_queued_run_whose_task_never_came_is_sent_again(advertiser, spec, run_on_commit):
    creative = queued_creative(advertiser, spec)
    ProcessingRun.objects.update(created_at=timezone.now() - timedelta(hours=1))
    with run_on_commit():
        assert reconcile_creative_runs.call_local()["resent"] == [creative.runs.get().pk]
    assert creative.runs.get().status == RunStatus.DONE


def test_a_fresh_running_run_is_left_alone(advertiser, spec):
    creative = queued_creative(advertiser, spec)
    run_claim(creative.runs.get().pk)
    assert runs_reconcile() == {"requeued": [], "failed": [], "resent": []}


def test_a_worker_whose_run_was_taken_back_stops_writing(advertiser, spec):
    creative = queued_creative(advertiser, spec)
    run = run_claim(creative.runs.get().pk)
    beat = Heartbeat(run)
    ProcessingRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)  # the reconciler took it back
    beat.last -= 60  # a beat is due
    with pytest.raises(RunLost):
        beat("render")
    with pytest.raises(RunLost):
        run_still_mine(run)  # and the final write refuses too


def test_a_spec_change_reprocesses_the_creatives_it_covers(upload, spec, run_on_commit):
    creative = upload(media.jpeg(600, 500, busy=True), "a.jpg", specs=[spec])
    assert creative.status == CreativeStatus.READY
    spec.max_bytes = 1_000  # tightened: nothing this busy fits
    spec.save()
    with run_on_commit():
        assert creatives_reprocess_for_spec(spec_id=spec.pk) == 1
    creative.refresh_from_db()
    assert creative.status == CreativeStatus.REJECTED and not creative.renditions.exists()
    assert "Cannot meet the 1 KB limit" in creative.verdicts.get().reasons[0]


def test_a_spec_change_leaves_refused_files_and_other_specs_creatives_alone(upload, spec):
    other = AdSpecFactory(width=160, height=600)
    upload(media.jpeg(600, 500), "a.jpg", specs=[other])  # requested another spec only
    upload(b"not an image at all", "x.jpg")  # refused for the file itself
    assert creatives_reprocess_for_spec(spec_id=spec.pk) == 0


def test_requested_specs_limit_what_is_checked_and_rendered(upload):
    specs = seeded("iab-300x250", "iab-728x90")
    creative = upload(media.jpeg(800, 600), "a.jpg", specs=specs)
    assert {v.spec.code for v in creative.verdicts.select_related("spec")} == {"iab-300x250", "iab-728x90"}


def test_without_requested_specs_every_active_display_spec_is_checked(upload):
    from creatives.models import AdSpec

    creative = upload(media.jpeg(800, 600), "a.jpg")
    expected = AdSpec.objects.filter(kind="display", delivery="file", is_active=True).count()
    assert creative.verdicts.count() == expected > 30


def test_a_kargo_snippet_is_checked_against_the_kargo_formats(advertiser, run_on_commit):
    with run_on_commit():
        result = creative_create_tag(advertiser=advertiser, name="Kargo anchor", width=320, height=50,
                                     third_party_tag="<script src='https://kargo.example/ad.js'></script>")
    creative = result.creative
    creative.refresh_from_db()
    passed = set(creative.verdicts.filter(passed=True).values_list("spec__code", flat=True))
    assert {"kargo-anchor", "kargo-breakout", "kargo-sidekick"} <= passed and "kargo-venti" not in passed
    assert creative.status == CreativeStatus.READY
    assert creative.renditions.filter(spec__code="kargo-anchor", format="tag", file="").exists()


def test_a_vast_url_must_be_https_for_kargo_video(advertiser, run_on_commit):
    with run_on_commit():
        creative = creative_create_tag(advertiser=advertiser, name="VAST", vast_url="http://ads.example/vast.xml").creative
    creative.refresh_from_db()
    assert "The VAST URL must use https." in creative.verdicts.get(spec__code="kargo-vast-viewstream").reasons
