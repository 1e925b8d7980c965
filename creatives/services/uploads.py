"""Uploads: a file or a third-party tag becomes a creative (once per advertiser and content),
and its processing is queued."""

from dataclasses import dataclass
from hashlib import sha256
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from creatives.choices import CreativeKind, Delivery
from creatives.models import AdSpec, Creative, ProcessingRun
from creatives.services import files
from creatives.services.runs import creative_process_enqueue

TAG_MAX_CHARS = 65_536


@dataclass
class UploadResult:
    creative: Creative
    created: bool  # False: the same content was already uploaded for this advertiser
    run: ProcessingRun | None = None


def clean_filename(filename: str) -> str:
    """The last path component, printable, at most 255 characters (for display only)."""
    base = PurePosixPath((filename or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable())
    return base[-255:]


def _default_name(filename: str, sha: str) -> str:
    stem = PurePosixPath(filename).stem.strip()
    return (stem or f"Creative {sha[:12]}")[:255]


def _create(*, advertiser, sha: str, fields: dict, specs, stored: str = "") -> UploadResult:
    try:
        with transaction.atomic():
            creative = Creative.objects.create(advertiser=advertiser, sha256=sha, **fields)
            if specs:
                creative.requested_specs.set(specs)
            run = creative_process_enqueue(creative=creative, reason="upload")
    except IntegrityError:
        # The same bytes arrived in a concurrent request: its creative stands.
        winner = Creative.objects.get(advertiser=advertiser, sha256=sha)
        if stored and stored != winner.original.name:
            files.delete_quietly([stored])
        return UploadResult(winner, created=False)
    return UploadResult(creative, created=True, run=run)


def creative_upload(*, advertiser, fh, filename: str = "", name: str = "", by=None,
                    specs: list[AdSpec] | None = None) -> UploadResult:
    """Store the file under a name derived from its bytes and queue its processing.

    The same bytes already uploaded for this advertiser return that creative (created=False);
    nothing is stored twice. Checks of the content happen in the pipeline, never here."""
    sha, size, head = files.hash_file(fh)
    existing = Creative.objects.filter(advertiser=advertiser, sha256=sha).first()
    if existing is not None:
        return UploadResult(existing, created=False)
    filename = clean_filename(filename)
    stored = files.store_original(
        name=files.original_name(advertiser_id=advertiser.pk, sha256=sha, head=head), fh=fh, size=size
    )
    fields = {"name": (name or _default_name(filename, sha))[:255], "original": stored, "original_filename": filename,
              "size_bytes": size, "uploaded_by": by, "delivery": Delivery.FILE}
    return _create(advertiser=advertiser, sha=sha, fields=fields, specs=specs, stored=stored)


def creative_create_tag(*, advertiser, name: str, width: int | None = None, height: int | None = None,
                        third_party_tag: str = "", vast_url: str = "", by=None,
                        specs: list[AdSpec] | None = None) -> UploadResult:
    """A third-party creative (a Kargo snippet, a rich-media tag, or a VAST URL): no file, checked
    against the tag specs. The same tag text twice for one advertiser is one creative."""
    third_party_tag, vast_url = (third_party_tag or "").strip(), (vast_url or "").strip()
    if bool(third_party_tag) == bool(vast_url):
        raise ValidationError({"third_party_tag": ["Give either a third-party tag or a VAST URL."]})
    if len(third_party_tag) > TAG_MAX_CHARS:
        raise ValidationError({"third_party_tag": [f"At most {TAG_MAX_CHARS:,} characters."]})
    if third_party_tag and not (width and height):
        raise ValidationError({"width": ["A display tag needs its width and height."]})
    text = third_party_tag or vast_url
    sha = sha256(text.encode()).hexdigest()
    existing = Creative.objects.filter(advertiser=advertiser, sha256=sha).first()
    if existing is not None:
        return UploadResult(existing, created=False)
    fields = {
        "name": (name or f"Tag {sha[:12]}")[:255], "third_party_tag": third_party_tag, "vast_url": vast_url,
        "delivery": Delivery.TAG if third_party_tag else Delivery.VAST,
        "kind": CreativeKind.DISPLAY if third_party_tag else CreativeKind.VIDEO,
        "width": width, "height": height, "size_bytes": len(text.encode()), "uploaded_by": by,
    }
    return _create(advertiser=advertiser, sha=sha, fields=fields, specs=specs)


def creatives_delete(*, creatives) -> int:
    """Delete creatives with their verdicts, renditions and assignments; their files go after the
    commit (originals, thumbnails and renditions live in per-creative names, shared with no one)."""
    from django.db.models import Q

    from creatives.models import Rendition

    creatives = list(creatives)
    names = {n for c in creatives for n in (c.original.name, c.thumbnail.name) if n}
    names |= set(Rendition.objects.filter(creative__in=creatives).exclude(Q(file="") | Q(passthrough=True))
                 .values_list("file", flat=True))
    with transaction.atomic():
        deleted = Creative.objects.filter(pk__in=[c.pk for c in creatives]).delete()[1].get("creatives.Creative", 0)
        transaction.on_commit(lambda: files.delete_quietly(names))
    return deleted
