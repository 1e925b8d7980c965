"""Where creative files live in Django's default storage, and how the pipeline reads them.

Names come from the bytes (sha256, detected format), never from the uploader's file name.
"""

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from creatives.formats.sniff import HEAD_BYTES, identify

ROOT = "creatives"
EXTENSIONS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp", "mp4": "mp4", "webm": "webm", "mp3": "mp3",
              "wav": "wav", "ogg": "ogg"}
CHUNK = 1024 * 1024


def hash_file(fh) -> tuple[str, int, bytes]:
    """(sha256, size, first bytes) of an open file, read in chunks from the start."""
    fh.seek(0)
    digest, size, head = hashlib.sha256(), 0, b""
    while chunk := fh.read(CHUNK):
        if not head:
            head = chunk[:HEAD_BYTES]
        digest.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return digest.hexdigest(), size, head


def original_name(*, advertiser_id: int, sha256: str, head: bytes) -> str:
    fmt, _ = identify(head)
    return f"{ROOT}/originals/{advertiser_id}/{sha256[:2]}/{sha256}.{EXTENSIONS.get(fmt, 'bin')}"


def store_original(*, name: str, fh, size: int) -> str:
    """Save once: the name is content-addressed, so an existing file of that size is these bytes."""
    if default_storage.exists(name) and default_storage.size(name) == size:
        return name
    fh.seek(0)
    return default_storage.save(name, File(fh))


def store_bytes(name: str, data: bytes) -> str:
    if default_storage.exists(name) and default_storage.size(name) == len(data):
        return name  # same digest in the name: same bytes (a rerun after a lost worker)
    return default_storage.save(name, ContentFile(data))


def short_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:10]


def read_head(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read(HEAD_BYTES)


def read_all(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()


@contextmanager
def local_path(name: str) -> Iterator[Path]:
    """A filesystem path for ffprobe: the stored file itself, or a temporary copy for remote storages."""
    try:
        path = default_storage.path(name)
    except NotImplementedError:
        path = None
    if path is not None:
        yield Path(path)
        return
    with tempfile.NamedTemporaryFile(suffix=Path(name).suffix) as tmp, default_storage.open(name, "rb") as src:
        shutil.copyfileobj(src, tmp, CHUNK)
        tmp.flush()
        yield Path(tmp.name)


def delete_quietly(names) -> None:
    for name in names:
        if name:
            try:
                default_storage.delete(name)
            except OSError:  # already gone; nothing to clean
                pass
