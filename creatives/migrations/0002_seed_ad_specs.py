"""Seed the ad specs from ../shared/reference/amazon-ads.md §5 (IAB, Amazon DSP) and §6 (Kargo).

The figures are frozen here, as the reference gave them, so the migration never changes with
later code. Specs are edited in the admin afterwards; reversing removes only these codes.
KB is read as 1,000 bytes: a file under the limit then passes whichever reading a partner uses.
"""

from django.db import migrations

KB = 1000
MB = 1000 * 1000
IMAGE = ["jpeg", "png", "gif"]
REF = "Reference amazon-ads.md "

IAB_SIZES = [
    # (name, width, height, initial load KB, fit)
    ("Medium Rectangle", 300, 250, 150, "cover"),
    ("Leaderboard", 728, 90, 150, "cover"),
    ("Skyscraper", 160, 600, 150, "cover"),
    ("Billboard", 970, 250, 250, "cover"),
    ("Super Leaderboard / Pushdown", 970, 90, 200, "cover"),
    ("Portrait", 300, 1050, 250, "cover"),
    ("Smartphone Banner", 300, 50, 50, "cover"),
    ("Smartphone Banner", 320, 50, 50, "cover"),
    # A full screen shows the whole picture: letterboxed rather than cropped.
    ("Mobile Interstitial", 640, 1136, 300, "contain"),
    ("Mobile Interstitial", 750, 1334, 300, "contain"),
    ("Mobile Interstitial", 1080, 1920, 300, "contain"),
]

# Responsive eCommerce creatives: static image only, no animated GIF; 200 KB is the reference's
# configurable default (no Amazon primary source for a desktop static limit).
REC_SIZES = {
    (300, 250): "on Amazon (home, search, detail, thank-you), mobile, off Amazon, off-Amazon mobile",
    (160, 600): "on Amazon (home, search, detail, thank-you), off Amazon",
    (300, 600): "on Amazon (home, search, detail, thank-you), off Amazon",
    (970, 250): "on Amazon (below the fold, deals), off Amazon",
    (980, 55): "on Amazon (below the fold, deals)",
    (650, 130): "on Amazon (all advertisers)",
    (245, 250): "on Amazon (all advertisers)",
    (350, 420): "on Amazon (all advertisers)",
    (728, 90): "on Amazon (all advertisers), off Amazon, tablets",
    (320, 50): "mobile, off-Amazon mobile",
    (414, 125): "mobile",
}

# Animated display on Amazon: at most 15 s and 3 loops; billboards cannot be animated.
ON_AMAZON_ANIMATED = [(300, 250), (160, 600), (300, 600), (728, 90), (970, 250), (320, 50), (414, 125)]

# DSP mobile app static banners: the asset is the @2x size; JPG or PNG-8.
MOBILE_BANNERS = [(320, 50, 640, 100, 50), (300, 250, 600, 500, 40), (728, 90, 1456, 180, 200), (414, 125, 828, 250, 200)]
MOBILE_RICH_MEDIA = [(320, 50, 100), (300, 250, 200), (728, 90, 200), (600, 90, 200), (1024, 50, 200)]

VIDEO_BASE = {
    "kind": "video", "group": "amazon_video", "delivery": "file", "aspect_width": 16, "aspect_height": 9,
    "max_bytes": 500 * MB, "allowed_formats": ["mp4"], "video_codecs": ["h264", "mpeg2video", "mpeg4"],
    "frame_rates": [23.976, 24, 25, 29.97], "audio_codecs": ["aac", "pcm"], "audio_sample_rates": [44100, 48000],
    "min_audio_channels": 2, "min_width": 1920, "min_height": 1080, "min_video_kbps": 4000, "min_audio_kbps": 192,
}
VIDEO = [
    dict(VIDEO_BASE, code="amazon-olv", name="Amazon DSP online video (OLV), site-served",
         min_duration=6, max_duration=120, source_note=REF + "§5.4 OLV: 6–120 s, 1920x1080, ≥4 Mbps, MP4."),
    dict(VIDEO_BASE, code="amazon-olv-3p", name="Amazon DSP online video (OLV), third-party served",
         min_duration=6, max_duration=120, min_width=640, min_height=360, min_video_kbps=2000, min_audio_kbps=128,
         allowed_formats=["mp4", "webm"],
         source_note=REF + "§5.4 OLV third-party: 640x360, ≥2 Mbps video, ≥128 kbps audio (VAST 2/3 tag)."),
    dict(VIDEO_BASE, code="amazon-streaming-tv", name="Amazon Streaming TV (APS, Amazon O&O)",
         allowed_durations=[15, 30], source_note=REF + "§5.4 Streaming TV: 15 or 30 s (asset library check)."),
    dict(VIDEO_BASE, code="amazon-streaming-tv-de-uk", name="Amazon Streaming TV (DE, UK)",
         allowed_durations=[15, 20, 30], source_note=REF + "§5.4 Streaming TV: 15, 20 (DE/UK), 30 s."),
    dict(VIDEO_BASE, code="amazon-prime-video-us-ca", name="Prime Video (US, CA)", min_video_kbps=15000,
         allowed_durations=[15, 30, 45, 60], source_note=REF + "§5.4 Prime Video US/CA: 15/30/45/60 s, ≥15 Mbps."),
    dict(VIDEO_BASE, code="amazon-prime-video-eu-mx", name="Prime Video (UK, DE, AT, FR, IT, ES, MX)",
         min_video_kbps=15000, allowed_durations=[15, 20, 30, 40, 60],
         source_note=REF + "§5.4 Prime Video UK/DE/AT/FR/IT/ES/MX: 15/20/30/40/60 s, ≥15 Mbps."),
]

AUDIO = [
    {"code": "amazon-audio", "name": "Amazon audio ad", "kind": "audio", "group": "amazon_audio", "delivery": "file",
     "min_duration": 10, "max_duration": 30, "max_bytes": 1 * MB, "allowed_formats": ["wav", "mp3", "ogg"],
     "min_audio_kbps": 192, "target_rms_dbfs": -14, "max_peak_dbfs": "-0.2",
     "source_note": REF + "§5.5: 10–30 s, ≤1 MB, WAV/MP3/OGG, ≥192 kbps, RMS −14 dBFS, peak −0.2 dBFS."},
    {"code": "amazon-audio-companion-1024x1024", "name": "Amazon audio companion banner 1024x1024", "kind": "display",
     "group": "amazon_audio", "delivery": "file", "width": 1024, "height": 1024, "max_bytes": 750 * KB,
     "allowed_formats": ["jpeg"], "source_note": REF + "§5.5: companion image 1024x1024 JPEG, ≤750 KB."},
]

KARGO_DISPLAY = [
    ("anchor", "Anchor", 320, 50), ("breakout", "Breakout", 320, 50), ("breakaway", "Breakaway", 320, 50),
    ("sidekick", "Sidekick", 320, 50), ("hover", "Hover", 320, 50), ("in-article", "In-Article", 300, 250),
    ("key-art", "Key Art", 300, 250), ("venti", "Venti", 300, 250),
    ("non-vast-viewstream", "Non-VAST Viewstream", 300, 250),
]
KARGO_VIDEO = [("vast-viewstream", "VAST Viewstream"), ("video-anchor", "Video Anchor")]


def spec_rows() -> list[dict]:
    rows = []
    for name, w, h, kb, fit in IAB_SIZES:
        rows.append({
            "code": f"iab-{w}x{h}", "name": f"IAB {name} {w}x{h}", "group": "iab", "kind": "display", "width": w,
            "height": h, "max_bytes": kb * KB, "allowed_formats": IMAGE, "fit": fit, "animation_allowed": True,
            "max_loops": 3, "max_animation_seconds": 30,
            "source_note": REF + f"§5.2 IAB New Ad Portfolio 2017: initial load {kb} KB. Animation limits: "
                                 "Amazon DSP off Amazon (§5.3), 30 s, 3 loops.",
        })
    for (w, h), where in REC_SIZES.items():
        rows.append({
            "code": f"amazon-rec-{w}x{h}", "name": f"Amazon responsive eCommerce {w}x{h}", "group": "amazon_rec",
            "kind": "display", "width": w, "height": h, "max_bytes": 200 * KB, "allowed_formats": IMAGE,
            "source_note": REF + f"§5.3 REC, {where}. Static image only; 200 KB is a configurable default.",
        })
    for w, h in ON_AMAZON_ANIMATED:
        billboard = (w, h) == (970, 250)
        rows.append({
            "code": f"amazon-display-on-amazon-{w}x{h}", "name": f"Amazon DSP display on Amazon {w}x{h}",
            "group": "amazon_rec", "kind": "display", "width": w, "height": h, "max_bytes": 200 * KB,
            "allowed_formats": IMAGE, "animation_allowed": not billboard, "max_loops": None if billboard else 3,
            "max_animation_seconds": None if billboard else 15,
            "source_note": REF + "§5.3 animation policy: at most 15 s on Amazon, at most 3 loops"
                           + ("; billboards on Amazon cannot be animated." if billboard else "."),
        })
    for w, h, aw, ah, kb in MOBILE_BANNERS:
        rows.append({
            "code": f"amazon-mobile-{w}x{h}", "name": f"Amazon DSP mobile app banner {w}x{h} (@2x {aw}x{ah})",
            "group": "amazon_mobile", "kind": "display", "width": aw, "height": ah, "max_bytes": kb * KB,
            "allowed_formats": ["jpeg", "png"],
            "source_note": REF + f"§5.3 DSP mobile app static banners: {aw}x{ah}, ≤{kb} KB, JPG/PNG-8 "
                                 "(from a mirror; flagged for verification).",
        })
    for w, h, kb in MOBILE_RICH_MEDIA:
        rows.append({
            "code": f"amazon-mobile-rich-media-{w}x{h}", "name": f"Amazon DSP mobile third-party rich media {w}x{h}",
            "group": "amazon_mobile", "kind": "display", "delivery": "tag", "width": w, "height": h,
            "max_bytes": kb * KB,
            "source_note": REF + f"§5.3 third-party rich media (HTML): initial load ≤{kb} KB (the tag's, "
                                 "not measured here).",
        })
    rows += VIDEO + AUDIO
    for code, name, w, h in KARGO_DISPLAY:
        rows.append({
            "code": f"kargo-{code}", "name": f"Kargo {name} {w}x{h}", "group": "kargo", "kind": "display",
            "delivery": "tag", "width": w, "height": h,
            "source_note": REF + "§6: Kargo's creative snippet, trafficked as a non-expandable display "
                                 f"creative of {w}x{h}; Kargo adds its own opt-out button.",
        })
    for code, name in KARGO_VIDEO:
        rows.append({
            "code": f"kargo-{code}", "name": f"Kargo {name}", "group": "kargo", "kind": "video", "delivery": "vast",
            "source_note": REF + "§6: VAST tag; size n/a or 1x1 in the DSP.",
        })
    return rows


def seed(apps, schema_editor):
    AdSpec = apps.get_model("creatives", "AdSpec")
    for row in spec_rows():
        AdSpec.objects.update_or_create(code=row["code"], defaults={k: v for k, v in row.items() if k != "code"})


def unseed(apps, schema_editor):
    apps.get_model("creatives", "AdSpec").objects.filter(code__in=[r["code"] for r in spec_rows()]).delete()


class Migration(migrations.Migration):
    dependencies = [("creatives", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
