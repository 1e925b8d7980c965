"""Renditions: the spec's size (cover-crop or fit), nothing of the original's metadata, and the
byte limit met by searching quality and format rather than failing."""

import io

import pytest
from PIL import Image

from creatives.choices import CreativeStatus, Fit
from creatives.formats.images import decode
from creatives.formats.render import Target, render
from creatives.models import Rendition, SpecVerdict
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory, seeded

pytestmark = pytest.mark.django_db


def opened(rendition: Rendition) -> Image.Image:
    return Image.open(io.BytesIO(rendition.file.open("rb").read()))


def test_renditions_meet_their_byte_limits_by_lowering_jpeg_quality(upload):
    spec = AdSpecFactory(width=600, height=500, max_bytes=40_000, allowed_formats=["jpeg"])
    creative = upload(media.jpeg(1200, 1000, busy=True, quality=95), "noisy.jpg", specs=[spec])
    rendition = creative.renditions.get()
    assert rendition.size_bytes <= 40_000 and rendition.file.size == rendition.size_bytes
    assert rendition.format == "jpeg" and rendition.quality < 88  # searched below the top quality


def test_seeded_mobile_banner_limits_are_met(upload):
    # 640×100 at 50 KB and 600×500 at 40 KB: the DSP mobile banners, from a noisy photo.
    specs = seeded("amazon-mobile-320x50", "amazon-mobile-300x250", "iab-320x50")
    creative = upload(media.jpeg(1300, 1100, busy=True, quality=95), "noisy.jpg", specs=specs)
    assert creative.status == CreativeStatus.READY
    for rendition in creative.renditions.select_related("spec"):
        assert rendition.size_bytes <= rendition.spec.max_bytes, rendition.spec.code


def test_a_flat_graphic_becomes_a_lossless_png8_when_png_is_allowed(upload):
    spec = AdSpecFactory(width=300, height=250, max_bytes=150_000, allowed_formats=["jpeg", "png"])
    creative = upload(media.png(600, 500, palette=True), "flat.png", specs=[spec])
    rendition = creative.renditions.get()
    assert rendition.format == "png" and rendition.colours <= 256  # resampling adds edge shades
    assert opened(rendition).mode == "P"


def test_png8_quantisation_keeps_transparency_under_a_tight_limit():
    spec = Target(width=300, height=250, max_bytes=30_000, formats=("png",))
    out = render(decode(media.png(600, 500, alpha=True, busy=True), "png", [(300, 250, Fit.COVER)]), spec)
    assert out.format == "png" and len(out.data) <= 30_000 and out.colours <= 256
    with Image.open(io.BytesIO(out.data)) as im:
        assert im.mode == "P" and "transparency" in im.info


def test_a_limit_no_encoding_can_meet_fails_the_spec_with_the_smallest_size_reached(upload):
    spec = AdSpecFactory(width=600, height=500, max_bytes=2_000, allowed_formats=["jpeg"])
    creative = upload(media.jpeg(600, 500, busy=True), "noisy.jpg", specs=[spec])
    verdict = SpecVerdict.objects.get(creative=creative, spec=spec)
    assert not verdict.passed and "Cannot meet the 2 KB limit" in verdict.reasons[0]
    assert creative.status == CreativeStatus.REJECTED and not creative.renditions.exists()


def test_exif_gps_and_colour_profile_are_stripped(upload):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    spec = AdSpecFactory(width=300, height=250, max_bytes=150_000)
    creative = upload(media.jpeg(600, 500, gps=True, icc=srgb), "phone.jpg", specs=[spec])
    raw = creative.original.open("rb").read()
    assert b"TestCam" in raw  # the original had it
    rendition = creative.renditions.get()
    data = rendition.file.open("rb").read()
    with Image.open(io.BytesIO(data)) as im:
        assert not im.getexif() and "exif" not in im.info and "icc_profile" not in im.info
    assert b"TestCam" not in data and b"Secret Editor" not in data and b"Exif" not in data
    thumb = creative.thumbnail.open("rb").read()
    assert b"TestCam" not in thumb and b"Exif" not in thumb


def test_exif_orientation_is_applied_before_the_metadata_goes(upload):
    # Stored 600×400 landscape with "rotate 90° on display": the creative is a 400×600 portrait.
    spec = AdSpecFactory(width=160, height=240, max_bytes=150_000)
    creative = upload(media.jpeg(600, 400, orientation=6), "rotated.jpg", specs=[spec])
    assert (creative.width, creative.height) == (400, 600)
    assert creative.renditions.get().spec == spec


def test_cover_crops_and_contain_letterboxes():
    decoded = decode(media.png(600, 300), "png", [(300, 300, Fit.COVER), (300, 300, Fit.CONTAIN)])
    cover = render(decoded, Target(300, 300, fit=Fit.COVER, formats=("png",)))
    contain = render(decoded, Target(300, 300, fit=Fit.CONTAIN, formats=("png",)))
    with Image.open(io.BytesIO(cover.data)) as a, Image.open(io.BytesIO(contain.data)) as b:
        a, b = a.convert("RGB"), b.convert("RGB")
        assert a.size == b.size == (300, 300)
        # Contain pads above and below a 300×150 picture with one even colour; cover fills the square.
        assert b.getpixel((150, 5)) == b.getpixel((150, 294)) and b.getpixel((10, 5)) == b.getpixel((290, 5))
        assert a.getpixel((150, 5)) != b.getpixel((150, 5))


def test_an_image_too_small_for_a_size_fails_instead_of_being_upscaled(upload):
    spec = AdSpecFactory(width=970, height=250, max_bytes=250_000)
    creative = upload(media.jpeg(600, 500), "small.jpg", specs=[spec])
    verdict = creative.verdicts.get()
    assert not verdict.passed and "would need upscaling" in verdict.reasons[0]


def test_gif_animation_is_kept_where_the_spec_allows_it_and_flattened_where_not(upload):
    animated = AdSpecFactory(width=300, height=250, max_bytes=150_000, animation_allowed=True, max_loops=3,
                             max_animation_seconds=15)
    still = AdSpecFactory(width=300, height=250, max_bytes=150_000, animation_allowed=False)
    creative = upload(media.gif(600, 500, frames=4, loop=2, duration=250), "moving.gif", specs=[animated, still])
    moving = creative.renditions.get(spec=animated)
    flat = creative.renditions.get(spec=still)
    with opened(moving) as im:
        assert moving.format == "gif" and moving.animated and im.n_frames == 4 and im.info["loop"] == 2
    assert not flat.animated and opened(flat).n_frames == 1
    assert any("Animation removed" in n for n in creative.verdicts.get(spec=still).notes)


def test_an_animation_longer_than_a_specs_limit_plays_fewer_times_there():
    spec = Target(300, 250, formats=("gif",), animation=True, max_plays=3, max_seconds=2.0)
    out = render(decode(media.gif(300, 250, frames=4, loop=2, duration=250), "gif", [(300, 250, Fit.COVER)]), spec)
    with Image.open(io.BytesIO(out.data)) as im:
        assert out.animated and im.info.get("loop") == 1  # 2 runs of 1 s
    assert any("Loops reduced to 2" in n for n in out.notes)


def test_identical_sizes_under_several_specs_share_one_file(upload):
    specs = seeded("iab-300x250", "amazon-rec-300x250")
    creative = upload(media.jpeg(600, 500), "photo.jpg", specs=specs)
    files = {r.file.name for r in creative.renditions.all()}
    assert creative.renditions.count() == 2 and len(files) == 1
