"""Formats come from the bytes: every accepted one is recognised, others are named and refused,
and a name that lies about the bytes is refused."""

import pytest

from creatives.formats import Refusal
from creatives.formats.sniff import sniff
from tests.creatives import media

HEADS = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "gif": b"GIF89a\x01\x00\x01\x00",
    "webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "ogg": b"OggS\x00\x02\x00\x00",
}


@pytest.mark.parametrize("fmt", HEADS)
def test_it_detects_every_accepted_format_from_the_bytes(fmt):
    assert sniff(HEADS[fmt], "upload") == fmt


def test_a_bare_mp3_frame_without_id3_is_mp3():
    assert sniff(b"\xff\xfb\x90\x64" + bytes(60)) == "mp3"


@pytest.mark.parametrize("head, named", [
    (b"II*\x00\x08\x00\x00\x00", "TIFF"), (b"BM6\x00\x00\x00", "BMP"), (b"%PDF-1.7", "PDF"),
    (b"PK\x03\x04\x14\x00", "ZIP"), (b"\x00\x00\x00\x18ftypqt  ", "QuickTime"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", "Matroska"), (b"<svg xmlns='http://www.w3.org/2000/svg'>", "SVG"),
    (b"\x00\x00\x00\x1cftypM4A ", "M4A"), (b"MZ\x90\x00", "executable"),
])
def test_it_names_and_refuses_formats_we_do_not_accept(head, named):
    with pytest.raises(Refusal) as refused:
        sniff(head, "x")
    assert refused.value.code == "unsupported_format" and named in refused.value.message


def test_unrecognisable_bytes_are_an_unknown_format():
    with pytest.raises(Refusal) as refused:
        sniff(b"hello, this is not media", "banner.jpg")
    assert refused.value.code == "unknown_format"


def test_an_empty_file_is_refused():
    with pytest.raises(Refusal) as refused:
        sniff(b"", "empty.png")
    assert refused.value.code == "empty"


def test_a_png_named_jpg_is_refused_as_mismatched():
    with pytest.raises(Refusal) as refused:
        sniff(media.png(20, 20)[:64], "banner.jpg")
    assert refused.value.code == "mismatched_format"
    assert ".jpg" in refused.value.message and "PNG" in refused.value.message


def test_a_jpeg_named_tiff_is_refused_as_mismatched():
    with pytest.raises(Refusal) as refused:
        sniff(media.jpeg(20, 20)[:64], "scan.TIFF")
    assert refused.value.code == "mismatched_format"


@pytest.mark.parametrize("filename", ["banner", "banner.bin", "banner.JPEG", "dir\\sub/banner.jpg"])
def test_names_that_do_not_contradict_the_bytes_are_fine(filename):
    assert sniff(media.jpeg(20, 20)[:64], filename) == "jpeg"
