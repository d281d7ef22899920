"""The database's counter for the data version (core/cache/version.py): a sequence on
PostgreSQL (nextval is not undone by a rollback and makes no writer wait for another), a
table of one row on SQLite. Neither is a model's table, so `flush` leaves it alone. It
starts at the clock's nanoseconds, above every version the cache can hold from before,
when a lost version key restarted from the clock."""

import time

from django.db import migrations

COUNTER = "core_data_version"


def create_counter(apps, schema_editor):
    start = time.time_ns()
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE {COUNTER} AS bigint")
        schema_editor.execute(f"SELECT setval('{COUNTER}', {start})")
    else:
        schema_editor.execute(
            f"CREATE TABLE {COUNTER} (id integer NOT NULL PRIMARY KEY CHECK (id = 1), value integer NOT NULL)"
        )
        schema_editor.execute(f"INSERT INTO {COUNTER} (id, value) VALUES (1, {start})")


def drop_counter(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {COUNTER}")
    else:
        schema_editor.execute(f"DROP TABLE IF EXISTS {COUNTER}")


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunPython(create_counter, drop_counter),
    ]
