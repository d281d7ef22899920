"""Load the seed data (fixtures/*.json, built from the source documents) into the database.

`manage.py seed` loads the fixtures only into a database that holds no tracker data, so
running it again (as `make run` does) never touches what staff have entered.
`manage.py seed --reload` deletes all tracker data (not users) and loads the seed again.

Everything happens in one transaction. After loading, every record gets a baseline
history record (what simple_history's `populate_history --auto` does, but also after a
reload, when the history tables already hold the deleted records' history).
"""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, transaction
from django.test.utils import override_settings
from django.utils import timezone

from core.history import history_m2m_fields
from core.models import record_links
from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, ProgramEvent, Project, Source, StatusReport
from projects.search import project_refresh_search

# Loaded in this order: each file refers only to records of the files before it.
FIXTURE_FILES = [
    "sources.json", "reference.json", "program_events.json", "partners.json", "projects.json",
    "project_partners.json", "status_reports.json", "citations.json",
]  # fmt: skip

# The seed is loaded only when none of these holds a record.
MUST_BE_EMPTY = [Partner, Project, Program, Field, Source]

# Every tracker model with history, in an order that can be deleted front to back.
TRACKER_MODELS = [Citation, StatusReport, Activity, ProgramEvent, Project, Partner, Program, Field, Source]

HISTORY_REASON = "Seed data loaded (manage.py seed)"


def fixture_paths():
    folder = settings.BASE_DIR / "fixtures"
    return [folder / name for name in FIXTURE_FILES]


class Command(BaseCommand):
    help = (
        "Load the seed data (fixtures/*.json) into a database that holds no tracker data. "
        "With --reload, delete all tracker data (not users) first and load it again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reload",
            action="store_true",
            help="Delete all partners, fields, programs, sources, projects, activities and citations "
            "(users are kept), then load the seed data again.",
        )

    def handle(self, *args, reload=False, **options):
        paths = fixture_paths()
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(f"Seed fixture file(s) missing: {', '.join(missing)}.")

        with transaction.atomic():
            try:
                occupied = [str(m._meta.verbose_name_plural) for m in MUST_BE_EMPTY if m.objects.exists()]
            except DatabaseError as exc:
                raise CommandError(f"The database is not ready (run `manage.py migrate` first): {exc}") from exc
            if occupied and not reload:
                self.stdout.write(
                    f"Skipped loading the seed data: the database already holds {', '.join(occupied)}. "
                    "Nothing was changed. To delete all tracker data (users are kept) and load the seed data "
                    "again, run `manage.py seed --reload` (or `make reseed`)."
                )
                return
            if reload:
                deleted = self._delete_tracker_data()
                self.stdout.write(f"Deleted {deleted} tracker records.")
            # The baseline history is written below, one record per object; loading must
            # not add records of its own (simple_history would record each project's
            # partners and fields as "changed" while they are linked).
            try:
                with override_settings(SIMPLE_HISTORY_ENABLED=False):
                    call_command("loaddata", *[str(p) for p in paths], verbosity=0)
            except (DeserializationError, DatabaseError, ObjectDoesNotExist, ValidationError) as exc:
                raise CommandError(f"The seed data did not load, so nothing was changed: {exc}") from exc
            # Projects without partners or fields get no link signal: build every search document.
            project_refresh_search(projects=Project.objects.all())
            # Statuses and the years each project counts in, from all it was loaded with.
            Project.refresh_latest_of(Project.objects.values_list("pk", flat=True))
            # Loading saves raw rows: check every citation against its source's text now.
            Citation.objects.all().recheck()
            self._record_baseline_history()

        counts = ", ".join(f"{m.objects.count()} {m._meta.verbose_name_plural}" for m in reversed(TRACKER_MODELS))
        self.stdout.write(self.style.SUCCESS(f"Loaded the seed data: {counts}."))

    def _delete_tracker_data(self):
        """Delete every tracker record (each deletion is recorded in its history)."""
        deleted = 0
        for model in TRACKER_MODELS:
            if model is Partner:
                # A service's parent is protected: delete services before their parents.
                while Partner.objects.exists():
                    count, _ = Partner.objects.filter(children__isnull=True).delete()
                    if not count:
                        raise CommandError("Cannot delete the partners: their parents form a cycle.")
                    deleted += count
            else:
                count, _ = model.objects.all().delete()
                deleted += count
        return deleted

    def _record_baseline_history(self):
        """Give every tracker record that has no history a "+" history record, with the
        project's partners and fields, as simple_history does when a record is created."""
        when = timezone.now()
        for model in TRACKER_MODELS:
            history = model.history
            recorded = set(history.values_list("id", flat=True).distinct())
            missing = [obj for obj in model.objects.all() if obj.pk not in recorded]
            if not missing:
                continue
            history.bulk_history_create(missing, default_change_reason=HISTORY_REASON, default_date=when)
            if history_m2m_fields(model):
                record_links(history.filter(history_date=when, id__in=[obj.pk for obj in missing]), history.model)
