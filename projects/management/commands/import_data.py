"""Restore a backup written by `export_data` into an empty, migrated database.

Everything is loaded in one transaction: a file that fails to load leaves the database
as it was.
"""

import gzip
import json
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.base import DeserializationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.test.utils import override_settings

from partners.models import Partner
from projects.models import Citation, Field, Program, Project, Source
from projects.search import project_refresh_search

MUST_BE_EMPTY = [Partner, Field, Program, Project, Source]


class Command(BaseCommand):
    help = "Load a backup written by export_data into an empty database (run `migrate` first)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup file (.json or .json.gz).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias to load into.")

    def handle(self, *args, path, database, **options):
        if database not in connections:
            known = ", ".join(connections)
            raise CommandError(f"--database: no database {database!r} is configured (there is {known}).")
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"path: no file at {path}.")
        if not source.name.endswith((".json", ".json.gz")):
            raise CommandError(f"path: {path!r} must be a .json or .json.gz backup written by export_data.")
        opener = gzip.open if source.name.endswith(".gz") else open
        try:
            with opener(source, "rt", encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, EOFError) as exc:
            raise CommandError(f"path: {path} is not a readable JSON backup ({exc}).") from exc
        if not isinstance(data, list) or any(not isinstance(o, dict) or "model" not in o for o in data):
            raise CommandError(f"path: {path} is not a backup written by export_data.")
        user_model = apps.get_model("auth", "User")
        try:
            occupied = [
                m._meta.verbose_name_plural for m in [*MUST_BE_EMPTY, user_model] if m.objects.using(database).exists()
            ]
        except DatabaseError as exc:
            raise CommandError(f"The database is not ready (run `manage.py migrate` first): {exc}") from exc
        if occupied:
            raise CommandError(
                f"The database already holds {', '.join(str(o) for o in occupied)}: "
                "import_data restores into an empty database only (migrate a new one)."
            )
        # The backup holds the history; loading must not add records of its own (simple
        # history would record each many-to-many link as it is restored).
        try:
            with transaction.atomic(using=database), override_settings(SIMPLE_HISTORY_ENABLED=False):
                # The groups made by the roles migration are in the backup, with their ids.
                Group.objects.using(database).all().delete()
                call_command("loaddata", str(source), database=database, verbosity=0)
                # Whether each citation is verified depends on the texts in SOURCES_DIR here.
                Citation.objects.using(database).all().recheck()
                # A backup's derived columns are recomputed, not trusted.
                Project.refresh_latest_of(Project.objects.using(database).values_list("pk", flat=True), using=database)
                # So are the search documents: a project's fields load with it, and their
                # signal builds its document before its partner links (rows of their own,
                # with their roles) are loaded.
                project_refresh_search(projects=Project.objects.using(database).all())
        except (DeserializationError, DatabaseError, LookupError) as exc:
            raise CommandError(f"path: {path} did not load, so nothing was changed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Loaded {len(data)} objects from {source}"))
