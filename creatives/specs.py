"""Checking one creative against one spec: every reason it fails, in words an account manager can
act on, and notes on what the rendition will change. Byte limits of display renditions are
decided when the rendition is encoded (creatives.formats.render), not here.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from creatives import conf
from creatives.choices import CreativeKind, Delivery, Fit, MediaFormat, RENDITION_FORMATS
from creatives.formats import kib
from creatives.formats.render import Target
from creatives.models import AdSpec, Creative

ASPECT_TOLERANCE = 0.01  # 1 %: 1920×1080 and 1280×720 are both 16:9; 4:3 is not
FPS_TOLERANCE = 0.01  # frames per second: 23.976 is 23.98, but 30 is not 29.97
DELIVERY_WORDS = {Delivery.FILE: "a hosted file", Delivery.TAG: "a third-party tag", Delivery.VAST: "a VAST URL"}
CROP_NOTE_SHARE = 0.5


@dataclass
class Verdict:
    spec: AdSpec
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def _seconds(value) -> float | None:
    return None if value is None else float(value)


def _fmt_list(values) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in values)


def evaluate(creative: Creative, spec: AdSpec) -> Verdict:
    verdict = Verdict(spec)
    if creative.delivery != spec.delivery:
        verdict.reasons.append(
            f"This spec takes {DELIVERY_WORDS[spec.delivery]}; the creative is {DELIVERY_WORDS[creative.delivery]}."
        )
        return verdict
    if creative.kind != spec.kind:
        verdict.reasons.append(f"This spec is for {spec.kind} creatives; this one is {creative.kind}.")
        return verdict
    if creative.delivery == Delivery.FILE:
        _check_file(creative, spec, verdict)
    else:
        _check_tag(creative, spec, verdict)
    return verdict


def _check_tag(creative: Creative, spec: AdSpec, verdict: Verdict) -> None:
    if spec.width and (creative.width, creative.height) != (spec.width, spec.height):
        size = f"{creative.width}×{creative.height}" if creative.width else "no size"
        verdict.reasons.append(f"The tag is declared {size}; this format needs {spec.width}×{spec.height}.")
    if creative.delivery == Delivery.VAST and not creative.vast_url.lower().startswith("https://"):
        verdict.reasons.append("The VAST URL must use https.")
    if spec.max_bytes:
        verdict.notes.append(f"Initial load must stay under {kib(spec.max_bytes)}; the tag's weight is not measured here.")


def _check_file(creative: Creative, spec: AdSpec, verdict: Verdict) -> None:
    if spec.max_bytes and creative.kind != CreativeKind.DISPLAY and creative.size_bytes > spec.max_bytes:
        verdict.reasons.append(f"The file is {kib(creative.size_bytes)}; this spec allows {kib(spec.max_bytes)}.")
    if (spec.min_width and (creative.width or 0) < spec.min_width) or (
        spec.min_height and (creative.height or 0) < spec.min_height
    ):
        verdict.reasons.append(
            f"The {'frame' if creative.kind == CreativeKind.VIDEO else 'image'} is {creative.width}×{creative.height}; "
            f"this spec needs at least {spec.min_width or 0}×{spec.min_height or 0}."
        )
    if creative.kind == CreativeKind.DISPLAY:
        _check_display(creative, spec, verdict)
        return
    if spec.allowed_formats and creative.detected_format not in spec.allowed_formats:
        verdict.reasons.append(
            f"{MediaFormat(creative.detected_format).label} is not accepted here; use {_fmt_list(f.upper() for f in spec.allowed_formats)}."
        )
    _check_duration(creative, spec, verdict)
    if creative.kind == CreativeKind.VIDEO:
        _check_video(creative, spec, verdict)
    _check_audio(creative, spec, verdict)


def _check_display(creative: Creative, spec: AdSpec, verdict: Verdict) -> None:
    if not spec.renders:
        verdict.reasons.append("This spec has no size to render to.")
        return
    if not set(spec.allowed_formats or RENDITION_FORMATS) & set(RENDITION_FORMATS):
        verdict.reasons.append(f"None of {_fmt_list(spec.allowed_formats)} is a format renditions are written in.")
    w, h, tw, th = creative.width or 0, creative.height or 0, spec.width, spec.height
    if spec.fit == Fit.COVER:
        too_small = w < tw or h < th
    else:
        too_small = w < tw and h < th
    if too_small:
        verdict.reasons.append(f"The image is {w}×{h}; a {tw}×{th} rendition would need upscaling.")
    elif spec.fit == Fit.COVER and w and h:
        kept = min((tw / th) / (w / h), (w / h) / (tw / th))
        if kept < CROP_NOTE_SHARE:
            verdict.notes.append(
                f"Cover-crop keeps {kept:.0%} of the image; a design made for {tw}×{th} will read better."
            )


def _check_duration(creative: Creative, spec: AdSpec, verdict: Verdict) -> None:
    duration = _seconds(creative.duration) or 0.0
    low, high = _seconds(spec.min_duration), _seconds(spec.max_duration)
    if low is not None and duration < low:
        verdict.reasons.append(f"It lasts {duration:.1f} s; this spec needs at least {low:g} s.")
    if high is not None and duration > high:
        verdict.reasons.append(f"It lasts {duration:.1f} s; this spec allows at most {high:g} s.")
    if spec.allowed_durations:
        tolerance = float(conf.CREATIVES_DURATION_TOLERANCE)
        if not any(abs(duration - float(d)) <= tolerance for d in spec.allowed_durations):
            verdict.reasons.append(
                f"It lasts {duration:.1f} s; this spec takes exactly {_fmt_list(spec.allowed_durations)} s."
            )


def _check_video(creative: Creative, spec: AdSpec, verdict: Verdict) -> None:
    info = creative.media_info or {}
    if spec.video_codecs and info.get("video_codec") not in spec.video_codecs:
        verdict.reasons.append(f"Video codec {str(info.get('video_codec')).upper()} is not accepted; use "
                               f"{_fmt_list(c.upper() for c in spec.video_codecs)}.")
    if spec.aspect_width and spec.aspect_height:
        wanted, actual = spec.aspect_width / spec.aspect_height, info.get("display_aspect") or 0
        if abs(actual - wanted) > wanted * ASPECT_TOLERANCE:
            verdict.reasons.append(f"The picture is {actual:.3f}:1; this spec needs {spec.aspect_width}:{spec.aspect_height}.")
    kbps = info.get("video_kbps")
    if spec.min_video_kbps and (kbps or 0) < spec.min_video_kbps:
        verdict.reasons.append(f"Video bitrate is {kbps or 0:,} kbps; this spec needs at least {spec.min_video_kbps:,} kbps.")
    if spec.frame_rates:
        fps = info.get("fps") or 0
        if not any(abs(fps - float(r)) <= FPS_TOLERANCE for r in spec.frame_rates):
            verdict.reasons.append(f"Frame rate is {fps:g} fps; this spec takes {_fmt_list(spec.frame_rates)} fps.")
        elif not info.get("constant_fps", True):
            verdict.reasons.append("The frame rate varies; this spec needs a constant frame rate.")


def _check_audio(creative: Creative, spec: AdSpec, verdict: Verdict) -> None:
    info = creative.media_info or {}
    wants_audio = spec.audio_codecs or spec.min_audio_kbps or spec.min_audio_channels or spec.audio_sample_rates
    if not info.get("audio_codec"):
        if wants_audio:
            verdict.reasons.append("There is no audio track; this spec needs one.")
        return
    codec = info["audio_codec"]
    if spec.audio_codecs and not any(codec == c or codec.startswith(f"{c}_") for c in spec.audio_codecs):
        verdict.reasons.append(f"Audio codec {codec} is not accepted; use {_fmt_list(spec.audio_codecs)}.")
    # The stream's declared (nominal) rate, as encoders set it; a VBR file of silence averages far less.
    kbps = info.get("audio_kbps") or (creative.bitrate_kbps if creative.kind == CreativeKind.AUDIO else None)
    if spec.min_audio_kbps and (kbps or 0) < spec.min_audio_kbps:
        verdict.reasons.append(f"Audio bitrate is {kbps or 0} kbps; this spec needs at least {spec.min_audio_kbps} kbps.")
    if spec.min_audio_channels and (info.get("audio_channels") or 0) < spec.min_audio_channels:
        verdict.reasons.append(f"Audio has {info.get('audio_channels') or 0} channel(s); this spec needs at least {spec.min_audio_channels}.")
    if spec.audio_sample_rates and info.get("audio_sample_rate") not in spec.audio_sample_rates:
        verdict.reasons.append(f"Audio sample rate is {info.get('audio_sample_rate')} Hz; this spec takes "
                               f"{_fmt_list(spec.audio_sample_rates)} Hz.")
    tolerance = Decimal(str(conf.CREATIVES_LOUDNESS_TOLERANCE_DB))
    rms, peak = info.get("rms_dbfs"), info.get("peak_dbfs")
    if spec.target_rms_dbfs is not None and rms is not None and abs(Decimal(str(rms)) - spec.target_rms_dbfs) > tolerance:
        verdict.reasons.append(f"Loudness is {rms:.1f} dBFS RMS; this spec needs {float(spec.target_rms_dbfs):g} dBFS (±{tolerance:g}).")
    if spec.max_peak_dbfs is not None and peak is not None and Decimal(str(peak)) > spec.max_peak_dbfs:
        verdict.reasons.append(f"Peaks reach {peak:.1f} dBFS; this spec allows at most {float(spec.max_peak_dbfs):g} dBFS.")


def render_target(spec: AdSpec) -> Target:
    """What the renderer needs to know about a display spec."""
    formats = tuple(f for f in (spec.allowed_formats or RENDITION_FORMATS) if f in RENDITION_FORMATS)
    return Target(
        width=spec.width, height=spec.height, fit=spec.fit, max_bytes=spec.max_bytes, formats=formats,
        animation=spec.animation_allowed, max_plays=spec.max_loops, max_seconds=_seconds(spec.max_animation_seconds),
    )
