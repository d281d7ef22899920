"""Workflow writes shared by the admin (bulk actions) and the API."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from projects.models import StatusReport


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


def project_set_status(*, projects: QuerySet, status: str, user, as_of=None) -> int:
    """A status report for each project whose current status is not `status` already: as
    of `as_of` (a date; today by default), entered by `user`, with no citation yet (staff
    add one on the report). Returns how many projects got one."""
    reported = [value for value, _label in StatusReport.REPORTED]
    if status not in reported:
        raise ValueError(f"status: {status!r} is not one of {', '.join(reported)}")
    as_of = as_of or timezone.localdate()
    changed = 0
    with transaction.atomic():
        for project in projects.select_for_update().order_by("pk"):
            if project.status == status:
                continue
            report = StatusReport(
                project=project, status=status, year=as_of.year, month=as_of.month, day=as_of.day, entered_by=user
            )
            report._history_user = user
            report._change_reason = f"Status set to {status}"
            report.save()
            changed += 1
    return changed
