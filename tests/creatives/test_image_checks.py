"""Images through the pipeline: every accepted format is processed; bombs, lies, truncation,
oversize uploads and over-long animations are refused with a reason, before anything dangerous
is decoded."""

import pytest
from PIL import Image, ImageFile

from creatives.choices import CreativeStatus
from creatives.models import Rendition
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec_300x250(db):
    return AdSpecFactory(width=300, height=250, max_bytes=150_000, animation_allowed=True, max_loops=3,
                         max_animation_seconds=30)


@pytest.mark.parametrize("fmt, data, name", [
    ("jpeg", lambda: media.jpeg(600, 500), "photo.jpg"),
    ("png", lambda: media.png(600, 500), "art.png"),
    ("png", lambda: media.png(600, 500, alpha=True), "cutout.png"),
    ("png", lambda: media.png(600, 500, palette=True), "flat.png"),
    ("gif", lambda: media.gif(600, 500, animated=False), "still.gif"),
    ("gif", lambda: media.gif(600, 500), "moving.gif"),
    ("webp", lambda: media.webp(600, 500), "modern.webp"),
])
def test_every_accepted_image_format_becomes_a_ready_creative(upload, spec_300x250, fmt, data, name):
    creative = upload(data(), name, specs=[spec_300x250])
    assert (creative.status, creative.detected_format, creative.kind) == (CreativeStatus.READY, fmt, "display")
    assert (creative.width, creative.height) == (600, 500)
    rendition = Rendition.objects.get(creative=creative)
    assert (rendition.width, rendition.height) == (300, 250)
    with Image.open(rendition.file.open("rb")) as im:
        assert im.size == (300, 250)
    assert creative.thumbnail.name  # re-encoded preview for the console


def test_a_png_bomb_is_refused(upload, spec_300x250):
    creative = upload(media.png_bomb(20000, 20000), "tiny.png", specs=[spec_300x250])
    assert creative.status == CreativeStatus.REJECTED
    assert creative.rejection_code == "decompression_bomb"
    assert "decompression bomb" in creative.rejection_reason
    assert not creative.renditions.exists() and not creative.verdicts.exists()


def test_the_pixel_cap_is_checked_before_any_pixel_is_decoded(upload, spec_300x250, monkeypatch):
    def no_decoding(self):
        raise AssertionError("decoded an image over the pixel cap")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    # 5000×5000 is under Pillow's own warning threshold: only our cap (~4096²) stops it.
    creative = upload(media.png_bomb(5000, 5000), "big.png", specs=[spec_300x250])
    assert creative.rejection_code == "decompression_bomb"
    assert "5000×5000" in creative.rejection_reason and "before decoding" in creative.rejection_reason


def test_pillows_bomb_warning_is_a_refusal_not_a_warning(upload, spec_300x250, settings, monkeypatch):
    settings.CREATIVES_MAX_PIXELS = 10**9  # our cap out of the way: Pillow's warning must still refuse
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200 * 200)
    creative = upload(media.jpeg(300, 300), "photo.jpg", specs=[spec_300x250])
    assert creative.status == CreativeStatus.REJECTED
    assert creative.rejection_code == "decompression_bomb"


def test_an_animation_over_the_frame_budget_is_refused_before_decoding(upload, spec_300x250, settings):
    settings.CREATIVES_MAX_ANIMATION_PIXELS = 300 * 250 * 3
    creative = upload(media.gif(300, 250, frames=4), "many.gif", specs=[spec_300x250])
    assert creative.rejection_code == "decompression_bomb" and "4 × 300×250" in creative.rejection_reason


def test_a_file_whose_extension_lies_is_refused(upload, spec_300x250):
    creative = upload(media.png(400, 300), "banner.jpg", specs=[spec_300x250])
    assert creative.status == CreativeStatus.REJECTED
    assert creative.rejection_code == "mismatched_format"
    assert "named .jpg" in creative.rejection_reason and "PNG" in creative.rejection_reason


def test_bytes_that_start_like_a_format_but_are_not_it_are_refused(upload, spec_300x250):
    creative = upload(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "fake.png", specs=[spec_300x250])
    assert creative.status == CreativeStatus.REJECTED
    assert creative.rejection_code in ("mismatched_format", "damaged")


def test_formats_we_do_not_accept_are_never_opened(upload, spec_300x250, monkeypatch):
    opened = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or pytest.fail("opened a refused format"))
    tiff = media._save(media.picture(50, 50), "TIFF")
    creative = upload(tiff, "scan.bin", specs=[spec_300x250])
    assert creative.rejection_code == "unsupported_format" and "TIFF" in creative.rejection_reason
    assert opened == []


@pytest.mark.parametrize("data, name", [
    (lambda: media.jpeg(600, 500, busy=True), "cut.jpg"),
    (lambda: media.png(600, 500, busy=True), "cut.png"),
    (lambda: media.gif(300, 250, frames=4), "cut.gif"),
    (lambda: media.webp(600, 500), "cut.webp"),
])
def test_truncated_images_are_refused(upload, spec_300x250, data, name):
    creative = upload(media.cut(data(), 0.6), name, specs=[spec_300x250])
    assert creative.status == CreativeStatus.REJECTED
    assert creative.rejection_code in ("truncated", "damaged"), creative.rejection_reason


def test_a_png_cut_just_before_its_end_chunk_is_refused(upload, spec_300x250):
    data = media.png(200, 200)
    creative = upload(data[:-12], "cut.png", specs=[spec_300x250])
    assert creative.rejection_code == "truncated"


def test_an_image_over_the_upload_limit_is_refused(upload, spec_300x250, settings):
    settings.CREATIVES_MAX_IMAGE_BYTES = 10_000
    creative = upload(media.jpeg(600, 500, busy=True), "heavy.jpg", specs=[spec_300x250])
    assert creative.rejection_code == "too_large" and "limited to" in creative.rejection_reason


def test_an_animated_gif_that_loops_forever_is_refused(upload, spec_300x250):
    creative = upload(media.gif(loop=0), "forever.gif", specs=[spec_300x250])
    assert creative.rejection_code == "animation_limit"
    assert "loops forever" in creative.rejection_reason


def test_an_animated_gif_over_the_loop_limit_is_refused(upload, spec_300x250):
    creative = upload(media.gif(loop=4), "five-times.gif", specs=[spec_300x250])  # 1 run + 4 repeats
    assert creative.rejection_code == "animation_limit"
    assert "plays 5 times" in creative.rejection_reason and "at most 3" in creative.rejection_reason


def test_an_animation_over_the_duration_limit_is_refused(upload, spec_300x250):
    creative = upload(media.gif(frames=4, loop=2, duration=3000), "slow.gif", specs=[spec_300x250])  # 3 × 12 s
    assert creative.rejection_code == "animation_limit" and "36 s" in creative.rejection_reason


def test_an_animation_within_limits_records_frames_loops_and_duration(upload, spec_300x250):
    creative = upload(media.gif(frames=4, loop=2, duration=250), "ok.gif", specs=[spec_300x250])
    assert creative.status == CreativeStatus.READY
    assert (creative.frame_count, creative.loops, float(creative.duration)) == (4, 3, 3.0)


def test_a_cmyk_jpeg_is_converted_to_rgb(upload, spec_300x250):
    creative = upload(media.cmyk_jpeg(600, 500), "print.jpg", specs=[spec_300x250])
    assert creative.status == CreativeStatus.READY
    assert creative.media_info["mode"] == "CMYK" and "CMYK" in creative.media_info["colour"]
    with Image.open(creative.renditions.get().file.open("rb")) as im:
        assert im.mode == "RGB"
        red = im.getpixel((150, 125))  # the picture's red disc, still red after conversion
        assert red[0] > 150 and red[1] < 100 and red[2] < 100
