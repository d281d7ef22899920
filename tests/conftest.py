"""Shared fixtures: the personas (anonymous, viewer, editor, administrator) and a small,
known data set built in code (the seed fixtures are tested on their own)."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, Source

PASSWORD = "correct-horse-battery-staple"


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
def other_editor(db, django_user_model):
    """Eve: a second editor, for concurrent edits."""
    return _staff(django_user_model, "eve", "Editors")


@pytest.fixture
def administrator(db, django_user_model):
    """Ada: a superuser; the only persona who manages users."""
    return _staff(django_user_model, "ada", is_superuser=True)


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
        status=Project.Status.COMPLETED,
        published=True,
    )
    project.partners.add(partner)
    project.fields.add(field)
    Citation.objects.create(source=source, section="Table", excerpt="HA/DR (2014)", project=project)
    activity = Activity.objects.create(project=project, title="HA/DR seminar", kind=Activity.Kind.SEMINAR, year=2014)
    Citation.objects.create(source=source, section="Table", excerpt="seminar", activity=activity)
    return project


@pytest.fixture
def draft_project(db, program, field, partner):
    """An unpublished project: nobody but staff may see it."""
    project = Project.objects.create(
        title="Secret draft plan", slug="secret-draft-plan", program=program, start_year=2021, published=False
    )
    project.partners.add(partner)
    project.fields.add(field)
    return project


def make_project(slug, title, program, partners, fields, start, end, status="completed", published=True, **extra):
    """A project with its partners and fields, for the tests' small worlds."""
    project = Project.objects.create(
        slug=slug,
        title=title,
        program=program,
        start_year=start,
        end_year=end,
        status=status,
        published=published,
        **extra,
    )
    project.partners.set(partners)
    project.fields.set(fields)
    return project
