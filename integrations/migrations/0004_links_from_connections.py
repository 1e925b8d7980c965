"""Agency-level connections, step 2 of 3: every connection that served an advertiser becomes a
link of that advertiser, with the DSP advertiser id the connection held, so existing syncs keep
writing to the same Amazon account.

Where an advertiser had several connections, the sync used the oldest (lowest id): that one is
linked. A DSP advertiser id already linked to another advertiser is not linked twice (the link
is kept with a blank id, and a sync then says so instead of writing into another tenant's
account). Connections that served no advertiser had no sync: nothing to carry over.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    AmazonConnection = apps.get_model("integrations", "AmazonConnection")
    AmazonAdvertiserLink = apps.get_model("integrations", "AmazonAdvertiserLink")
    linked_advertisers, linked_ids = set(), set()
    for connection in AmazonConnection.objects.filter(advertiser__isnull=False).order_by("pk"):
        if connection.advertiser_id in linked_advertisers:
            continue
        dsp_id = connection.dsp_advertiser_id or ""
        if dsp_id in linked_ids:
            dsp_id = ""
        AmazonAdvertiserLink.objects.create(connection=connection, advertiser_id=connection.advertiser_id,
                                            dsp_advertiser_id=dsp_id)
        linked_advertisers.add(connection.advertiser_id)
        if dsp_id:
            linked_ids.add(dsp_id)


def backwards(apps, schema_editor):
    AmazonConnection = apps.get_model("integrations", "AmazonConnection")
    AmazonAdvertiserLink = apps.get_model("integrations", "AmazonAdvertiserLink")
    # A connection held one advertiser: the first of its links goes back onto it.
    for connection in AmazonConnection.objects.all():
        link = AmazonAdvertiserLink.objects.filter(connection=connection).order_by("pk").first()
        if link is not None:
            connection.advertiser_id, connection.dsp_advertiser_id = link.advertiser_id, link.dsp_advertiser_id
            connection.save(update_fields=["advertiser", "dsp_advertiser_id"])


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0003_amazon_advertiser_links'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
