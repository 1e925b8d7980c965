"""Seed the Kargo formats from ../shared/reference/amazon-ads.md §6 (Kargo's DSP trafficking
guide), each linked to the Kargo AdSpec 0002 seeded for it."""

from django.db import migrations

# (name, width, height, media type, is VAST, AdSpec code)
FORMATS = [
    ("Anchor", 320, 50, "display", False, "kargo-anchor"),
    ("Breakout", 320, 50, "display", False, "kargo-breakout"),
    ("Breakaway", 320, 50, "display", False, "kargo-breakaway"),
    ("Sidekick", 320, 50, "display", False, "kargo-sidekick"),
    ("Hover", 320, 50, "display", False, "kargo-hover"),
    ("In-Article", 300, 250, "display", False, "kargo-in-article"),
    ("Key Art", 300, 250, "display", False, "kargo-key-art"),
    ("Venti", 300, 250, "display", False, "kargo-venti"),
    ("Non-VAST Viewstream", 300, 250, "display", False, "kargo-non-vast-viewstream"),
    ("VAST Viewstream", None, None, "video", True, "kargo-vast-viewstream"),
    ("Video Anchor", None, None, "video", True, "kargo-video-anchor"),
]


def seed(apps, schema_editor):
    KargoFormat = apps.get_model("creatives", "KargoFormat")
    AdSpec = apps.get_model("creatives", "AdSpec")
    for name, width, height, media_type, is_vast, spec_code in FORMATS:
        KargoFormat.objects.update_or_create(name=name, defaults={
            "width": width, "height": height, "media_type": media_type, "is_vast": is_vast,
            "ad_spec": AdSpec.objects.filter(code=spec_code).first(),
        })


def unseed(apps, schema_editor):
    apps.get_model("creatives", "KargoFormat").objects.filter(name__in=[f[0] for f in FORMATS]).delete()


class Migration(migrations.Migration):
    dependencies = [("creatives", "0003_kargo")]

    operations = [migrations.RunPython(seed, unseed)]
