"""Upload limits enforced while the request streams in, and the cheap checks made before
anything is stored (format from the first bytes, size for that kind)."""

from django.core.files.uploadhandler import FileUploadHandler
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from creatives import conf
from creatives.choices import MediaFormat
from creatives.formats import Refusal, kib
from creatives.formats.sniff import HEAD_BYTES, sniff
from creatives.services.pipeline import UPLOAD_LIMITS


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


class CappedUploadHandler(FileUploadHandler):
    """First in the chain: refuses a request whose declared length or streamed file bytes pass
    the cap, before the rest is read or spooled to disk."""

    def __init__(self, request=None, limit: int = 0):
        super().__init__(request)
        self.limit, self.received = limit, 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit:
            raise UploadTooLarge(f"The request is {kib(content_length)}; uploads are limited to {kib(self.limit)}.")

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge(f"The upload passed {kib(self.limit)}; uploads are limited to {kib(self.limit)}.")
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) builds the file


def single_upload_limit() -> int:
    kinds = max(conf.CREATIVES_MAX_IMAGE_BYTES, conf.CREATIVES_MAX_VIDEO_BYTES, conf.CREATIVES_MAX_AUDIO_BYTES)
    return min(kinds, conf.CREATIVES_MAX_UPLOAD_BYTES)


def install_upload_cap(request, limit: int) -> None:
    """Put the cap first in the Django request's handlers (before anything reads the body)."""
    request.upload_handlers = [CappedUploadHandler(request, limit), *request.upload_handlers]


def precheck(upload, field: str = "file") -> str:
    """The format of an uploaded file, or a 400 (unknown, not accepted, lying name) / 413 (over
    its kind's limit). Reads only the first bytes; the pipeline verifies the rest."""
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    try:
        fmt = sniff(head, upload.name or "")
    except Refusal as refusal:
        raise ValidationError({field: [f"{upload.name}: {refusal.message}"]}) from None
    kind = MediaFormat.kind_of(fmt)
    limit = getattr(conf, UPLOAD_LIMITS[kind])
    if upload.size > limit:
        raise UploadTooLarge(f"{upload.name} is {kib(upload.size)}; {kind} uploads are limited to {kib(limit)}.")
    return fmt
