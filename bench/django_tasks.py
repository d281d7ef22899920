"""The harnesses' Django code: what bench/run.py, bench/stress.py and bench/fuzz_api.py need
from the tracker's own models. Run by bench/tasks.py, which sets Django up first."""

from django.contrib.auth.models import Group, User
from django_countries import countries
from rest_framework.authtoken.models import Token

from core.api.pagination import encode_cursor
from partners.models import LIAISONS_GROUP, Liaison, Partner
from projects.models import PROJECT_CURSOR_KEYS, Field, Program, Project

__all__ = ["display_names", "editor_token", "last_cursor", "liaison_token", "stress_project", "stress_project_state"]

STRESS_PROJECT = "stress-project"


def editor_token(*, username: str) -> str:
    """The API token of the staff editor `username`, created with the user if need be."""
    user = User.objects.filter(username=username).first() or User.objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def liaison_token(*, username: str, partner: str) -> str:
    """The API token of `username`, a liaison officer (not staff) of the partner with slug
    `partner`, created with the user if need be; and, so that the liaison has something of
    its own to read, the first published project of that partner made releasable to it."""
    user = User.objects.filter(username=username).first() or User.objects.create_user(username)
    user.groups.add(Group.objects.get(name=LIAISONS_GROUP))
    target = Partner.objects.get(slug=partner)
    Liaison.objects.get_or_create(user=user, partner=target)
    project = Project.objects.filter(partners=target, published=True).order_by("slug").first()
    if project is not None:
        project.releasability, project.releasable_to = "partners", [target.pk]
        project._change_reason = "Releasable to the fuzzing liaison"
        project.save()
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def display_names() -> dict:
    """Country names and status labels as the API writes them, for the raw app."""
    return {
        "countries": {c.code: str(c.name) for c in countries},
        "status": {k: str(v) for k, v in Project.Status.choices},
    }


def last_cursor(*, page_size: int) -> str:
    """The cursor of the unfiltered public list's last page, made with the API's own cursor
    order and encoding."""
    names = [f"_k{i}" for i in range(len(PROJECT_CURSOR_KEYS))]
    rows = Project.objects.public().annotate(**dict(zip(names, PROJECT_CURSOR_KEYS, strict=True))).order_by(*names)
    total = rows.count()
    before_last = rows.values_list(*names)[max(total - page_size - 1, 0)]
    return encode_cursor(list(before_last))


def stress_project() -> None:
    """The published project the stress harness's clients all write, made anew."""
    partner, _ = Partner.objects.get_or_create(
        slug="stress-partner", defaults={"name": "Stress partner", "country": "VN", "region": "southeast_asia"}
    )
    field, _ = Field.objects.get_or_create(slug="stress-field", defaults={"name": "Stress field"})
    program, _ = Program.objects.get_or_create(slug="stress-program", defaults={"name": "Stress program"})
    Project.objects.filter(slug=STRESS_PROJECT).delete()
    project = Project.objects.create(
        slug=STRESS_PROJECT, title="Stress project", program=program, start_year=2020, publication_state="published"
    )
    project.partners.add(partner)
    project.fields.add(field)


def stress_project_state() -> dict:
    """The stress project's history record count, description and version."""
    project = Project.objects.get(slug=STRESS_PROJECT)
    return {"history": project.history.count(), "description": project.description, "version": project.version}
