"""Renditions: one decoded picture → one spec's size, encoded under the spec's byte limit.

Nothing from the original file survives but pixels: every rendition is encoded from a new
image whose `info` is emptied, so EXIF (GPS included), XMP, ICC profiles and comments are gone.
A byte limit is met by searching rather than failing: JPEG quality by bisection, then PNG-8 with
fewer colours (or the reverse for flat graphics and transparency), then, for animations, fewer
colours and finally a still frame.
"""

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from PIL import Image, ImageStat

from creatives import conf
from creatives.choices import Fit, MediaFormat
from creatives.formats import kib
from creatives.formats.images import DecodedImage

LANCZOS = Image.Resampling.LANCZOS
# Box-reduce to within 3× of the target, then Lanczos: Pillow's measure for "no visible
# difference", and several times faster from a large picture.
REDUCING_GAP = 3.0
PNG8_COLOURS = (256, 128, 64, 32, 16)
GIF_COLOURS = (256, 128, 64, 32)


@dataclass(frozen=True)
class Target:
    width: int
    height: int
    fit: str = Fit.COVER
    max_bytes: int | None = None
    formats: tuple[str, ...] = (MediaFormat.JPEG, MediaFormat.PNG, MediaFormat.GIF)
    animation: bool = False
    max_plays: int | None = None
    max_seconds: float | None = None


@dataclass
class Rendered:
    data: bytes
    format: str
    width: int
    height: int
    quality: int | None = None
    colours: int | None = None
    animated: bool = False
    notes: list[str] = field(default_factory=list)


class CannotMeet(Exception):
    """No format and setting the spec allows fits its byte limit (or its animation limits)."""


def resize(im: Image.Image, width: int, height: int, fit: str) -> Image.Image:
    """Cover: scale to fill and crop the centre. Contain: scale to fit and pad."""
    w, h = im.size
    if fit == Fit.COVER:
        scale = max(width / w, height / h)
        crop_w, crop_h = min(w, width / scale), min(h, height / scale)  # float error must not poke outside
        left, top = max(0.0, (w - crop_w) / 2), max(0.0, (h - crop_h) / 2)
        out = im.resize((width, height), LANCZOS, box=(left, top, left + crop_w, top + crop_h), reducing_gap=REDUCING_GAP)
    else:
        scale = min(width / w, height / h)
        inner_size = (max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale))))
        inner = im.resize(inner_size, LANCZOS, reducing_gap=REDUCING_GAP)
        out = Image.new(im.mode, (width, height), _pad_colour(inner))
        out.paste(inner, ((width - inner_size[0]) // 2, (height - inner_size[1]) // 2))
    out.info = {}  # metadata never travels into a rendition
    return out


def _pad_colour(im: Image.Image) -> tuple:
    if im.mode == "RGBA":
        return (0, 0, 0, 0)
    w, h = im.size
    strips = [im.crop((0, 0, w, 1)), im.crop((0, h - 1, w, h)), im.crop((0, 0, 1, h)), im.crop((w - 1, 0, w, h))]
    means = [ImageStat.Stat(s).mean for s in strips]
    return tuple(round(sum(m[c] for m in means) / len(means)) for c in range(len(means[0])))


def _save(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def encode_jpeg(im: Image.Image, quality: int) -> bytes:
    return _save(im, "JPEG", quality=quality, optimize=True)


def encode_png8(im: Image.Image, colours: int, exact: bool = False) -> bytes:
    # Fast octree: 30–100× faster than median cut on photos, and the exact path covers flat art.
    method = Image.Quantize.FASTOCTREE if im.mode == "RGBA" or not exact else Image.Quantize.MEDIANCUT
    dither = Image.Dither.NONE if exact else Image.Dither.FLOYDSTEINBERG
    return _save(im.quantize(colours, method=method, dither=dither), "PNG", optimize=True)


def _flatten(im: Image.Image) -> Image.Image:
    if im.mode != "RGBA":
        return im
    flat = Image.new("RGB", im.size, (255, 255, 255))
    flat.paste(im, mask=im.getchannel("A"))
    return flat


Candidate = tuple[str, int | None, Callable[[], bytes]]


def _jpeg_search(im: Image.Image, limit: int | None) -> Iterator[Candidate]:
    """The best quality under `limit`: the top quality first, then bisection."""
    high, low = conf.CREATIVES_JPEG_QUALITY_MAX, conf.CREATIVES_JPEG_QUALITY_MIN
    top = encode_jpeg(im, high)
    if limit is None or len(top) <= limit:
        yield MediaFormat.JPEG, high, lambda: top
        return
    best, best_q, lo, hi = None, None, low, high - 1
    smallest = None
    while lo <= hi:
        q = (lo + hi) // 2
        data = encode_jpeg(im, q)
        if len(data) <= limit:
            best, best_q, lo = data, q, q + 1
        else:
            smallest = data if smallest is None or len(data) < len(smallest) else smallest
            hi = q - 1
    if best is not None:
        yield MediaFormat.JPEG, best_q, lambda: best
    else:
        yield MediaFormat.JPEG, low, lambda: smallest


def _png8_ladder(im: Image.Image) -> Iterator[Candidate]:
    for colours in PNG8_COLOURS:
        yield MediaFormat.PNG, colours, lambda c=colours: encode_png8(im, c)


def _static_candidates(im: Image.Image, target: Target, notes: list[str]) -> Iterator[Candidate]:
    allowed, limit = set(target.formats), target.max_bytes
    alpha = im.mode == "RGBA"
    if MediaFormat.PNG in allowed:
        palette = im.getcolors(256)
        if palette is not None:  # a flat graphic: PNG-8 is lossless and small
            yield MediaFormat.PNG, len(palette), lambda: encode_png8(im, max(2, len(palette)), exact=True)
        if alpha:
            if limit is None:
                yield MediaFormat.PNG, None, lambda: _save(im, "PNG", optimize=True)
            yield from _png8_ladder(im)
    if MediaFormat.JPEG in allowed:
        if alpha:
            notes.append("Transparency flattened onto white (JPEG has no alpha).")
        yield from _jpeg_search(_flatten(im), limit)
    if MediaFormat.PNG in allowed and not alpha:
        yield from _png8_ladder(im)
    if MediaFormat.GIF in allowed and not allowed & {MediaFormat.JPEG, MediaFormat.PNG}:
        for colours in GIF_COLOURS:
            yield MediaFormat.GIF, colours, lambda c=colours: _save(_gif_frame(im, c), "GIF", optimize=True)


def _pick(candidates: Iterator[Candidate], target: Target, width: int, height: int, notes: list[str]) -> Rendered:
    smallest: tuple[int, str, int | None] | None = None
    for fmt, setting, make in candidates:
        data = make()
        if target.max_bytes is None or len(data) <= target.max_bytes:
            quality = setting if fmt == MediaFormat.JPEG else None
            colours = setting if fmt != MediaFormat.JPEG else None
            return Rendered(data, fmt, width, height, quality=quality, colours=colours, notes=notes)
        if smallest is None or len(data) < smallest[0]:
            smallest = (len(data), fmt, setting)
    if smallest is None:
        raise CannotMeet("None of the spec's formats can be written for this image.")
    size, fmt, setting = smallest
    detail = f"quality {setting}" if fmt == MediaFormat.JPEG else f"{setting} colours"
    raise CannotMeet(
        f"Cannot meet the {kib(target.max_bytes)} limit at {width}×{height}: the smallest encoding "
        f"({MediaFormat(fmt).label}, {detail}) is {kib(size)}."
    )


def render_still(im: Image.Image, target: Target, notes: list[str] | None = None) -> Rendered:
    picture = resize(im, target.width, target.height, target.fit)
    notes = list(notes or [])
    return _pick(_static_candidates(picture, target, notes), target, target.width, target.height, notes)


def _gif_frame(im: Image.Image, colours: int) -> Image.Image:
    if im.mode == "RGBA" and im.getchannel("A").getextrema()[0] < 255:
        return im  # Pillow builds the palette and the transparent index itself
    return im.convert("RGB").quantize(colours, method=Image.Quantize.FASTOCTREE)


def _animation_plays(decoded: DecodedImage, target: Target, notes: list[str]) -> int:
    plays, cycle = decoded.facts.plays or 1, decoded.facts.cycle_ms / 1000
    if target.max_plays and plays > target.max_plays:
        plays = target.max_plays
        notes.append(f"Loops reduced to {plays} (the spec's limit).")
    if target.max_seconds and cycle * plays > target.max_seconds:
        fitting = int(target.max_seconds // cycle) if cycle else plays
        if fitting < 1:
            raise CannotMeet(f"One run of the animation lasts {cycle:g} s; this spec allows {target.max_seconds:g} s.")
        notes.append(f"Loops reduced to {fitting} to stay within {target.max_seconds:g} s.")
        plays = fitting
    return plays


def render(decoded: DecodedImage, target: Target) -> Rendered:
    """The rendition for `target`; CannotMeet when no allowed encoding fits."""
    notes: list[str] = []
    if not decoded.facts.animated:
        return render_still(decoded.first, target, notes)
    if not (target.animation and MediaFormat.GIF in target.formats):
        notes.append("Animation removed: this spec takes still images only (first frame used).")
        return render_still(decoded.first, target, notes)
    plays = _animation_plays(decoded, target, notes)
    frames = [resize(f, target.width, target.height, target.fit) for f in decoded.frames]
    smallest = None
    for colours in GIF_COLOURS:
        palette_frames = [_gif_frame(f, colours) for f in frames]
        options = {"save_all": True, "append_images": palette_frames[1:], "duration": decoded.durations,
                   "optimize": True, "disposal": 2}
        if plays > 1:
            options["loop"] = plays - 1  # GIF counts repeats after the first run
        data = _save(palette_frames[0], "GIF", **options)
        if target.max_bytes is None or len(data) <= target.max_bytes:
            return Rendered(data, MediaFormat.GIF, target.width, target.height, colours=colours, animated=True, notes=notes)
        smallest = len(data) if smallest is None else min(smallest, len(data))
    notes.append(f"Animation removed: the smallest animated GIF was {kib(smallest)}, over {kib(target.max_bytes)}.")
    return render_still(decoded.first, target, notes)


def thumbnail(decoded: DecodedImage) -> tuple[bytes, str]:
    """A small preview for the console: JPEG, or PNG when the picture has transparency."""
    side = conf.CREATIVES_THUMBNAIL_SIZE
    source = decoded.first
    scale = min(1.0, side / max(source.size))
    picture = source.resize((max(1, round(source.width * scale)), max(1, round(source.height * scale))), LANCZOS,
                            reducing_gap=REDUCING_GAP)
    picture.info = {}
    if picture.mode == "RGBA":
        return _save(picture, "PNG", optimize=True), MediaFormat.PNG
    return encode_jpeg(picture, 80), MediaFormat.JPEG
