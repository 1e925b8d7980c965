"""Agency-level connections, step 3 of 3: the advertiser and DSP advertiser id now live on the
links (0004 copied them), so the connection keeps only credentials, region, profile and entity."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0004_links_from_connections'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='amazonconnection',
            name='advertiser',
        ),
        migrations.RemoveField(
            model_name='amazonconnection',
            name='dsp_advertiser_id',
        ),
        migrations.AlterField(
            model_name='amazonconnection',
            name='dsp_account_id',
            field=models.CharField(blank=True, help_text="DSP entity id (ENTITY…) the reports are requested under; blank: each advertiser's own id.", max_length=64),
        ),
    ]
