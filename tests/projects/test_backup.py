"""export_data / import_data round-trip the whole database, history included."""

import json

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from projects.models import Project

# Rebuilt by migrate, not part of a backup.
SKIPPED = {"contenttypes", "sessions"}


def _snapshot():
    """Every row of every table, with permissions and content types (whose ids migrate
    chooses afresh) written as their natural keys."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    natural = {
        Permission: {p.pk: p.natural_key() for p in Permission.objects.all()},
        ContentType: {c.pk: c.natural_key() for c in ContentType.objects.all()},
    }
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in SKIPPED or model._meta.label == "auth.Permission":
            continue
        remap = {
            f.attname: natural[f.related_model]
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model in natural
        }
        # The ids of plain many-to-many link rows carry no meaning and are not kept.
        skip = {"id"} if model._meta.auto_created else set()
        rows[model._meta.label] = sorted(
            (
                tuple(sorted((k, str(remap[k].get(v) if k in remap else v)) for k, v in row.items() if k not in skip))
                for row in model.objects.values()
            ),
            key=str,
        )
    return rows


def _empty_database():
    """What a freshly migrated database holds: flush re-creates, as migrate does, the
    content types, permissions and staff roles (projects.apps._ensure_roles)."""
    call_command("flush", interactive=False, verbosity=0)
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) == {"Editors", "Reviewers", "Viewers"}


@pytest.mark.django_db(transaction=True)
def test_it_round_trips_every_row_with_history_into_an_empty_database(project, draft_project, editor, tmp_path):
    from rest_framework.authtoken.models import Token

    Token.objects.create(user=editor)
    project.title = "Renamed once"
    project._history_user = editor
    project.save()
    before = _snapshot()
    assert len(before["projects.HistoricalProject"]) >= 2
    backup = tmp_path / "backup.json.gz"

    call_command("export_data", str(backup))
    _empty_database()
    assert not Project.objects.exists()
    call_command("import_data", str(backup))

    after = _snapshot()
    assert after.keys() == before.keys()
    for label in before:
        assert after[label] == before[label], label
    # The sequences were reset: a new project gets a fresh id.
    new = Project.objects.create(title="New", slug="new", program=project.program, start_year=2020)
    assert new.pk > max(p.pk for p in Project.objects.exclude(pk=new.pk))


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_import_into_a_database_that_holds_data(project, tmp_path):
    backup = tmp_path / "backup.json"
    call_command("export_data", str(backup))
    with pytest.raises(CommandError, match="already holds"):
        call_command("import_data", str(backup))


@pytest.mark.django_db(transaction=True)
def test_a_broken_backup_imports_nothing(project, tmp_path):
    backup = tmp_path / "backup.json"
    call_command("export_data", str(backup))
    data = json.loads(backup.read_text())
    # Corrupt the last object: a project that points at a program that does not exist.
    broken = next(o for o in reversed(data) if o["model"] == "projects.project")
    broken["fields"]["program"] = ["no-such-program"]
    backup.write_text(json.dumps(data))
    _empty_database()
    with pytest.raises(Exception):  # noqa: B017 - loaddata raises DeserializationError wrapped variously
        call_command("import_data", str(backup))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM projects_project")
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["backup.txt"], "must end in .json"),
        (["/no/such/folder/backup.json"], "does not exist"),
    ],
)
def test_export_rejects_bad_arguments(args, message, db):
    with pytest.raises(CommandError, match=message):
        call_command("export_data", *args)


def test_export_refuses_to_overwrite_without_force(tmp_path, db):
    target = tmp_path / "b.json"
    target.write_text("keep me")
    with pytest.raises(CommandError, match="--force"):
        call_command("export_data", str(target))
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("content", ["not json", '{"a": 1}', "[1, 2]"])
def test_import_rejects_a_file_that_is_not_a_backup(tmp_path, content, db):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(CommandError, match="path:"):
        call_command("import_data", str(bad))


def test_import_rejects_a_missing_file(db):
    with pytest.raises(CommandError, match="no file"):
        call_command("import_data", "/no/such/backup.json")


@pytest.mark.django_db(transaction=True)
def test_a_restored_citation_is_verified_against_the_texts_on_this_machine(project, tmp_path):
    """A backup made where a source's text was on file says "verified"; restored where it
    is not, its citations are not verified (and the other way round)."""
    from projects.models import Citation

    Citation.objects.update(verified=True)  # as if the text had been there
    backup = tmp_path / "backup.json"
    call_command("export_data", str(backup))
    assert all(
        row["fields"]["verified"] for row in json.loads(backup.read_text()) if row["model"] == "projects.citation"
    )
    _empty_database()
    call_command("import_data", str(backup))
    assert Citation.objects.exists()
    assert not Citation.objects.filter(verified=True).exists()  # the test source has no text on file
