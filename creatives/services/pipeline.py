"""The processing pipeline for one creative, one service per step:

    creative_sniff → creative_verify → creative_check_specs → creative_render → creative_finish

`creative_process` runs them in order for a claimed run (creatives.tasks calls it), with a
heartbeat between steps. The image is decoded once, in verify, at the scale the requested
sizes need, and every rendition is made from that one picture. Any step may refuse the file
(a `Refusal`): the creative is then rejected with the reason, and nothing else is kept.
Everything a run writes replaces what an earlier run wrote, so running it twice is harmless.
"""

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from creatives import conf
from creatives.choices import CreativeKind, CreativeStatus, Delivery, Fit, MediaFormat, RunStatus
from creatives.formats import Refusal, av, images, kib
from creatives.formats.images import DecodedImage
from creatives.formats.render import CannotMeet, Rendered, render, thumbnail
from creatives.formats.sniff import sniff
from creatives.models import AdSpec, Creative, ProcessingRun, Rendition, SpecVerdict
from creatives.services import files
from creatives.services.runs import Heartbeat, RunLost, run_claim, run_close, run_still_mine
from creatives.specs import Verdict, evaluate, render_target

log = logging.getLogger(__name__)

UPLOAD_LIMITS = {
    CreativeKind.DISPLAY: "CREATIVES_MAX_IMAGE_BYTES",
    CreativeKind.VIDEO: "CREATIVES_MAX_VIDEO_BYTES",
    CreativeKind.AUDIO: "CREATIVES_MAX_AUDIO_BYTES",
}


@dataclass
class Output:
    """What a run produced before it is written: encoded renditions and the thumbnail."""

    renditions: dict[int, Rendered | None] = field(default_factory=dict)  # spec id → file (None: no file)
    thumbnail: tuple[bytes, str] | None = None


def creative_sniff(*, creative: Creative) -> str:
    """Step 1: the format from the first bytes; refuses unknown, unaccepted, mislabelled and
    oversized files before any decoder sees them."""
    fmt = sniff(files.read_head(creative.original.name), creative.original_filename)
    kind = MediaFormat.kind_of(fmt)
    limit = getattr(conf, UPLOAD_LIMITS[kind])
    creative.detected_format, creative.kind = fmt, kind
    if creative.size_bytes > limit:
        raise Refusal("too_large", f"The {MediaFormat(fmt).label} file is {kib(creative.size_bytes)}; "
                                   f"{kind} uploads are limited to {kib(limit)}.")
    return fmt


def _targets(specs: list[AdSpec]) -> list[tuple[int, int, str]]:
    side = conf.CREATIVES_THUMBNAIL_SIZE
    return [(s.width, s.height, s.fit) for s in specs if s.renders] + [(side, side, Fit.CONTAIN)]


def creative_verify(*, creative: Creative, specs: list[AdSpec]) -> DecodedImage | None:
    """Step 2: decode or probe, record the facts; refuses damaged, truncated and dangerous files
    and animations over the limits. Returns the decoded image (display) for the render step."""
    if creative.kind == CreativeKind.DISPLAY:
        decoded = images.decode(files.read_all(creative.original.name), creative.detected_format, _targets(specs))
        facts = decoded.facts
        creative.width, creative.height = facts.width, facts.height
        creative.frame_count = facts.frame_count
        creative.loops = facts.plays if facts.animated else None
        seconds = facts.animation_seconds
        creative.duration = Decimal(str(round(seconds, 3))) if seconds else None
        creative.bitrate_kbps = None
        creative.media_info = {"mode": facts.mode, "has_alpha": facts.has_alpha, "cycle_ms": facts.cycle_ms,
                               **({"colour": facts.colour_note} if facts.colour_note else {})}
        return decoded
    with files.local_path(creative.original.name) as path:
        facts = av.verify(path, creative.detected_format)
    creative.width, creative.height = facts.width, facts.height
    creative.duration = Decimal(str(round(facts.duration, 3)))
    creative.bitrate_kbps = facts.bitrate_kbps
    creative.frame_count = creative.loops = None
    creative.media_info = facts.info
    return None


def creative_check_specs(*, creative: Creative, specs: list[AdSpec]) -> list[Verdict]:
    """Step 3: a verdict per spec of the creative's kind and delivery (byte limits of display
    renditions are settled in the render step)."""
    return [evaluate(creative, spec) for spec in specs]


def creative_render(*, creative: Creative, verdicts: list[Verdict], decoded: DecodedImage | None, beat=None) -> Output:
    """Step 4: encode a rendition for every passing display spec, under its byte limit; a spec
    whose limit cannot be met fails with the smallest size reached. Same parameters, same work:
    sizes shared by several specs are encoded once."""
    output = Output()
    encoded: dict = {}
    for verdict in verdicts:
        if not verdict.passed:
            continue
        spec = verdict.spec
        if decoded is None or not spec.renders:
            output.renditions[spec.pk] = None  # video, audio and tags serve what was uploaded
            continue
        if beat:
            beat(f"render {spec.code}")
        target = render_target(spec)
        if target not in encoded:
            try:
                encoded[target] = render(decoded, target)
            except CannotMeet as refusal:
                encoded[target] = refusal
        result = encoded[target]
        if isinstance(result, CannotMeet):
            verdict.reasons.append(str(result))
            continue
        verdict.notes.extend(n for n in result.notes if n not in verdict.notes)
        output.renditions[spec.pk] = result
    if decoded is not None:
        output.thumbnail = thumbnail(decoded)
    return output


def _rendition_fields(creative: Creative, spec: AdSpec, rendered: Rendered | None, names: dict) -> dict:
    if rendered is not None:
        return {"file": names[spec.pk], "width": rendered.width, "height": rendered.height,
                "size_bytes": len(rendered.data), "format": rendered.format, "quality": rendered.quality,
                "colours": rendered.colours, "animated": rendered.animated, "passthrough": False}
    if creative.delivery == Delivery.FILE:
        return {"file": creative.original.name, "width": creative.width, "height": creative.height,
                "size_bytes": creative.size_bytes, "format": creative.detected_format, "quality": None,
                "colours": None, "animated": False, "passthrough": True}
    return {"file": "", "width": creative.width, "height": creative.height, "size_bytes": 0,
            "format": creative.delivery, "quality": None, "colours": None, "animated": False, "passthrough": True}


def _write_files(creative: Creative, output: Output) -> tuple[dict[int, str], str]:
    names = {}
    for spec_id, rendered in output.renditions.items():
        if rendered is None:
            continue
        ext = files.EXTENSIONS[rendered.format]
        # Named by content: specs sharing a size and limits share one file.
        name = f"{files.ROOT}/renditions/{creative.pk}/{rendered.width}x{rendered.height}-{files.short_digest(rendered.data)}.{ext}"
        names[spec_id] = files.store_bytes(name, rendered.data)
    thumb = ""
    if output.thumbnail:
        data, fmt = output.thumbnail
        thumb = files.store_bytes(f"{files.ROOT}/thumbnails/{creative.pk}-{files.short_digest(data)}.{files.EXTENSIONS[fmt]}", data)
    return names, thumb


# What a run writes on the creative (never the name or anything else a user may edit meanwhile).
RESULT_FIELDS = ["kind", "detected_format", "width", "height", "duration", "bitrate_kbps", "frame_count", "loops",
                 "media_info", "status", "rejection_code", "rejection_reason", "thumbnail", "processed_at", "updated_at"]


def creative_finish(*, creative: Creative, run: ProcessingRun, verdicts: list[Verdict], output: Output,
                    started: float) -> None:
    """Step 5: files first, then every row in one transaction: facts, verdicts, renditions
    (updated in place so assignments survive; dropped where the spec no longer passes), status.
    Files no longer referenced are deleted after the commit."""
    names, thumb = _write_files(creative, output)
    written = {*names.values(), thumb}
    try:
        with transaction.atomic():
            run = run_still_mine(run)
            old = _replace_results(creative, verdicts, output, names)
            passed = [v for v in verdicts if v.passed]
            creative.status = CreativeStatus.READY if passed else CreativeStatus.REJECTED
            creative.rejection_code = "" if passed else "no_spec_passed"
            creative.rejection_reason = "" if passed else _none_passed(creative, verdicts)
            old.add(creative.thumbnail.name)
            creative.thumbnail.name = thumb or creative.thumbnail.name
            creative.processed_at = timezone.now()
            creative.save(update_fields=RESULT_FIELDS)
            run.step = "done"
            run_close(run, status=RunStatus.DONE, started=started)
            stale = old - written - {creative.original.name, creative.thumbnail.name}
            transaction.on_commit(lambda: files.delete_quietly(stale))
    except BaseException:
        files.delete_quietly(written - _referenced(written))
        raise


def _none_passed(creative: Creative, verdicts: list[Verdict]) -> str:
    if verdicts:
        return f"Passes none of the {len(verdicts)} spec(s) it was checked against; see the verdicts."
    if creative.requested_specs.exists():
        return f"None of the requested specs is an active spec for {creative.kind} creatives."
    return f"No active spec takes {creative.kind} creatives delivered as {creative.get_delivery_display().lower()}."


def _referenced(names: set[str]) -> set[str]:
    used = set(Rendition.objects.filter(file__in=names).values_list("file", flat=True))
    return used | set(Creative.objects.filter(thumbnail__in=names).values_list("thumbnail", flat=True))


def _replace_results(creative: Creative, verdicts: list[Verdict], output: Output, names: dict) -> set[str]:
    """Write verdicts and renditions in a handful of queries (bulk, however many specs); rows are
    updated in place so assignments survive. Returns the files the replaced renditions used."""
    spec_ids = [v.spec.pk for v in verdicts]
    SpecVerdict.objects.filter(creative=creative).exclude(spec_id__in=spec_ids).delete()
    existing = {v.spec_id: v for v in SpecVerdict.objects.filter(creative=creative)}
    now = timezone.now()
    changed, new = [], []
    for v in verdicts:
        row = existing.get(v.spec.pk) or SpecVerdict(creative=creative, spec=v.spec)
        row.passed, row.reasons, row.notes, row.checked_at = v.passed, v.reasons, v.notes, now
        (changed if row.pk else new).append(row)
    SpecVerdict.objects.bulk_update(changed, ["passed", "reasons", "notes", "checked_at"])
    SpecVerdict.objects.bulk_create(new)

    keep = {v.spec.pk: v.spec for v in verdicts if v.passed}
    current = {r.spec_id: r for r in Rendition.objects.filter(creative=creative)}
    old_files = {r.file.name for r in current.values() if r.file.name and not r.passthrough}
    Rendition.objects.filter(creative=creative).exclude(spec_id__in=keep).delete()
    changed, new = [], []
    for spec_id, spec in keep.items():
        row = current.get(spec_id) or Rendition(creative=creative, spec=spec)
        for field, value in _rendition_fields(creative, spec, output.renditions.get(spec_id), names).items():
            setattr(row, field, value)
        row.created_at = now
        (changed if row.pk else new).append(row)
    Rendition.objects.bulk_update(changed, [*RENDITION_FIELDS, "created_at"])
    Rendition.objects.bulk_create(new)
    return old_files


RENDITION_FIELDS = ["file", "width", "height", "size_bytes", "format", "quality", "colours", "animated", "passthrough"]


def creative_reject(*, creative: Creative, run: ProcessingRun, refusal: Refusal, started: float) -> None:
    """The file is refused: the reason on the creative, no verdicts or renditions left."""
    with transaction.atomic():
        run = run_still_mine(run)
        old = {r.file.name for r in Rendition.objects.filter(creative=creative, passthrough=False)} | {creative.thumbnail.name}
        SpecVerdict.objects.filter(creative=creative).delete()
        Rendition.objects.filter(creative=creative).delete()
        creative.status, creative.rejection_code = CreativeStatus.REJECTED, refusal.code
        creative.rejection_reason, creative.thumbnail.name = refusal.message, ""
        creative.processed_at = timezone.now()
        creative.save(update_fields=RESULT_FIELDS)
        run_close(run, status=RunStatus.DONE, started=started)
        transaction.on_commit(lambda: files.delete_quietly(old))


def _fail(creative: Creative, run: ProcessingRun, exc: BaseException, started: float) -> None:
    log.exception("creative processing failed", extra={"creative": creative.pk, "run": run.pk})
    error = f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        run = run_still_mine(run)
        run_close(run, status=RunStatus.FAILED, error=error, started=started)
        Creative.objects.filter(pk=creative.pk).update(
            status=CreativeStatus.REJECTED, rejection_code="processing_error", updated_at=timezone.now(),
            rejection_reason=f"Processing failed ({error}). Reprocess to try again.",
        )


def specs_for(creative: Creative) -> list[AdSpec]:
    return list(AdSpec.objects.for_creative(creative))


def creative_process(*, run_id: int) -> ProcessingRun | None:
    """Run the pipeline for a queued run; None when the run is not queued (already handled)."""
    run = run_claim(run_id)
    if run is None:
        return None
    creative, started = run.creative, time.perf_counter()
    beat = Heartbeat(run)
    Creative.objects.filter(pk=creative.pk).update(status=CreativeStatus.PROCESSING)
    try:
        decoded = None
        if creative.delivery == Delivery.FILE:
            beat("sniff")
            creative_sniff(creative=creative)
            specs = specs_for(creative)
            beat("verify")
            decoded = creative_verify(creative=creative, specs=specs)
        else:
            specs = specs_for(creative)
        beat("check specs")
        verdicts = creative_check_specs(creative=creative, specs=specs)
        beat("render")
        output = creative_render(creative=creative, verdicts=verdicts, decoded=decoded, beat=beat)
        beat("finish")
        creative_finish(creative=creative, run=run, verdicts=verdicts, output=output, started=started)
    except Refusal as refusal:
        creative_reject(creative=creative, run=run, refusal=refusal, started=started)
    except RunLost:
        log.warning("creative run taken back; leaving it to the new attempt", extra={"run": run.pk})
        return None
    except Exception as exc:  # recorded on the run and the creative; the worker carries on
        _fail(creative, run, exc, started)
    run.refresh_from_db()
    return run
