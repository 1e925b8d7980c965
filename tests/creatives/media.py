"""Real files for the tests, made on the spot: Pillow for images, ffmpeg for video and audio.

Sizes are small wherever size does not matter, so the whole folder stays fast.
"""

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

FFMPEG_MISSING = shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG_MISSING, reason="needs ffmpeg and ffprobe on PATH (apt-get install ffmpeg; .ci/run installs it)"
)
GPS_IFD = 0x8825


def picture(width: int, height: int, mode: str = "RGB", busy: bool = False) -> Image.Image:
    """A picture with shapes and gradients (noise when `busy`: hard to compress)."""
    if busy:
        base = Image.merge("RGB", [Image.effect_noise((width, height), 90).convert("L") for _ in range(3)])
    else:
        base = Image.merge("RGB", [
            Image.linear_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
            Image.new("L", (width, height), 128),
        ])
    draw = ImageDraw.Draw(base)
    draw.ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=(220, 40, 40))
    draw.rectangle((0, 0, width // 5, height // 5), fill=(20, 20, 160))
    return base.convert(mode) if mode != "RGB" else base


def _save(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(width=600, height=500, *, quality=90, gps=False, orientation=None, busy=False, icc=None) -> bytes:
    im = picture(width, height, busy=busy)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0131] = "Secret Editor 1.0"  # Software
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    options = {"quality": quality, "exif": exif.tobytes()}
    if icc:
        options["icc_profile"] = icc
    return _save(im, "JPEG", **options)


def cmyk_jpeg(width=600, height=500) -> bytes:
    return _save(picture(width, height).convert("CMYK"), "JPEG", quality=90)


def png(width=600, height=500, *, alpha=False, palette=False, busy=False) -> bytes:
    im = picture(width, height, busy=busy)
    if alpha:
        im = im.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize((width, height)))
    if palette:
        im = im.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _save(im, "PNG")


def webp(width=600, height=500) -> bytes:
    return _save(picture(width, height), "WEBP", quality=85)


def gif(width=300, height=250, *, frames=4, loop: int | None = 2, duration=200, animated=True) -> bytes:
    """An animated GIF; `loop` is the file's repeat count (None: no loop block, 0: forever)."""
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200), (200, 30, 200)]
    images = []
    for index in range(frames if animated else 1):
        im = Image.new("RGB", (width, height), colours[index % len(colours)])
        ImageDraw.Draw(im).rectangle((index * 10, 10, index * 10 + 60, 80), fill=(255, 255, 255))
        images.append(im.convert("P", palette=Image.Palette.ADAPTIVE))
    options = {"save_all": animated, "duration": duration}
    if animated:
        options["append_images"] = images[1:]
    if loop is not None:
        options["loop"] = loop
    return _save(images[0], "GIF", **options)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width=20000, height=20000) -> bytes:
    """A valid 1-bit PNG that decodes to width × height pixels from a few kilobytes of zeros."""
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def cut(data: bytes, share: float = 0.6) -> bytes:
    return data[: int(len(data) * share)]


# --- ffmpeg ---------------------------------------------------------------------------------------

def _ffmpeg(args: list[str], out: Path) -> bytes:
    if out.exists():  # made once per session: names carry every parameter
        return out.read_bytes()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, str(out)], check=True, timeout=120)
    return out.read_bytes()


def mp4(tmp: Path, seconds: float, *, size="320x180", fps=24, vbitrate="400k", audio=True, abitrate="128k",
        rate=48000, name=None) -> bytes:
    out = tmp / (name or f"v{seconds}-{size}-{fps}-{vbitrate}-{audio}-{abitrate}-{rate}.mp4")
    inputs = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={fps}:d={seconds}"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", vbitrate,
              "-x264-params", "nal-hrd=cbr", "-minrate", vbitrate, "-maxrate", vbitrate, "-bufsize", vbitrate]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=f=440:r={rate}:d={seconds}"]
        codecs += ["-c:a", "aac", "-b:a", abitrate, "-ac", "2", "-shortest"]
    return _ffmpeg([*inputs, *codecs, "-movflags", "+faststart"], out)


def webm(tmp: Path, seconds: float = 2) -> bytes:
    return _ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s=160x90:r=15:d={seconds}", "-f", "lavfi", "-i",
                    f"sine=d={seconds}", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k",
                    "-c:a", "libvorbis", "-shortest"], tmp / f"v{seconds}.webm")


def _tone(seconds: float, peak_db: float) -> list[str]:
    """A stereo 440 Hz sine peaking at `peak_db` dBFS; its RMS is 3 dB lower."""
    wave = f"{10 ** (peak_db / 20):.5f}*sin(2*PI*440*t)"
    return ["-f", "lavfi", "-i", f"aevalsrc={wave}|{wave}:s=44100:d={seconds}"]


def mp3(tmp: Path, seconds: float, *, bitrate="192k", peak_db=-11.0) -> bytes:
    # Peak −11 dBFS is −14 dBFS RMS: the audio spec's loudness.
    return _ffmpeg([*_tone(seconds, peak_db), "-c:a", "libmp3lame", "-b:a", bitrate],
                   tmp / f"a{seconds}-{bitrate}-{peak_db}.mp3")


def wav(tmp: Path, seconds: float = 2, peak_db=-11.0) -> bytes:
    return _ffmpeg([*_tone(seconds, peak_db), "-c:a", "pcm_s16le"], tmp / f"a{seconds}-{peak_db}.wav")


def ogg(tmp: Path, seconds: float = 2, peak_db=-11.0) -> bytes:
    return _ffmpeg([*_tone(seconds, peak_db), "-c:a", "libvorbis", "-q:a", "6"], tmp / f"a{seconds}-{peak_db}.ogg")
