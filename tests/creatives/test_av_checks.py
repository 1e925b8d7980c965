"""Video and audio through ffprobe/ffmpeg: real files made by ffmpeg, checked against the seeded
Amazon specs; damaged and truncated files refused."""

import pytest

from creatives.choices import CreativeStatus
from creatives.models import SpecVerdict
from tests.creatives import media
from tests.creatives.factories import seeded

pytestmark = [pytest.mark.django_db, media.needs_ffmpeg]
VIDEO_SPECS = ("amazon-olv", "amazon-olv-3p", "amazon-streaming-tv")


def verdict(creative, code: str) -> SpecVerdict:
    return SpecVerdict.objects.get(creative=creative, spec__code=code)


@pytest.fixture(scope="module")
def olv_ready(media_dir):
    """6 s, 640×360, 24 fps constant, 2.5 Mbps H.264, 160 kbps AAC 48 kHz stereo: third-party OLV."""
    return media.mp4(media_dir, 6, size="640x360", vbitrate="2500k", abitrate="160k")


def test_a_6_second_video_passes_the_olv_duration_but_not_streaming_tvs(upload, media_dir, olv_ready):
    creative = upload(olv_ready, "spot.mp4", specs=seeded(*VIDEO_SPECS))
    assert (creative.status, creative.kind, creative.detected_format) == (CreativeStatus.READY, "video", "mp4")
    assert float(creative.duration) == pytest.approx(6.0, abs=0.1)
    assert creative.media_info["video_codec"] == "h264" and creative.media_info["fps"] == 24
    third_party = verdict(creative, "amazon-olv-3p")
    assert third_party.passed, third_party.reasons
    site_served = verdict(creative, "amazon-olv")
    assert not any("lasts" in r for r in site_served.reasons)
    assert any("at least 1920×1080" in r for r in site_served.reasons)
    assert any("exactly 15, 30 s" in r for r in verdict(creative, "amazon-streaming-tv").reasons)
    rendition = creative.renditions.get()
    assert rendition.spec.code == "amazon-olv-3p" and rendition.passthrough and rendition.file.name == creative.original.name


def test_a_150_second_video_is_too_long_for_online_video(upload, media_dir):
    data = media.mp4(media_dir, 150, size="160x90", fps=5, vbitrate="40k", audio=False)
    creative = upload(data, "long.mp4", specs=seeded(*VIDEO_SPECS))
    assert float(creative.duration) == pytest.approx(150, abs=0.5)
    olv = verdict(creative, "amazon-olv-3p")
    assert "It lasts 150.0 s; this spec allows at most 120 s." in olv.reasons
    assert "There is no audio track; this spec needs one." in olv.reasons
    assert creative.status == CreativeStatus.REJECTED and creative.rejection_code == "no_spec_passed"


def test_a_45_second_mp3_is_too_long_and_too_heavy_for_audio_ads(upload, media_dir):
    creative = upload(media.mp3(media_dir, 45), "jingle.mp3", specs=seeded("amazon-audio"))
    assert (creative.kind, creative.detected_format) == ("audio", "mp3")
    reasons = verdict(creative, "amazon-audio").reasons
    assert "It lasts 45.0 s; this spec allows at most 30 s." in reasons
    assert any(r.startswith("The file is 1.0 MB") or "this spec allows 977 KB" in r for r in reasons)


def test_a_20_second_mp3_at_192_kbps_and_minus_14_dbfs_passes_audio_ads(upload, media_dir):
    creative = upload(media.mp3(media_dir, 20), "jingle.mp3", specs=seeded("amazon-audio"))
    check = verdict(creative, "amazon-audio")
    assert check.passed, check.reasons
    assert creative.media_info["rms_dbfs"] == pytest.approx(-14, abs=0.5)
    assert creative.status == CreativeStatus.READY


def test_audio_that_peaks_too_high_fails_the_loudness_check(upload, media_dir):
    creative = upload(media.wav(media_dir, 12, peak_db=0.0), "loud.wav", specs=seeded("amazon-audio"))
    reasons = verdict(creative, "amazon-audio").reasons
    assert any("Peaks reach" in r for r in reasons) and any("Loudness is" in r for r in reasons), reasons


@pytest.mark.parametrize("make, name, fmt", [
    (lambda d: media.wav(d), "tone.wav", "wav"),
    (lambda d: media.ogg(d), "tone.ogg", "ogg"),
    (lambda d: media.webm(d), "clip.webm", "webm"),
])
def test_wav_ogg_and_webm_are_accepted_and_checked(upload, media_dir, make, name, fmt):
    creative = upload(make(media_dir), name, specs=seeded("amazon-audio", "amazon-olv-3p"))
    assert creative.detected_format == fmt and creative.rejection_code in ("", "no_spec_passed")
    assert creative.verdicts.count() == 1
    assert float(creative.duration) == pytest.approx(2, abs=0.1)


def test_webm_fails_the_amazon_codec_list_with_a_reason(upload, media_dir):
    creative = upload(media.webm(media_dir), "clip.webm", specs=seeded("amazon-olv-3p"))
    assert "Video codec VP8 is not accepted; use H264, MPEG2VIDEO, MPEG4." in verdict(creative, "amazon-olv-3p").reasons


@pytest.mark.parametrize("make, name", [
    (lambda d, ready: ready, "cut.mp4"),
    (lambda d, ready: media.webm(d), "cut.webm"),
    (lambda d, ready: media.mp3(d, 20), "cut.mp3"),
    (lambda d, ready: media.wav(d), "cut.wav"),
    (lambda d, ready: media.ogg(d), "cut.ogg"),
])
def test_truncated_video_and_audio_are_refused(upload, media_dir, olv_ready, make, name):
    creative = upload(media.cut(make(media_dir, olv_ready), 0.6), name)
    assert creative.status == CreativeStatus.REJECTED
    assert creative.rejection_code in ("truncated", "damaged"), creative.rejection_reason


def test_an_mp4_that_is_not_h264_is_refused(upload, media_dir):
    out = media_dir / "mpeg4.mp4"
    media._ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=1", "-c:v", "mpeg4"], out)
    creative = upload(out.read_bytes(), "old.mp4")
    assert creative.rejection_code == "unsupported_format" and "MPEG4 video is not accepted" in creative.rejection_reason


def test_an_audio_upload_over_the_audio_limit_is_refused(upload, media_dir, settings):
    settings.CREATIVES_MAX_AUDIO_BYTES = 100_000
    creative = upload(media.mp3(media_dir, 20), "big.mp3")
    assert creative.rejection_code == "too_large"


def test_a_missing_ffprobe_fails_the_run_without_blaming_the_file(upload, media_dir, settings):
    settings.CREATIVES_FFPROBE = "/nonexistent/ffprobe"
    creative = upload(media.wav(media_dir), "tone.wav")
    assert creative.rejection_code == "processing_error" and "not installed" in creative.rejection_reason
    assert creative.runs.get().status == "failed"
