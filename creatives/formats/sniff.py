"""Format detection from the first bytes, never from the name or the declared content type.

Only formats listed in `creatives.choices.MediaFormat` are accepted; a few common others are
recognised so the refusal can say what the file is. Nothing is handed to a decoder here.
"""

from pathlib import PurePosixPath

from creatives.choices import MediaFormat
from creatives.formats import Refusal

HEAD_BYTES = 64

# ISO base media brands we open as MP4 (H.264 is checked later by ffprobe).
MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"mmp4", b"dash", b"MSNV"}
ISO_OTHERS = {b"qt  ": "a QuickTime (MOV) video", b"M4A ": "an AAC (M4A) audio file", b"heic": "a HEIC image",
              b"heix": "a HEIC image", b"mif1": "a HEIF image", b"avif": "an AVIF image", b"3gp4": "a 3GP video",
              b"3gp5": "a 3GP video", b"3g2a": "a 3GP2 video", b"crx ": "a Canon RAW image"}

EXTENSIONS = {
    "jpg": MediaFormat.JPEG, "jpeg": MediaFormat.JPEG, "jpe": MediaFormat.JPEG, "jfif": MediaFormat.JPEG,
    "png": MediaFormat.PNG, "gif": MediaFormat.GIF, "webp": MediaFormat.WEBP,
    "mp4": MediaFormat.MP4, "m4v": MediaFormat.MP4, "webm": MediaFormat.WEBM, "mp3": MediaFormat.MP3,
    "wav": MediaFormat.WAV, "wave": MediaFormat.WAV, "ogg": MediaFormat.OGG, "oga": MediaFormat.OGG,
    "opus": MediaFormat.OGG,
}
# Names of formats we refuse, by extension: a JPEG called .tiff lies as much as one called .png.
OTHER_EXTENSIONS = {
    "tif": "TIFF", "tiff": "TIFF", "bmp": "BMP", "pdf": "PDF", "psd": "PSD", "svg": "SVG", "ico": "ICO",
    "heic": "HEIC", "avif": "AVIF", "mov": "MOV", "avi": "AVI", "mkv": "Matroska", "flac": "FLAC",
    "aac": "AAC", "m4a": "M4A", "zip": "ZIP", "html": "HTML", "htm": "HTML", "js": "JavaScript",
    "exe": "executable", "swf": "Flash",
}


def _is_mp3_frame(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 0xF) and rate != 0b11


def _ebml_doctype(head: bytes) -> bytes | None:
    at = head.find(b"\x42\x82")
    if at < 0 or at + 3 > len(head):
        return None
    size = head[at + 2]
    if not size & 0x80:  # one-byte length is all a DocType needs in practice
        return None
    length = size & 0x7F
    return head[at + 3: at + 3 + length]


def identify(head: bytes) -> tuple[str | None, str]:
    """(accepted format or None, a human name of what the bytes are)."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaFormat.JPEG, "a JPEG image"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaFormat.PNG, "a PNG image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return MediaFormat.GIF, "a GIF image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaFormat.WEBP, "a WebP image"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MediaFormat.WAV, "a WAV audio file"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return None, "an AVI video"
    if head[:4] == b"OggS":
        return MediaFormat.OGG, "an Ogg file"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in MP4_BRANDS:
            return MediaFormat.MP4, "an MP4 video"
        return None, ISO_OTHERS.get(brand, f"an ISO media file of brand {brand.decode('latin-1')!r}")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        doctype = _ebml_doctype(head)
        if doctype == b"webm":
            return MediaFormat.WEBM, "a WebM video"
        return None, "a Matroska (MKV) file"
    if head[:3] == b"ID3" or _is_mp3_frame(head):
        return MediaFormat.MP3, "an MP3 audio file"
    if head[:2] == b"\xff\xf1" or head[:2] == b"\xff\xf9":
        return None, "an AAC (ADTS) audio stream"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return None, "a TIFF image"
    if head[:2] == b"BM":
        return None, "a BMP image"
    if head[:4] == b"%PDF":
        return None, "a PDF document"
    if head[:4] == b"8BPS":
        return None, "a Photoshop (PSD) file"
    if head[:4] == b"fLaC":
        return None, "a FLAC audio file"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return None, "a ZIP archive"
    if head[:4] == b"\x00\x00\x01\x00":
        return None, "an ICO icon"
    if head[:3] in (b"FWS", b"CWS", b"ZWS"):
        return None, "a Flash (SWF) file"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html", b"<")):
        return None, "a text/markup file (SVG or HTML)"
    if head[:2] == b"MZ" or head[:4] == b"\x7fELF":
        return None, "an executable"
    return None, "in a format we do not recognise"


def sniff(head: bytes, filename: str = "") -> str:
    """The accepted format of `head`, or a Refusal (unknown, not accepted, or a lying name)."""
    if not head:
        raise Refusal("empty", "The file is empty.")
    fmt, label = identify(head[:HEAD_BYTES])
    if fmt is None:
        code = "unknown_format" if label.endswith("recognise") else "unsupported_format"
        raise Refusal(code, f"The file is {label}; we accept JPEG, PNG, GIF, WebP, MP4 (H.264), WebM, "
                            "MP3, WAV and Ogg.")
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower().lstrip(".")
    named = EXTENSIONS.get(suffix) or OTHER_EXTENSIONS.get(suffix)
    if named is not None and named != fmt:
        named_label = MediaFormat(named).label if named in MediaFormat.values else named
        raise Refusal(
            "mismatched_format",
            f"The file is named .{suffix} ({named_label}) but its bytes are {label}. Rename or re-export it.",
        )
    return fmt
