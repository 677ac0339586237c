# A send's stored bodies (a few KB of HTML, and its text) are TOASTed and compressed
# once per send. PostgreSQL 14 and later can compress a column with lz4 instead of
# pglz, which costs less CPU for about the same size. Only values written from now
# on use it; older rows keep pglz and read as before. A server built without lz4
# refuses the change, and then the columns stay as they are. Other databases: nothing.

from django.db import DatabaseError, migrations, transaction

COLUMNS = ("html", "text")


def _set_compression(schema_editor, method):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    table = schema_editor.quote_name("tracking_emailsend")
    for column in COLUMNS:
        column = schema_editor.quote_name(column)
        try:
            with transaction.atomic(using=connection.alias):
                schema_editor.execute(
                    f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")
        except DatabaseError:
            return  # lz4 not built into this server: keep pglz


def use_lz4(apps, schema_editor):
    _set_compression(schema_editor, "lz4")


def use_default(apps, schema_editor):
    _set_compression(schema_editor, "default")


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0010_emailsend_fewer_indexes'),
    ]

    operations = [
        migrations.RunPython(use_lz4, use_default),
    ]
