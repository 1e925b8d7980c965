"""The seeded specs match the reference (amazon-ads.md §5–6), and each check gives its reason."""

from decimal import Decimal

import pytest

from creatives.choices import CreativeKind, Delivery
from creatives.models import AdSpec, Creative
from creatives.specs import evaluate

pytestmark = pytest.mark.django_db


def spec(code: str) -> AdSpec:
    return AdSpec.objects.get(code=code)


@pytest.mark.parametrize("code, size, max_bytes", [
    ("iab-300x250", (300, 250), 150_000), ("iab-728x90", (728, 90), 150_000), ("iab-160x600", (160, 600), 150_000),
    ("iab-970x250", (970, 250), 250_000), ("iab-970x90", (970, 90), 200_000), ("iab-300x1050", (300, 1050), 250_000),
    ("iab-300x50", (300, 50), 50_000), ("iab-320x50", (320, 50), 50_000), ("iab-640x1136", (640, 1136), 300_000),
    ("iab-750x1334", (750, 1334), 300_000), ("iab-1080x1920", (1080, 1920), 300_000),
])
def test_the_iab_fixed_sizes_are_seeded_with_their_initial_load(code, size, max_bytes):
    seeded = spec(code)
    assert (seeded.width, seeded.height, seeded.max_bytes, seeded.kind) == (*size, max_bytes, "display")


def test_the_amazon_display_sizes_are_seeded():
    rec = AdSpec.objects.filter(code__startswith="amazon-rec-")
    assert {(s.width, s.height) for s in rec} == {(300, 250), (160, 600), (300, 600), (970, 250), (980, 55), (650, 130),
                                                  (245, 250), (350, 420), (728, 90), (320, 50), (414, 125)}
    assert all(s.max_bytes == 200_000 and not s.animation_allowed for s in rec)
    on_amazon = AdSpec.objects.filter(code__startswith="amazon-display-on-amazon-")
    assert on_amazon.count() == 7
    assert not spec("amazon-display-on-amazon-970x250").animation_allowed  # billboards on Amazon: never animated
    animated = spec("amazon-display-on-amazon-300x250")
    assert (animated.max_loops, animated.max_animation_seconds) == (3, Decimal("15.000"))


@pytest.mark.parametrize("code, asset, max_bytes", [
    ("amazon-mobile-320x50", (640, 100), 50_000), ("amazon-mobile-300x250", (600, 500), 40_000),
    ("amazon-mobile-728x90", (1456, 180), 200_000), ("amazon-mobile-414x125", (828, 250), 200_000),
])
def test_the_dsp_mobile_banners_are_seeded_at_2x(code, asset, max_bytes):
    seeded = spec(code)
    assert ((seeded.width, seeded.height), seeded.max_bytes, seeded.allowed_formats) == (asset, max_bytes, ["jpeg", "png"])


def test_mobile_rich_media_is_seeded_as_third_party_tags():
    tags = AdSpec.objects.filter(code__startswith="amazon-mobile-rich-media-")
    assert {(s.width, s.height, s.max_bytes) for s in tags} == {
        (320, 50, 100_000), (300, 250, 200_000), (728, 90, 200_000), (600, 90, 200_000), (1024, 50, 200_000)}
    assert {s.delivery for s in tags} == {Delivery.TAG}


def test_the_video_specs_are_seeded():
    olv = spec("amazon-olv")
    assert (olv.min_duration, olv.max_duration, olv.min_width, olv.min_height, olv.min_video_kbps) == (
        Decimal("6.000"), Decimal("120.000"), 1920, 1080, 4000)
    assert (olv.aspect_width, olv.aspect_height, olv.max_bytes, olv.allowed_formats) == (16, 9, 500_000_000, ["mp4"])
    third_party = spec("amazon-olv-3p")
    assert (third_party.min_width, third_party.min_height, third_party.min_video_kbps, third_party.min_audio_kbps) == (
        640, 360, 2000, 128)
    assert spec("amazon-streaming-tv").allowed_durations == [15, 30]
    assert spec("amazon-streaming-tv-de-uk").allowed_durations == [15, 20, 30]
    assert spec("amazon-prime-video-us-ca").allowed_durations == [15, 30, 45, 60]
    assert spec("amazon-prime-video-eu-mx").allowed_durations == [15, 20, 30, 40, 60]
    assert spec("amazon-prime-video-us-ca").min_video_kbps == 15000


def test_the_audio_specs_are_seeded():
    audio = spec("amazon-audio")
    assert (audio.min_duration, audio.max_duration, audio.max_bytes, audio.min_audio_kbps) == (
        Decimal("10.000"), Decimal("30.000"), 1_000_000, 192)
    assert (audio.target_rms_dbfs, audio.max_peak_dbfs) == (Decimal("-14.00"), Decimal("-0.20"))
    assert sorted(audio.allowed_formats) == ["mp3", "ogg", "wav"]
    companion = spec("amazon-audio-companion-1024x1024")
    assert (companion.width, companion.height, companion.max_bytes, companion.allowed_formats) == (1024, 1024, 750_000, ["jpeg"])


def test_the_kargo_formats_are_seeded():
    kargo = {s.code: s for s in AdSpec.objects.filter(group="kargo")}
    assert {c for c, s in kargo.items() if (s.width, s.height) == (320, 50)} == {
        "kargo-anchor", "kargo-breakout", "kargo-breakaway", "kargo-sidekick", "kargo-hover"}
    assert {c for c, s in kargo.items() if (s.width, s.height) == (300, 250)} == {
        "kargo-in-article", "kargo-key-art", "kargo-venti", "kargo-non-vast-viewstream"}
    assert {(s.kind, s.delivery) for c, s in kargo.items() if s.width is None} == {(CreativeKind.VIDEO, Delivery.VAST)}
    assert len(kargo) == 11


def video(**info) -> Creative:
    facts = {"video_codec": "h264", "fps": 23.976, "constant_fps": True, "video_kbps": 8000, "display_aspect": 1.7778,
             "audio_codec": "aac", "audio_kbps": 192, "audio_channels": 2, "audio_sample_rate": 48000}
    facts.update(info)
    return Creative(kind=CreativeKind.VIDEO, delivery=Delivery.FILE, detected_format="mp4", width=1920, height=1080,
                    duration=Decimal("30"), size_bytes=30_000_000, media_info=facts)


def test_a_well_made_30_second_spot_passes_olv_and_streaming_tv():
    assert evaluate(video(), spec("amazon-olv")).reasons == []
    assert evaluate(video(), spec("amazon-streaming-tv")).reasons == []
    assert evaluate(video(), spec("amazon-prime-video-us-ca")).reasons == [
        "Video bitrate is 8,000 kbps; this spec needs at least 15,000 kbps."]


@pytest.mark.parametrize("info, reason", [
    ({"display_aspect": 1.3333}, "this spec needs 16:9"),
    ({"fps": 30.0}, "Frame rate is 30 fps"),
    ({"constant_fps": False}, "frame rate varies"),
    ({"video_codec": "vp9"}, "Video codec VP9 is not accepted"),
    ({"audio_channels": 1}, "Audio has 1 channel(s)"),
    ({"audio_sample_rate": 22050}, "Audio sample rate is 22050 Hz"),
    ({"audio_kbps": 96}, "Audio bitrate is 96 kbps"),
    ({"audio_codec": "mp3"}, "Audio codec mp3 is not accepted"),
])
def test_each_video_check_gives_its_reason(info, reason):
    reasons = evaluate(video(**info), spec("amazon-olv")).reasons
    assert len(reasons) == 1 and reason in reasons[0]


def test_exact_durations_allow_encoder_padding_only():
    almost = video()
    almost.duration = Decimal("15.02")
    assert evaluate(almost, spec("amazon-streaming-tv")).passed
    almost.duration = Decimal("16.5")
    assert "exactly 15, 30 s" in evaluate(almost, spec("amazon-streaming-tv")).reasons[0]


def test_pcm_audio_counts_as_pcm():
    assert evaluate(video(audio_codec="pcm_s24le"), spec("amazon-olv")).passed


def test_a_file_creative_does_not_fit_a_vast_format():
    assert evaluate(video(), spec("kargo-video-anchor")).reasons == [
        "This spec takes a VAST URL; the creative is a hosted file."]
