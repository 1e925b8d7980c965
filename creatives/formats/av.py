"""Video and audio with ffprobe/ffmpeg: facts for the spec checks, and refusals for damage.

ffprobe is always told the demuxer (`-f`) the bytes were sniffed as, so a file is never probed
into another format (playlists and concat scripts, which can read other files, never open), and
the input is a plain `file:` path. Damage is found three ways because no single one catches
every cut: the container's own sizes (MP4 boxes, RIFF, the last Ogg page), a stream copy (video)
or a full decode (audio, cheap) with errors fatal, and the decoded length against the header's.
"""

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from creatives import conf
from creatives.choices import CreativeKind, MediaFormat
from creatives.formats import Refusal

DEMUXERS = {MediaFormat.MP4: "mp4", MediaFormat.WEBM: "webm", MediaFormat.MP3: "mp3", MediaFormat.WAV: "wav",
            MediaFormat.OGG: "ogg"}
VIDEO_CODECS = {MediaFormat.MP4: {"h264"}, MediaFormat.WEBM: {"vp8", "vp9", "av1"}}
AUDIO_CODECS = {MediaFormat.MP3: {"mp3"}, MediaFormat.OGG: {"vorbis", "opus", "flac"}}
# A decode shorter than the header's duration by more than this is a cut file.
LENGTH_SLACK_SECONDS = 0.5
LENGTH_SLACK_SHARE = 0.02


class ToolMissing(RuntimeError):
    """ffprobe/ffmpeg are not installed: an operations problem, not the file's fault."""


@dataclass
class AvFacts:
    format: str
    kind: str
    duration: float
    bitrate_kbps: int | None = None
    width: int | None = None
    height: int | None = None
    info: dict = field(default_factory=dict)


def tools_available() -> bool:
    return bool(shutil.which(conf.CREATIVES_FFPROBE) and shutil.which(conf.CREATIVES_FFMPEG))


def _run(args: list[str], timeout: int) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise ToolMissing(f"{args[0]} is not installed (apt-get install ffmpeg).") from None
    except subprocess.TimeoutExpired:
        raise Refusal("damaged", f"Reading the file took longer than {timeout} s; it is damaged or hostile.") from None


def _ratio(text: str | None) -> float | None:
    try:
        value = Fraction(text) if text and text != "0/0" else None
    except (ValueError, ZeroDivisionError):
        return None
    return float(value) if value else None


def _kbps(value) -> int | None:
    try:
        return round(int(value) / 1000) if value not in (None, "N/A") else None
    except (TypeError, ValueError):
        return None


def probe(path: Path, fmt: str) -> dict:
    args = [conf.CREATIVES_FFPROBE, "-v", "error", "-hide_banner", "-f", DEMUXERS[fmt], "-print_format", "json",
            "-show_format", "-show_streams", f"file:{path}"]
    done = _run(args, conf.CREATIVES_FFPROBE_TIMEOUT)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise Refusal("damaged", f"The {MediaFormat(fmt).label} file cannot be read: {message[-1] if message else 'unknown error'}.")
    return json.loads(done.stdout or b"{}")


# --- container structure ------------------------------------------------------------------------

def _check_mp4_boxes(path: Path) -> None:
    size, offset, seen = path.stat().st_size, 0, set()
    with path.open("rb") as fh:
        while offset < size:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                raise Refusal("truncated", "The MP4 file is truncated (a box header is cut).")
            length, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if length == 1:
                length = int.from_bytes(header[8:16], "big")
            elif length == 0:
                length = size - offset
            if length < 8 or offset + length > size:
                raise Refusal("truncated", f"The MP4 file is truncated: its {kind.decode('latin-1')!r} box runs past the end.")
            seen.add(kind)
            offset += length
    if not {b"moov", b"mdat"} <= seen:
        raise Refusal("truncated", "The MP4 file is incomplete: it lacks its index (moov) or its media (mdat).")


def _check_riff(path: Path) -> None:
    with path.open("rb") as fh:
        header = fh.read(12)
    if int.from_bytes(header[4:8], "little") + 8 > path.stat().st_size:
        raise Refusal("truncated", "The WAV file is truncated (shorter than its header says).")


def _check_ogg_end(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    at = tail.rfind(b"OggS")
    if at < 0 or len(tail) - at < 27:
        raise Refusal("truncated", "The Ogg file is truncated (no complete last page).")
    segments = tail[at + 26]
    page_end = at + 27 + segments + sum(tail[at + 27: at + 27 + segments])
    if page_end > len(tail) or not tail[at + 5] & 0x04:
        raise Refusal("truncated", "The Ogg file is truncated (its last page is cut or not the end of the stream).")


STRUCTURE_CHECKS = {MediaFormat.MP4: _check_mp4_boxes, MediaFormat.WAV: _check_riff, MediaFormat.OGG: _check_ogg_end}


# --- streams ------------------------------------------------------------------------------------

def _streams(data: dict, fmt: str) -> tuple[dict | None, dict | None]:
    streams = data.get("streams") or []
    video = [s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    label = MediaFormat(fmt).label
    kind = MediaFormat.kind_of(fmt)
    if kind == CreativeKind.VIDEO:
        if not video:
            raise Refusal("unsupported_format", f"The {label} file has no video stream.")
        codec = video[0].get("codec_name")
        if codec not in VIDEO_CODECS[fmt]:
            wanted = ", ".join(sorted(VIDEO_CODECS[fmt])).upper()
            raise Refusal("unsupported_format", f"{label} with {str(codec).upper()} video is not accepted; use {wanted}.")
    else:
        if video:
            raise Refusal("unsupported_format", f"The {label} file contains video; audio creatives are audio only.")
        if not audio:
            raise Refusal("unsupported_format", f"The {label} file has no audio stream.")
        codec = audio[0].get("codec_name", "")
        allowed = AUDIO_CODECS.get(fmt)
        if (allowed and codec not in allowed) or (fmt == MediaFormat.WAV and not codec.startswith("pcm_")):
            raise Refusal("unsupported_format", f"{label} with {codec} audio is not accepted.")
    return (video[0] if video else None), (audio[0] if audio else None)


def _damage_check(path: Path, fmt: str, audio_only: bool) -> dict:
    """Read every packet (video: stream copy) or decode every sample (audio), errors fatal.
    For audio, returns the measured levels and the decoded length."""
    ffmpeg = [conf.CREATIVES_FFMPEG, "-nostdin", "-hide_banner", "-nostats", "-xerror", "-f", DEMUXERS[fmt],
              "-i", f"file:{path}"]
    if audio_only:
        ffmpeg[1:1] = ["-v", "level+info"]
        ffmpeg += ["-map", "0:a:0", "-af",
                   "astats=measure_perchannel=none:measure_overall=RMS_level+Peak_level+Number_of_samples",
                   "-f", "null", "-"]
    else:
        ffmpeg[1:1] = ["-v", "level+error"]
        ffmpeg += ["-map", "0", "-c", "copy", "-f", "null", "-"]
    done = _run(ffmpeg, conf.CREATIVES_FFMPEG_TIMEOUT)
    lines = done.stderr.decode(errors="replace").splitlines()
    errors = [line for line in lines if "[error]" in line or "[fatal]" in line]
    if done.returncode != 0 or errors:
        detail = re.sub(r"^(\[[^]]*\] ?)+", "", (errors or lines or ["unknown error"])[0]).strip()
        code = "truncated" if re.search(r"prematurely|truncat|partial|end of file", detail, re.I) else "damaged"
        raise Refusal(code, f"The {MediaFormat(fmt).label} file is damaged or truncated: {detail}")
    measured = {}
    for key, pattern in (("rms_dbfs", r"RMS level dB: (-?[\d.]+|-inf)"), ("peak_dbfs", r"Peak level dB: (-?[\d.]+|-inf)"),
                         ("samples", r"Number of samples: (\d+)")):
        found = re.findall(pattern, "\n".join(lines))
        if found:
            measured[key] = float(found[-1]) if found[-1] != "-inf" else -120.0
    return measured


def verify(path: Path, fmt: str) -> AvFacts:
    """Probe and check a video or audio file; a Refusal when it is not what it claims or is damaged."""
    data = probe(path, fmt)
    check = STRUCTURE_CHECKS.get(fmt)
    if check:
        check(path)
    video, audio = _streams(data, fmt)
    container = data.get("format") or {}
    duration = float(container.get("duration") or (video or audio or {}).get("duration") or 0)
    if duration <= 0:
        raise Refusal("damaged", f"The {MediaFormat(fmt).label} file has no duration.")
    info: dict = {}
    facts = AvFacts(format=fmt, kind=MediaFormat.kind_of(fmt), duration=duration, bitrate_kbps=_kbps(container.get("bit_rate")))
    if video:
        facts.width, facts.height = int(video.get("width") or 0), int(video.get("height") or 0)
        sar = _ratio(video.get("sample_aspect_ratio")) or 1.0
        r_rate, avg_rate = _ratio(video.get("r_frame_rate")), _ratio(video.get("avg_frame_rate"))
        info.update(
            video_codec=video.get("codec_name"), fps=round(avg_rate or r_rate or 0, 3),
            constant_fps=bool(r_rate and avg_rate and abs(r_rate - avg_rate) < 0.01),
            video_kbps=_kbps(video.get("bit_rate")),
            display_aspect=round(facts.width * sar / facts.height, 4) if facts.height else None,
        )
    if audio:
        info.update(audio_codec=audio.get("codec_name"), audio_kbps=_kbps(audio.get("bit_rate")),
                    audio_channels=int(audio.get("channels") or 0), audio_sample_rate=int(audio.get("sample_rate") or 0))
    if video and info.get("video_kbps") is None and facts.bitrate_kbps:
        # WebM keeps no per-stream bitrate: the container's, less the audio's.
        info["video_kbps"] = max(0, facts.bitrate_kbps - (info.get("audio_kbps") or 0))
    measured = _damage_check(path, fmt, audio_only=video is None)
    if video is None:
        samples, rate = measured.pop("samples", None), info.get("audio_sample_rate")
        if samples and rate:
            decoded = samples / rate
            if decoded < duration - max(LENGTH_SLACK_SECONDS, duration * LENGTH_SLACK_SHARE):
                raise Refusal("truncated", f"The {MediaFormat(fmt).label} file is truncated: its header says "
                                           f"{duration:.1f} s but only {decoded:.1f} s decode.")
            facts.duration = decoded
        info.update(measured)
        if facts.bitrate_kbps is None:
            facts.bitrate_kbps = round(path.stat().st_size * 8 / facts.duration / 1000)
    facts.info = info
    return facts
