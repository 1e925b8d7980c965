"""The creatives app's settings, each with a default; override any of them in Django settings.

Read through `conf.NAME` at call time (not import time), so tests can change them with the
`settings` fixture.
"""

from django.conf import settings

MIB = 1024 * 1024

DEFAULTS = {
    # Refused before decoding: width × height of one frame ("around 4096×4096", issue 4).
    "CREATIVES_MAX_PIXELS": 4096 * 4096,
    # Refused before decoding: frames × width × height of an animation (decoding cost bound).
    "CREATIVES_MAX_ANIMATION_PIXELS": 64 * MIB,
    "CREATIVES_MAX_FRAMES": 1000,
    # Upload limits per kind, checked on the bytes' size once the format is known.
    "CREATIVES_MAX_IMAGE_BYTES": 10 * MIB,
    "CREATIVES_MAX_VIDEO_BYTES": 500 * MIB,  # Amazon's site-served video maximum
    "CREATIVES_MAX_AUDIO_BYTES": 50 * MIB,
    # One request (a file, a zip or many files) is cut off past this, while it streams in.
    "CREATIVES_MAX_UPLOAD_BYTES": 512 * MIB,
    # Animations: Amazon DSP off Amazon allows 30 s and at most 3 loops (reference §5.3).
    "CREATIVES_MAX_ANIMATION_LOOPS": 3,
    "CREATIVES_MAX_ANIMATION_SECONDS": 30,
    # Zip batches.
    "CREATIVES_ZIP_MAX_ENTRIES": 500,
    "CREATIVES_ZIP_MAX_TOTAL_BYTES": 1024 * MIB,
    "CREATIVES_ZIP_MAX_RATIO": 100,
    # Processing runs: a running run without a heartbeat for this long lost its worker.
    "CREATIVES_RUN_STALE_SECONDS": 600,
    "CREATIVES_RUN_MAX_ATTEMPTS": 3,
    # External tools.
    "CREATIVES_FFPROBE": "ffprobe",
    "CREATIVES_FFMPEG": "ffmpeg",
    "CREATIVES_FFPROBE_TIMEOUT": 30,
    "CREATIVES_FFMPEG_TIMEOUT": 300,
    # Renditions: the JPEG quality search range, and the admin thumbnail's longest side.
    "CREATIVES_JPEG_QUALITY_MAX": 88,
    "CREATIVES_JPEG_QUALITY_MIN": 35,
    "CREATIVES_THUMBNAIL_SIZE": 160,
    # Exact-duration specs (Streaming TV 15/30 s) accept this much encoder padding, in seconds.
    "CREATIVES_DURATION_TOLERANCE": 0.5,
    # Loudness targets (audio ads: RMS −14 dBFS) accept this much deviation, in dB.
    "CREATIVES_LOUDNESS_TOLERANCE_DB": 2.0,
}


def __getattr__(name: str):
    if name in DEFAULTS:
        return getattr(settings, name, DEFAULTS[name])
    raise AttributeError(name)
