"""The database cache table(s) settings name (`createcachetable`): without Redis,
django-q2 keeps the cluster heartbeat there so every process sees it (/healthz).
Does nothing when no database cache is configured (the Redis setup)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("hogsend_site", "0003_support_group")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
