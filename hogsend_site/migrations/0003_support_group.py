"""Create the "support" staff group (see hogsend_site/staff.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from hogsend_site.staff import support_group_sync


def create_support_group(apps, schema_editor):
    # Permissions are normally created after migrate (post_migrate): make them
    # exist now, so a fresh database gets a complete group.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0,
                           using=schema_editor.connection.alias)
        app_config.models_module = None
    support_group_sync(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("hogsend_site", "0002_auditlog"),
        ("contacts", "0002_erasurerecord"),
        ("tracking", "0003_answer_proxy_replay_permission"),
        ("journeys", "0003_console_proxies_failed_idx"),
        ("alerts", "0002_webhooks"),
    ]

    operations = [
        migrations.RunPython(create_support_group, migrations.RunPython.noop),
    ]
