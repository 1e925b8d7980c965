"""Agency-level connections, step 1 of 3: the link table (one of our advertisers → its DSP
advertiser, through a connection), and bulk-sheet ids as a second external system."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0001_initial'),  # only Advertiser is needed
        ('integrations', '0002_sync_and_competitor_prices'),
    ]

    operations = [
        migrations.CreateModel(
            name='AmazonAdvertiserLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('dsp_advertiser_id', models.CharField(help_text='The DSP advertiser id (Amazon-Ads-AccountId header of /dsp/v1 calls).', max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('advertiser', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='amazon_link', to='campaigns.advertiser')),
                ('connection', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='links', to='integrations.amazonconnection')),
            ],
            options={
                'verbose_name': 'Amazon advertiser link',
                'ordering': ['connection_id', 'advertiser_id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('dsp_advertiser_id', ''), _negated=True), fields=('dsp_advertiser_id',), name='amazonlink_unique_dsp_advertiser', violation_error_message='This DSP advertiser is already linked to another of our advertisers.')],
            },
        ),
        migrations.AlterField(
            model_name='externalref',
            name='system',
            field=models.CharField(choices=[('amazon_dsp', 'Amazon DSP'), ('amazon_bulksheet', 'Amazon bulk sheet')], default='amazon_dsp', max_length=32),
        ),
    ]
