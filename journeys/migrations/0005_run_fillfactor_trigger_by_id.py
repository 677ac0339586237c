# A parked run's row is rewritten by its claim and its park. On PostgreSQL the run
# table's pages are filled to half (fillfactor 50), so both new versions of every
# row on a page fit on that page: the claim (which changes no indexed column) is a
# HOT update with no index entries, and the dead versions are pruned in place
# without VACUUM. Pages written before this keep their layout until rewritten.
# The trigger event is kept by id only: pruning events never touches runs.
# No row changes: runs parked before this resume unchanged.

import django.db.models.deletion
from django.db import migrations, models

RUN_TABLE = "journeys_journeyrun"


def half_full_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {RUN_TABLE} SET (fillfactor = 50)")


def full_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {RUN_TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('journeys', '0004_storage_hot_query_indexes_only'),
        ('tracking', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='journeyrun',
            name='trigger_event',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tracking.userevent'),
        ),
        migrations.RunPython(half_full_pages, full_pages),
    ]
