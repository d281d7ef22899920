"""Shared fixtures: the personas (anonymous, viewer, editor, administrator) and a small,
known data set built in code (the seed fixtures are tested on their own); and how the
suite is split between the database engines and between parallel workers.

Every test is in exactly one engine scope, the closest `engines` mark deciding:

- `both` (the default): its behaviour may differ between SQLite and PostgreSQL, so CI
  runs it on each;
- `postgresql`: it needs PostgreSQL (not collected on SQLite);
- `once`: it does not depend on the database engine (page rendering, browsers, fuzzing
  of forms and query strings, settings, harnesses that start their own PostgreSQL), so CI
  runs it once, in the PostgreSQL pass.

`--second-engine` is CI's second pass (SQLite): only the `both` tests.
`tests/test_engine_split.py` proves the two passes together run every test.
"""

import json
import os

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from core.models import PublicationState
from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, Source, StatusReport
from tests.fuzz import tally

ENGINE_SCOPES = ("both", "postgresql", "sqlite", "once")

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    """Hash the personas' passwords with a fast hasher: production's PBKDF2 costs 0.3 s a
    user by design, which is most of many tests' set-up. Which hasher is used is not what
    any test checks (the password rules and the lockout do not depend on it)."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    config.addinivalue_line(
        "markers",
        "engines(scope): both (default), postgresql, sqlite or once: which database engines the test runs on",
    )
    config.addinivalue_line(
        "markers", "serial: cannot share the machine with other tests; `make test` runs these after the others"
    )


def pytest_addoption(parser):
    parser.addoption(
        "--second-engine",
        action="store_true",
        help="CI's second pass over the database engines: run only the tests whose behaviour may differ by engine",
    )
    parser.addoption(
        "--list-engine-scopes", action="store_true", help="print each collected test with its engine scope, run none"
    )


def engine_scope(item) -> str:
    """The test's engine scope: its closest `engines` mark, else `both`."""
    marker = item.get_closest_marker("engines")
    if marker is None:
        return "both"
    if len(marker.args) != 1 or marker.args[0] not in ENGINE_SCOPES:
        raise pytest.UsageError(f"{item.nodeid}: engines() takes one of {', '.join(ENGINE_SCOPES)}")
    return marker.args[0]


def current_engine() -> str:
    from django.conf import settings

    return "postgresql" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "sqlite"


def selected_by_engine(scope: str, engine: str, second_engine: bool) -> bool:
    """Whether a test of this scope runs in this pass."""
    if second_engine:
        return scope in ("both", "sqlite")
    if scope in ("postgresql", "sqlite"):
        return engine == scope
    return True


def pytest_collection_modifyitems(session, config, items):
    engine, second = current_engine(), config.getoption("--second-engine")
    keep, dropped = [], []
    for item in items:
        scope = engine_scope(item)
        item.user_properties.append(("engine_scope", scope))
        (keep if selected_by_engine(scope, engine, second) else dropped).append(item)
    if config.getoption("--list-engine-scopes"):
        for item in items:
            print(f"ENGINE-SCOPE {engine_scope(item)} {int(item in keep)} {item.nodeid}")
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        config._tracker_not_run = (engine, second, len(dropped))


def pytest_report_header(config):
    return f"database engine: {current_engine()}" + (
        " (second pass: engine-dependent tests only)" if config.getoption("--second-engine") else ""
    )


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: hand the fuzz tally to the controller
        workeroutput["fuzz_tally"] = tally.export()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    data = getattr(node, "workeroutput", {}).get("fuzz_tally")
    if data:
        tally.merge(data)


def pytest_terminal_summary(terminalreporter, config):
    """The fuzz tally (every case tried and every server error found, also written to
    FUZZ_REPORT, a JSON file, when that is set), and what this pass did not run."""
    lines = tally.summary_lines()
    if lines:
        terminalreporter.write_sep("-", "fuzz")
        for line in lines:
            terminalreporter.write_line(line)
        if os.environ.get("FUZZ_REPORT"):
            with open(os.environ["FUZZ_REPORT"], "w") as out:
                data = tally.export()
                json.dump({"cases": data["cases"], "total": sum(data["cases"].values()),
                           "server_errors": data["server_errors"]}, out, indent=1)  # fmt: skip
    not_run = getattr(config, "_tracker_not_run", None)
    if not_run:
        engine, second, count = not_run
        if second:
            reason = "they do not depend on the database engine and ran in the PostgreSQL pass"
        elif engine == "postgresql":
            reason = "they test SQLite's own paths and run in the SQLite pass"
        else:
            reason = "they need PostgreSQL: set DATABASE_URL=postgres://... to run them"
        terminalreporter.write_line(f"{count} tests not run on {engine}: {reason}")


def worker_number() -> int:
    """0 for the first pytest-xdist worker (or no xdist), 1 for the second, ..."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts from an empty cache: the API's response cache is keyed on a data
    version that a test's rolled-back writes never move, and the throttles count there."""
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _reset_language():
    """A request to a Japanese page (/ja/...) leaves Japanese active in the test's thread
    (LocaleMiddleware does not undo it): put the default back, so no test depends on the
    order the suite runs in."""
    yield
    translation.deactivate()


def _staff(django_user_model, username, group=None, **extra):
    user = django_user_model.objects.create_user(
        username=username, email=f"{username}@example.org", password=PASSWORD, is_staff=True, **extra
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def viewer(db, django_user_model):
    """Vera: staff, in the Viewers group; may read everything, change nothing."""
    return _staff(django_user_model, "vera", "Viewers")


@pytest.fixture
def editor(db, django_user_model):
    """Ed: staff, in the Editors group; may change data but not users."""
    return _staff(django_user_model, "ed", "Editors")


@pytest.fixture
def reviewer(db, django_user_model):
    """Rita: staff, in the Reviewers group; may read everything and approve or send back
    what waits for review, change nothing else."""
    return _staff(django_user_model, "rita", "Reviewers")


@pytest.fixture
def other_editor(db, django_user_model):
    """Eve: a second editor, for concurrent edits."""
    return _staff(django_user_model, "eve", "Editors")


@pytest.fixture
def administrator(db, django_user_model):
    """Ada: a superuser; the only persona who manages users."""
    return _staff(django_user_model, "ada", is_superuser=True)


def make_liaison(username, partners):
    """A partner's liaison officer: not staff, in the Liaisons group, linked to `partners`."""
    from django.contrib.auth import get_user_model

    from partners.models import LIAISONS_GROUP, Liaison

    user = get_user_model().objects.create_user(username=username, email=f"{username}@example.org", password=PASSWORD)
    user.groups.add(Group.objects.get(name=LIAISONS_GROUP))
    for partner in partners:
        Liaison.objects.create(user=user, partner=partner)
    return user


# What a test's writer says of a change: every change to a published record needs a reason
# (README, "Review before publish"; tests/projects/test_review_workflow.py proves the rule).
TEST_REASON = "Test change"


def with_reason(client):
    """`client`, sending a change reason (X-Change-Reason) with every request."""
    client.defaults["HTTP_X_CHANGE_REASON"] = TEST_REASON
    return client


def withdraw_in_admin(client, obj):
    """Withdraw a published record to draft through the admin's list action, as an editor
    does before deleting it (a published record is not deleted)."""
    from django.urls import reverse

    meta = obj._meta
    data = {"action": "withdraw_selected", "_selected_action": [obj.pk], "review_confirmed": "yes",
            "review_text": "Withdrawn to delete it"}  # fmt: skip
    client.post(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), data)
    obj.refresh_from_db()
    assert not obj.published


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def anonymous_client():
    return Client()


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def editor_client(editor):
    return _client_for(editor)


@pytest.fixture
def other_editor_client(other_editor):
    return _client_for(other_editor)


@pytest.fixture
def administrator_client(administrator):
    return _client_for(administrator)


@pytest.fixture
def source(db):
    return Source.objects.create(slug="test-source", title="A test source", year=2020)


@pytest.fixture
def program(db):
    return Program.objects.create(name="Capacity building assistance", slug="capacity-building", start_year=2012)


@pytest.fixture
def field(db):
    return Field.objects.create(name="HA/DR", slug="ha-dr")


@pytest.fixture
def partner(db):
    return Partner.objects.create(
        name="Vietnam", slug="vietnam", country="VN", region=Partner.Region.SOUTHEAST_ASIA, asean_member=True
    )


@pytest.fixture
def project(db, program, field, partner, source):
    """A published project, 2013-2015, with one activity and citations."""
    project = Project.objects.create(
        title="HA/DR for Vietnam",
        slug="ha-dr-vietnam",
        program=program,
        start_year=2013,
        end_year=2015,
        publication_state="published",
    )
    project.partners.add(partner)
    project.fields.add(field)
    Citation.objects.create(source=source, section="Table", excerpt="HA/DR (2014)", project=project)
    report = StatusReport.objects.create(project=project, status="completed", year=2015)
    Citation.objects.create(source=source, section="Table", excerpt="completed in 2015", status_report=report)
    project.refresh_from_db()
    activity = Activity.objects.create(project=project, title="HA/DR seminar", kind=Activity.Kind.SEMINAR, year=2014)
    Citation.objects.create(source=source, section="Table", excerpt="seminar", activity=activity)
    return project


@pytest.fixture
def draft_project(db, program, field, partner):
    """An unpublished project: nobody but staff may see it."""
    project = Project.objects.create(
        title="Secret draft plan", slug="secret-draft-plan", program=program, start_year=2021, publication_state="draft"
    )
    project.partners.add(partner)
    project.fields.add(field)
    return project


def make_project(
    slug, title, program, partners, fields, start, end, status="completed", published=True, as_of=None, **extra
):
    """A project with its partners and fields, for the tests' small worlds; its status a
    status report's, as of `as_of` (else its end year, else its start year, else 2015)."""
    project = Project.objects.create(
        slug=slug,
        title=title,
        program=program,
        start_year=start,
        end_year=end,
        publication_state=PublicationState.PUBLISHED if published else PublicationState.DRAFT,
        **extra,
    )
    project.partners.set(partners)
    project.fields.set(fields)
    if status != Project.Status.NOT_REPORTED:
        StatusReport.objects.create(project=project, status=status, year=as_of or end or start or 2015)
        project.refresh_from_db()
    return project
