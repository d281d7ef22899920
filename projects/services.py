"""Workflow writes shared by the admin (bulk actions) and the API."""

from django.db import transaction
from django.db.models import QuerySet

from projects.models import Project


def _save_each(*, projects: QuerySet, user, reason: str, **changes) -> int:
    """Apply `changes` to each project that needs them, one save each, so every change
    bumps the version (optimistic locking) and gets a history record with its user."""
    changed = 0
    with transaction.atomic():
        for project in projects.select_for_update().order_by("pk"):
            if all(getattr(project, name) == value for name, value in changes.items()):
                continue
            for name, value in changes.items():
                setattr(project, name, value)
            project._history_user = user
            project._change_reason = reason
            project.save()
            changed += 1
    return changed


def project_publish(*, projects: QuerySet, user) -> int:
    return _save_each(projects=projects, user=user, reason="Published", published=True)


def project_unpublish(*, projects: QuerySet, user) -> int:
    return _save_each(projects=projects, user=user, reason="Unpublished", published=False)


def project_set_status(*, projects: QuerySet, status: str, user) -> int:
    if status not in Project.Status.values:
        raise ValueError(f"status: {status!r} is not one of {', '.join(Project.Status.values)}")
    return _save_each(projects=projects, user=user, reason=f"Status set to {status}", status=status)
