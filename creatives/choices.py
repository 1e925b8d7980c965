from django.db import models


class CreativeKind(models.TextChoices):
    DISPLAY = "display"
    VIDEO = "video"
    AUDIO = "audio"


class Delivery(models.TextChoices):
    """How a creative reaches the ad server: a file we host, or a third party's tag / VAST URL."""

    FILE = "file", "Hosted file"
    TAG = "tag", "Third-party tag"
    VAST = "vast", "VAST URL"


class MediaFormat(models.TextChoices):
    """Formats detected from the bytes. Only these are ever handed to a decoder."""

    JPEG = "jpeg", "JPEG"
    PNG = "png", "PNG"
    GIF = "gif", "GIF"
    WEBP = "webp", "WebP"
    MP4 = "mp4", "MP4 (H.264)"
    WEBM = "webm", "WebM"
    MP3 = "mp3", "MP3"
    WAV = "wav", "WAV"
    OGG = "ogg", "Ogg"

    @classmethod
    def kind_of(cls, fmt: str) -> str:
        return FORMAT_KIND[fmt]


FORMAT_KIND = {
    MediaFormat.JPEG: CreativeKind.DISPLAY,
    MediaFormat.PNG: CreativeKind.DISPLAY,
    MediaFormat.GIF: CreativeKind.DISPLAY,
    MediaFormat.WEBP: CreativeKind.DISPLAY,
    MediaFormat.MP4: CreativeKind.VIDEO,
    MediaFormat.WEBM: CreativeKind.VIDEO,
    MediaFormat.MP3: CreativeKind.AUDIO,
    MediaFormat.WAV: CreativeKind.AUDIO,
    MediaFormat.OGG: CreativeKind.AUDIO,
}

# Formats a rendition may be written in (display specs list a subset of these).
RENDITION_FORMATS = (MediaFormat.JPEG, MediaFormat.PNG, MediaFormat.GIF)


class CreativeStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"

    @classmethod
    def finished(cls) -> list[str]:
        return [cls.READY.value, cls.REJECTED.value]


class Fit(models.TextChoices):
    COVER = "cover", "Cover (crop to fill)"
    CONTAIN = "contain", "Fit (letterbox, no crop)"


class SpecGroup(models.TextChoices):
    IAB = "iab", "IAB fixed size"
    AMAZON_REC = "amazon_rec", "Amazon responsive eCommerce"
    AMAZON_MOBILE = "amazon_mobile", "Amazon DSP mobile banner"
    AMAZON_VIDEO = "amazon_video", "Amazon DSP video"
    AMAZON_AUDIO = "amazon_audio", "Amazon audio ads"
    KARGO = "kargo", "Kargo"
    CUSTOM = "custom", "Custom"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @classmethod
    def active(cls) -> list[str]:
        return [cls.QUEUED.value, cls.RUNNING.value]


class BatchItemOutcome(models.TextChoices):
    CREATED = "created"
    DUPLICATE = "duplicate", "Duplicate (already uploaded)"
