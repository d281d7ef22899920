"""Workflow writes shared by the admin (bulk actions) and the API. Publishing is
core.review's: submit, approve, send back, withdraw."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from projects.models import StatusReport


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
