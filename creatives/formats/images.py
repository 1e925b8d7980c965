"""Images with Pillow: limits checked on the header, then one decode at the scale renditions need.

Order matters for safety: the decoder is restricted to the sniffed format, the pixel cap and the
animation budget are checked on the header before any pixel is decoded, and Pillow's own
DecompressionBombWarning is turned into a refusal. A JPEG is decoded once, already reduced by
the DCT (`Image.draft`) to the smallest scale that still covers every requested size; other
formats are decoded at full size once and reduced once. Renditions all start from that one image.
"""

import io
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

from PIL import Image, ImageCms, UnidentifiedImageError

from creatives import conf
from creatives.choices import Fit, MediaFormat
from creatives.formats import Refusal

PIL_FORMATS = {MediaFormat.JPEG: "JPEG", MediaFormat.PNG: "PNG", MediaFormat.GIF: "GIF", MediaFormat.WEBP: "WEBP"}
ORIENTATION_TAG = 0x0112
ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # width and height swap
# Browsers show GIF frames of 0–10 ms for 100 ms; the animation lasts what the viewer sees.
GIF_MIN_FRAME_MS = 20
GIF_DEFAULT_FRAME_MS = 100
SRGB = ImageCms.createProfile("sRGB")


@dataclass
class ImageFacts:
    format: str
    width: int  # as displayed (after EXIF orientation)
    height: int
    mode: str
    frame_count: int = 1
    plays: int | None = 1  # times the animation runs; None: forever
    cycle_ms: int = 0  # one run of the animation
    has_alpha: bool = False
    colour_note: str = ""

    @property
    def animated(self) -> bool:
        return self.frame_count > 1

    @property
    def animation_seconds(self) -> float | None:
        if not self.animated or self.plays is None:
            return None
        return self.cycle_ms * self.plays / 1000


@dataclass
class DecodedImage:
    """The decoded picture (RGB or RGBA, oriented, sRGB), reduced to `scale` of the displayed size."""

    facts: ImageFacts
    frames: list[Image.Image]
    durations: list[int] = field(default_factory=list)

    @property
    def first(self) -> Image.Image:
        return self.frames[0]


@contextmanager
def bomb_warnings_refused():
    # catch_warnings swaps the process-wide filter list; in a threaded worker another thread may
    # briefly see it too. That only makes a bomb warning elsewhere an error, never the reverse
    # for us: the pixel cap below is checked first in any case.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise Refusal("decompression_bomb", f"Refused as a decompression bomb: {exc}") from None


def _open(data: bytes, fmt: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=[PIL_FORMATS[fmt]])
    except UnidentifiedImageError:
        raise Refusal("mismatched_format", f"The bytes start like {MediaFormat(fmt).label} but are not a "
                                           f"valid {MediaFormat(fmt).label} file.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Refusal("damaged", f"The {MediaFormat(fmt).label} file is damaged: {exc}") from None


def _plays(im: Image.Image, fmt: str) -> int | None:
    loop = im.info.get("loop")
    if fmt == MediaFormat.GIF:
        # The NETSCAPE block counts repeats after the first run; without it a GIF plays once.
        return 1 if loop is None else (None if loop == 0 else loop + 1)
    return None if not loop else int(loop)  # WebP and APNG count runs; 0 is forever


def _check_header(im: Image.Image, fmt: str) -> tuple[int, int]:
    width, height = im.size
    if width < 1 or height < 1:
        raise Refusal("damaged", "The image has no pixels.")
    cap = conf.CREATIVES_MAX_PIXELS
    if width * height > cap:
        side = int(math.isqrt(cap))
        raise Refusal(
            "decompression_bomb",
            f"The image is {width}×{height} ({width * height:,} pixels), over the {cap:,}-pixel cap "
            f"(about {side}×{side}); refused before decoding as a possible decompression bomb.",
        )
    try:
        frames = getattr(im, "n_frames", 1)
    except (OSError, EOFError, SyntaxError, ValueError) as exc:
        raise Refusal("truncated", f"The animation is truncated or damaged: {exc}") from None
    if frames > conf.CREATIVES_MAX_FRAMES:
        raise Refusal("animation_limit", f"The animation has {frames} frames; at most {conf.CREATIVES_MAX_FRAMES}.")
    if frames * width * height > conf.CREATIVES_MAX_ANIMATION_PIXELS:
        raise Refusal(
            "decompression_bomb",
            f"The animation decodes to {frames} × {width}×{height} pixels, over the "
            f"{conf.CREATIVES_MAX_ANIMATION_PIXELS:,}-pixel budget; refused before decoding.",
        )
    return width, height


def _check_complete(data: bytes, fmt: str) -> None:
    """Pillow decodes some cut files without complaint when the cut falls after the pixel data."""
    tail = data[-64:]
    if fmt == MediaFormat.PNG and b"IEND" not in tail:
        raise Refusal("truncated", "The PNG file is truncated (no end chunk).")
    if fmt == MediaFormat.GIF and not data.rstrip(b"\x00").endswith(b";"):
        raise Refusal("truncated", "The GIF file is truncated (no trailer).")
    if fmt == MediaFormat.JPEG and data.rfind(b"\xff\xd9") < data.find(b"\xff\xda"):
        raise Refusal("truncated", "The JPEG file is truncated (no end-of-image marker).")
    if fmt == MediaFormat.WEBP and int.from_bytes(data[4:8], "little") + 8 > len(data):
        raise Refusal("truncated", "The WebP file is truncated (shorter than its header says).")


def _to_srgb(im: Image.Image) -> tuple[Image.Image, str]:
    """RGB or RGBA in sRGB, whatever came in (CMYK, palette, grey, 16-bit, wide gamut)."""
    note = ""
    icc = im.info.get("icc_profile")
    if im.mode == "CMYK" or (icc and im.mode in ("RGB", "RGBA")):
        if icc:
            try:
                source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                if im.mode == "CMYK" or "srgb" not in ImageCms.getProfileDescription(source).lower():
                    out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
                    converted = ImageCms.profileToProfile(im, source, SRGB, outputMode=out_mode)
                    return converted, f"Converted from {im.mode} ({ImageCms.getProfileDescription(source).strip()}) to sRGB."
            except (ImageCms.PyCMSError, OSError, ValueError):
                note = "The embedded colour profile is unreadable; colours converted without it."
        if im.mode == "CMYK":
            return im.convert("RGB"), note or "Converted from CMYK to RGB (no colour profile embedded)."
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.point(lambda v: v / 256).convert("L") if im.mode != "I" else im.convert("L")
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
    if im.mode in ("LA", "La", "RGBa"):
        im = im.convert("RGBA")
    if im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGB")
    if im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
        im = im.convert("RGB")  # an opaque alpha channel only stops JPEG output
    return im, note


def working_size(width: int, height: int, targets: list[tuple[int, int, str]]) -> tuple[int, int] | None:
    """The smallest size of the whole picture from which every (w, h, fit) target is made without
    upscaling; None when some target needs the full size or there are no targets."""
    if not targets:
        return None
    factor = 0.0
    for tw, th, fit in targets:
        scale = max(tw / width, th / height) if fit == Fit.COVER else min(tw / width, th / height)
        if scale <= 1:  # a target that needs upscaling fails its spec; it must not force a full decode
            factor = max(factor, scale)
    if factor == 0 or factor >= 1:
        return None
    return max(1, math.ceil(width * factor)), max(1, math.ceil(height * factor))


def decode(data: bytes, fmt: str, targets: list[tuple[int, int, str]] | None = None) -> DecodedImage:
    """Verify and decode: a Refusal for anything damaged, dangerous or over a limit."""
    with bomb_warnings_refused():
        im = _open(data, fmt)
        width, height = _check_header(im, fmt)
        _check_complete(data, fmt)  # cheap: before any pixel is decoded
        orientation = 1
        if fmt in (MediaFormat.JPEG, MediaFormat.WEBP, MediaFormat.PNG):
            try:
                orientation = im.getexif().get(ORIENTATION_TAG, 1) or 1
            except Exception:  # noqa: BLE001 — a broken EXIF block is stripped anyway; keep upright
                orientation = 1
        shown = (height, width) if orientation in ROTATED_ORIENTATIONS else (width, height)
        need = working_size(*shown, targets or [])
        try:
            frame_count = getattr(im, "n_frames", 1)
            if frame_count > 1:
                decoded = _decode_animation(im, fmt, frame_count, need)
            else:
                decoded = _decode_still(im, fmt, orientation, need)
        except Refusal:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            text = str(exc)
            code = "truncated" if "truncated" in text or isinstance(exc, EOFError) else "damaged"
            raise Refusal(code, f"The {MediaFormat(fmt).label} file is {code}: {text}") from None
        except MemoryError:
            raise Refusal("decompression_bomb", "The image needs more memory to decode than allowed.") from None
    decoded.facts.width, decoded.facts.height = shown
    return decoded


REDUCIBLE_MODES = {"RGB", "RGBA", "RGBX", "L", "LA", "CMYK"}


def _reduce(im: Image.Image, need: tuple[int, int] | None) -> Image.Image:
    if need is None or im.mode not in REDUCIBLE_MODES:
        return im
    factor = min(im.width // need[0], im.height // need[1])
    return im.reduce(factor) if factor >= 2 else im


def _decode_still(im: Image.Image, fmt: str, orientation: int, need: tuple[int, int] | None) -> DecodedImage:
    mode = im.mode
    if fmt == MediaFormat.JPEG and need is not None:
        draft = (need[1], need[0]) if orientation in ROTATED_ORIENTATIONS else need
        im.draft("RGB" if mode == "RGB" else None, draft)
    im.load()
    icc = im.info.get("icc_profile")
    picture = _reduce(im, (need[1], need[0]) if need and orientation in ROTATED_ORIENTATIONS else need)
    if icc and picture is not im:
        picture.info["icc_profile"] = icc
    picture, note = _to_srgb(picture)
    if picture.mode != mode and mode not in REDUCIBLE_MODES:  # palettes and 16-bit: reduced once converted
        picture = _reduce(picture, (need[1], need[0]) if need and orientation in ROTATED_ORIENTATIONS else need)
    if orientation != 1:
        picture = _orient(picture, orientation)
    facts = ImageFacts(format=fmt, width=0, height=0, mode=mode, has_alpha=picture.mode == "RGBA", colour_note=note)
    return DecodedImage(facts=facts, frames=[picture])


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return im.transpose(method) if method is not None else im


def _decode_animation(im: Image.Image, fmt: str, frame_count: int, need: tuple[int, int] | None) -> DecodedImage:
    mode = im.mode
    plays = _plays(im, fmt)
    frames, durations = [], []
    for index in range(frame_count):
        im.seek(index)
        im.load()
        duration = int(im.info.get("duration") or 0)
        if fmt == MediaFormat.GIF and duration < GIF_MIN_FRAME_MS:
            duration = GIF_DEFAULT_FRAME_MS
        durations.append(duration)
        frame, _ = _to_srgb(_reduce(im.convert("RGBA"), need))
        frames.append(frame.convert("RGBA"))
    facts = ImageFacts(
        format=fmt, width=0, height=0, mode=mode, frame_count=frame_count, plays=plays, cycle_ms=sum(durations),
        has_alpha=any(f.getchannel("A").getextrema()[0] < 255 for f in frames),
    )
    _check_animation(facts)
    return DecodedImage(facts=facts, frames=frames, durations=durations)


def _check_animation(facts: ImageFacts) -> None:
    max_loops, max_seconds = conf.CREATIVES_MAX_ANIMATION_LOOPS, conf.CREATIVES_MAX_ANIMATION_SECONDS
    if facts.plays is None:
        raise Refusal("animation_limit", f"The animation loops forever; at most {max_loops} loops are allowed.")
    if facts.plays > max_loops:
        raise Refusal("animation_limit", f"The animation plays {facts.plays} times; at most {max_loops} loops are allowed.")
    if facts.animation_seconds > max_seconds:
        raise Refusal(
            "animation_limit",
            f"The animation runs {facts.animation_seconds:g} s ({facts.plays} × {facts.cycle_ms / 1000:g} s); "
            f"at most {max_seconds} s.",
        )
