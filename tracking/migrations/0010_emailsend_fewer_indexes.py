# Every send's mark-sent UPDATE sets message_id, an indexed column, so it writes a
# new entry in every index of tracking_emailsend; these two served no query.
# send_journey_to_idx: journey suppress reads an address's recent sends through
# send_to_created_idx and filters the journey on those few rows; the journeys
# overview counts every journey's sends since a date (created_at's index).
# The idempotency key's `_like` index (PostgreSQL only, varchar_pattern_ops): no
# query looks a send's key up by prefix.

from django.db import migrations


def _like_index_name(schema_editor, model):
    return schema_editor._create_index_name(model._meta.db_table, ["idempotency_key"],
                                            suffix="_like")


def drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("tracking", "EmailSend")
    name = schema_editor.quote_name(_like_index_name(schema_editor, model))
    schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create_like_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("tracking", "EmailSend")
    name = schema_editor.quote_name(_like_index_name(schema_editor, model))
    table = schema_editor.quote_name(model._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} (idempotency_key varchar_pattern_ops)")


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0009_linkclick_outcome_changed'),
    ]

    operations = [
        migrations.RemoveIndex(model_name='emailsend', name='send_journey_to_idx'),
        migrations.RunPython(drop_like_index, create_like_index),
    ]
