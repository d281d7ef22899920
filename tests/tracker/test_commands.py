"""The project's management commands (seed, export_data, import_data) refuse bad arguments
with a message that names the argument, through call_command and from the command line
(a non-zero exit status and no traceback)."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from projects.models import Project

# Once per CI run: command-line argument handling.
pytestmark = pytest.mark.engines("once")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path):
    """Bad backup files of every kind, by name."""
    (tmp_path / "folder.json").mkdir()
    (tmp_path / "exists.json").write_text("[]")
    (tmp_path / "backup.txt").write_text("[]")
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "object.json").write_text(json.dumps({"model": "projects.project"}))
    (tmp_path / "not-models.json").write_text(json.dumps([{"name": "x"}]))
    (tmp_path / "latin1.json").write_bytes('[{"model": "Défense"}]'.encode("latin-1"))
    (tmp_path / "broken.json.gz").write_bytes(gzip.compress(b'[{"model": "projects.project"}]')[:20])
    (tmp_path / "not-gzip.json.gz").write_text("[]")
    (tmp_path / "unknown-model.json").write_text(json.dumps([{"model": "projects.nothing", "pk": 1, "fields": {}}]))
    (tmp_path / "bad-row.json").write_text(
        json.dumps([{"model": "projects.project", "pk": 1, "fields": {"title": "X", "slug": "x", "program": ["none"]}}])
    )
    return tmp_path


# (command, arguments with {tmp} for the folder, what the message must say)
BAD_ARGUMENTS = [
    ("seed", ["now"], "unrecognized arguments: now"),
    ("seed", ["--reload=yes"], "--reload: ignored explicit argument 'yes'"),
    ("seed", ["--yes"], "unrecognized arguments: --yes"),
    ("export_data", [], "the following arguments are required: path"),
    ("export_data", ["{tmp}/backup.txt"], "path: '{tmp}/backup.txt' must end in .json or .json.gz"),
    ("export_data", ["{tmp}/no/such/folder/b.json"], "path: the folder {tmp}/no/such/folder does not exist"),
    ("export_data", ["{tmp}/folder.json"], "path: {tmp}/folder.json is a folder"),
    ("export_data", ["{tmp}/exists.json"], "path: {tmp}/exists.json exists; pass --force to overwrite it"),
    ("export_data", ["{tmp}/b.json", "--compress"], "unrecognized arguments: --compress"),
    ("import_data", [], "the following arguments are required: path"),
    ("import_data", ["{tmp}/missing.json"], "path: no file at {tmp}/missing.json"),
    ("import_data", ["{tmp}/folder.json"], "path: no file at {tmp}/folder.json"),
    ("import_data", ["{tmp}/backup.txt"], "path: '{tmp}/backup.txt' must be a .json or .json.gz backup"),
    ("import_data", ["{tmp}/empty.json"], "path: {tmp}/empty.json is not a readable JSON backup"),
    ("import_data", ["{tmp}/latin1.json"], "path: {tmp}/latin1.json is not a readable JSON backup"),
    ("import_data", ["{tmp}/broken.json.gz"], "path: {tmp}/broken.json.gz is not a readable JSON backup"),
    ("import_data", ["{tmp}/not-gzip.json.gz"], "path: {tmp}/not-gzip.json.gz is not a readable JSON backup"),
    ("import_data", ["{tmp}/object.json"], "path: {tmp}/object.json is not a backup written by export_data"),
    ("import_data", ["{tmp}/not-models.json"], "path: {tmp}/not-models.json is not a backup written by export_data"),
    ("import_data", ["{tmp}/exists.json", "--database", "nosuch"], "--database: no database 'nosuch' is configured"),
    ("import_data", ["{tmp}/exists.json", "--verbosity", "loud"], "argument -v/--verbosity: invalid int value: 'loud'"),
]


def _ids(case):
    return f"{case[0]} {' '.join(case[1])}".replace("{tmp}/", "")


def _fill(value, tmp):
    return value.replace("{tmp}", str(tmp))


@pytest.mark.django_db
@pytest.mark.parametrize("command,args,message", BAD_ARGUMENTS, ids=[_ids(c) for c in BAD_ARGUMENTS])
def test_call_command_refuses_bad_arguments_naming_them(files, command, args, message):
    with pytest.raises(CommandError) as refused:
        call_command(command, *[_fill(a, files) for a in args])
    assert _fill(message, files) in str(refused.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,message",
    [
        ("unknown-model.json", "Invalid model identifier: projects.nothing"),
        ("bad-row.json", "Could not load projects.Project(pk=1)"),
    ],
)
def test_a_backup_that_does_not_load_is_a_clear_error_and_imports_nothing(files, name, message):
    with pytest.raises(CommandError) as refused:
        call_command("import_data", str(files / name))
    assert f"path: {files / name} did not load, so nothing was changed" in str(refused.value)
    assert message in str(refused.value)
    assert not Project.objects.exists()


def _manage(tmp_path, *args):
    """manage.py in a fresh interpreter, on a database of its own in tmp_path."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'commands.sqlite3'}",
        "SECRET_KEY": "commands-test-only-key",
        "DEBUG": "false",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


# One of each kind from the command line (each is a fresh interpreter, about a second).
COMMAND_LINE = [BAD_ARGUMENTS[i] for i in (0, 3, 4, 7, 11, 13, 17, 19)]


@pytest.mark.parametrize("command,args,message", COMMAND_LINE, ids=[_ids(c) for c in COMMAND_LINE])
def test_the_command_line_exits_non_zero_with_the_message_and_no_traceback(files, command, args, message):
    result = _manage(files, command, *[_fill(a, files) for a in args])
    assert result.returncode != 0
    # argparse's own errors exit with 2; the commands' own checks raise CommandError (1).
    assert result.returncode == (2 if not message.startswith(("path", "--database")) else 1)
    assert _fill(message, files) in result.stderr
    assert "Traceback" not in result.stderr


def test_commands_on_a_database_that_is_not_migrated_say_to_migrate(tmp_path):
    backup = tmp_path / "backup.json"
    backup.write_text("[]")
    for args in (["seed"], ["import_data", str(backup)]):
        result = _manage(tmp_path, *args)
        assert result.returncode == 1, result.stderr
        assert "The database is not ready (run `manage.py migrate` first)" in result.stderr
        assert "Traceback" not in result.stderr


def test_good_arguments_succeed_from_the_command_line(tmp_path):
    # The control: the same commands, rightly used, exit 0.
    assert _manage(tmp_path, "migrate", "-v0").returncode == 0
    seeded = _manage(tmp_path, "seed")
    assert seeded.returncode == 0 and "Loaded the seed data" in seeded.stdout
    exported = _manage(tmp_path, "export_data", str(tmp_path / "backup.json.gz"))
    assert exported.returncode == 0 and (tmp_path / "backup.json.gz").stat().st_size > 1000
    again = _manage(tmp_path, "seed")
    assert again.returncode == 0 and "Skipped loading the seed data" in again.stdout
