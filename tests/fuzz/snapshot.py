"""A snapshot of every row of every table, to show that a refused write changed nothing."""

from django.apps import apps

# Sessions change with every logged-in request (the test client's login, messages); the
# rest is the application's data, history, users and the admin log.
IGNORED = {"sessions.Session"}


def db_snapshot():
    """{model label: sorted rows}, every column of every row of every model's table
    (many-to-many link tables included)."""
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label in IGNORED or model._meta.proxy or not model._meta.managed:
            continue
        rows[model._meta.label] = sorted((tuple(sorted(row.items())) for row in model._base_manager.values()), key=repr)
    return rows


def changed_tables(before, after):
    """The labels of the tables whose rows differ between two snapshots."""
    return sorted(label for label in before.keys() | after.keys() if before.get(label) != after.get(label))
