"""Drop the single-column indexes of foreign keys that a composite index already leads with.

The event and match tables are the rules engine's hottest writes, and every index is work per
row: a match row updated seven indexes, now four; an event's claim and finish rewrite six, now
five. What each dropped index served, a composite one serves (cascades and lookups by event,
rule or advertiser included): rulematch_once leads with event, rulematch_rule_idx with rule,
rulematch_advertiser_idx and event_unique_per_advertiser with advertiser.

Only the indexes are dropped: AlterField alone would also drop and re-add the foreign-key
constraints, and re-adding one validates every row of the table under lock.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Index

FIELDS = (("event", "advertiser"), ("rulematch", "advertiser"), ("rulematch", "event"), ("rulematch", "rule"))


def _single_column_indexes(schema_editor, model, field):
    composite = {index.name for index in model._meta.indexes}
    return schema_editor._constraint_names(model, [field.column], index=True, type_=Index.suffix, exclude=composite)


def drop_indexes(apps, schema_editor):
    for model_name, field_name in FIELDS:
        model = apps.get_model("campaigns", model_name)
        field = model._meta.get_field(field_name)
        for name in _single_column_indexes(schema_editor, model, field):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_indexes(apps, schema_editor):
    for model_name, field_name in FIELDS:
        model = apps.get_model("campaigns", model_name)
        field = model._meta.get_field(field_name)
        if not _single_column_indexes(schema_editor, model, field):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0005_event_queued_claim_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="advertiser",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="rule_events", to="campaigns.advertiser"),
                ),
                migrations.AlterField(
                    model_name="rulematch",
                    name="advertiser",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="campaigns.advertiser"),
                ),
                migrations.AlterField(
                    model_name="rulematch",
                    name="event",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="matches", to="campaigns.event"),
                ),
                migrations.AlterField(
                    model_name="rulematch",
                    name="rule",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.RESTRICT,
                                            related_name="matches", to="campaigns.rule"),
                ),
            ],
        ),
    ]
