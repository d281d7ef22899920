"""Admin forms: optimistic locking for records two editors may open at once, and the
spreadsheet import form that refuses a file it cannot import, saying why."""

from django.core.validators import MaxValueValidator, MinValueValidator

from core.forms import OptimisticLockForm
from projects.models import Activity, ProgramEvent, StatusReport


class PartialDateForm(OptimisticLockForm):
    """A record dated to the source's precision (core.models.PartialDateModel): its month
    and day are checked against their ranges as form fields, so an impossible one (month
    2016) is reported beside its field and never reaches the record, whose name (shown
    with the form's errors) formats its date."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, high in (("month", 12), ("day", 31)):
            if name in self.fields:
                self.fields[name].validators += [MinValueValidator(1), MaxValueValidator(high)]
                self.fields[name].widget.attrs.update({"min": 1, "max": high})


class StatusReportForm(PartialDateForm):
    class Meta:
        model = StatusReport
        fields = ["project", "status", "year", "month", "day", "slug", "note", "releasability", "releasable_to"]


class ActivityForm(PartialDateForm):
    class Meta:
        model = Activity
        # The admin narrows this to its own `fields` (the inline shows fewer).
        fields = ["project", "title", "slug", "kind", "year", "month", "day", "location", "location_country",
                  "description", "staff_note", "releasability", "releasable_to"]  # fmt: skip


class ProgramEventForm(PartialDateForm):
    class Meta:
        model = ProgramEvent
        fields = ["program", "title", "slug", "kind", "year", "month", "day", "location", "location_country",
                  "description", "staff_note"]  # fmt: skip
