"""Back up the whole database — tracker data, change history, users, groups, API tokens
and the admin log — to one JSON file that `import_data` restores into an empty database.

Primary keys are kept (history records point at them); foreign keys to content types and
permissions are written as natural keys, so the file loads into any freshly migrated
database.
"""

import gzip
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

# Rebuilt by `migrate` in the target database, so not part of a backup.
EXCLUDED = ["contenttypes", "auth.permission", "sessions"]


class Command(BaseCommand):
    help = "Write the whole database (history included) to a JSON file (.json or .json.gz)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="File to write: backup.json, or backup.json.gz to compress.")
        parser.add_argument("--force", action="store_true", help="Overwrite the file if it exists.")

    def handle(self, *args, path, force, **options):
        target = Path(path)
        if not target.name.endswith((".json", ".json.gz")):
            raise CommandError(f"path: {path!r} must end in .json or .json.gz.")
        if target.is_dir():
            raise CommandError(f"path: {path} is a folder; give the name of the file to write.")
        if target.exists() and not force:
            raise CommandError(f"path: {path} exists; pass --force to overwrite it.")
        if not target.parent.is_dir():
            raise CommandError(f"path: the folder {target.parent} does not exist.")
        partial = target.with_name(target.name + ".partial")
        opener = gzip.open if target.name.endswith(".gz") else open
        try:
            with opener(partial, "wt", encoding="utf-8") as out:
                call_command(
                    "dumpdata",
                    format="backup-json",
                    natural_foreign=True,
                    exclude=EXCLUDED,
                    indent=1,
                    stdout=out,
                    verbosity=0,
                )
            # Only a complete backup takes the file's name.
            partial.replace(target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"path: cannot write {path}: {exc.strerror or exc}.") from exc
        except DatabaseError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"The database could not be read, so no backup was written: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Wrote {target}"))
