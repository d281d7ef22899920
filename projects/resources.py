"""Spreadsheet (CSV/XLSX) import and export of projects and partners, naming related
records by slug.

Optimistic locking holds for imports as for the change form: an export carries each
record's `version`, and a row whose version no longer matches the stored record (someone
saved it since the file was exported) is refused, with nothing of the file imported. A row
with an empty version (or a file without the column: one made by hand) overwrites the
record on purpose. The stored rows are locked while the import runs, so the check and the
write cannot be split by another save.

An import costs as many queries for ten rows as for ten thousand. What the rows need from
the database is read once, before the first row: the records the file names, the related
records its columns name, the values that must stay unique, the stored projects' activity
years, who last changed a record whose version is stale. Each row is then cleaned and
validated in memory, the database's own rules (unique values, check constraints)
included, and a preview writes nothing. The confirmation writes the rows in bulk, doing
what saving each one would have done (model signals are not sent): the version moved on,
a history record with the links, the search document, one bump of the data version.
"""

from django.db.models import Max, Min
from django.utils import timezone
from import_export.fields import Field as Column

from core.resources import (
    AsStored,
    BooleanWidget,
    CountryListWidget,
    SlugForeignKeyWidget,
    SlugIdListWidget,
    SlugManyWidget,
    SlugRoleManyWidget,
    VersionCheckedResource,
)
from partners.models import Partner
from projects.models import Activity, Field, PartnerRole, Program, Project, StatusReport
from projects.search import project_search_document


class ProjectResource(VersionCheckedResource):
    program = Column(attribute="program", column_name="program", widget=SlugForeignKeyWidget(Program))
    # Each partner's slug, with its role after a colon where it is not the recipient:
    # "asean, brunei:venue".
    partners = Column(
        attribute="partners",
        column_name="partners",
        widget=SlugRoleManyWidget(
            Partner, column="role", choices=PartnerRole.values, default=PartnerRole.RECIPIENT.value
        ),
    )
    fields = Column(attribute="fields", column_name="fields", widget=SlugManyWidget(Field))
    cooperating_countries = Column(
        attribute="cooperating_countries", column_name="cooperating_countries", widget=CountryListWidget()
    )
    # Exported beside the status, never imported: the date the status is known as of (its
    # latest report's), so no exported status lacks its date.
    status_as_of = Column(attribute="status_as_of", column_name="status_as_of", readonly=True)
    releasable_to = Column(attribute="releasable_to", column_name="releasable_to", widget=SlugIdListWidget(Partner))
    # Exported, never imported: publishing goes through review (core.review).
    published = Column(attribute="published", column_name="published", readonly=True, widget=BooleanWidget())
    publication_state = Column(attribute="publication_state", column_name="publication_state", readonly=True)

    class Meta:
        model = Project
        fields = [
            "slug", "title", "program", "partners", "fields", "start_year", "end_year", "status", "status_as_of",
            "cooperating_countries", "description", "published", "publication_state", "releasability", "releasable_to",
            "version",
        ]  # fmt: skip
        export_order = fields

    required_columns = ["slug", "title", "program", "partners"]
    computed_fields = ["search_document"]

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # The status is its latest status report's. A cell that gives another is what the
        # bulk "set status" action does: a report as of the day of the import, entered by
        # the importer (after_write); the same status, or an empty cell, changes nothing.
        if field.attribute == "status":
            asked = (row.get(field.column_name) or "").strip()
            current = instance.status if instance.pk is not None else Project.Status.NOT_REPORTED
            reported = [value for value, _label in StatusReport.REPORTED]
            if asked and asked != current:
                if asked not in reported:
                    raise ValueError(f"“{asked}” is not a status a report can give: one of {', '.join(reported)}.")
                instance.status = asked
                instance._asked_status = asked
            return
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    # PostgreSQL keeps each project's partner and field ids on its row, set by triggers on
    # the link tables that rewrite every project a statement links (projects.facets). New
    # projects take their ids first and get their links before themselves: the links'
    # statements then rewrite nothing, the projects' insert reads them, and the links'
    # foreign keys (deferred) are checked at the commit.
    links_first = True

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        stored = [obj.pk for obj in self.stored.values()]
        spans = (
            Activity.objects.filter(project_id__in=stored)
            .values("project_id")
            .annotate(first=Min("year"), last=Max("year"))
            .values_list("project_id", "first", "last")
            if stored
            else []
        )
        self._activity_years = {pk: (first, last) for pk, first, last in spans}

    def clean_instance(self, instance):
        years = self._activity_years.get(instance.pk, ())
        if instance.pk is None or not all(instance.covers_year(year) for year in years):
            instance.clean()  # names the activity that would fall outside
            return
        # Project.clean() looks up a stored project's activities for one outside its
        # years, a query a row; this import read each project's first and last activity
        # year at the start, and none lies outside. Clean it as a record not yet stored.
        pk, instance.pk = instance.pk, None
        try:
            instance.clean()
        finally:
            instance.pk = pk

    def after_write(self, batch, *, created):
        """The status reports the file's status cells asked for (import_field), in bulk:
        one insert, their history, and the projects' statuses (and the years they count in)
        refreshed together."""
        super().after_write(batch, created=created)
        using = self.get_db_connection_name()
        asked = [(p, p._asked_status) for p in batch if getattr(p, "_asked_status", None)]
        if not asked:
            # Written without save(): the years a project counts in follow its new years.
            Project.refresh_latest_of([p.pk for p in batch], using=using)
            return
        today = timezone.localdate()
        taken = set(
            StatusReport.objects.using(using)
            .filter(project__in=[p.pk for p, _ in asked])
            .values_list("project_id", "slug")
        )
        reports = []
        for project, status in asked:
            base = slug = f"{today.isoformat()}-{status}"
            n = 2
            while (project.pk, slug) in taken:
                slug, n = f"{base}-{n}", n + 1
            taken.add((project.pk, slug))
            reports.append(
                StatusReport(
                    project=project, status=status, slug=slug, year=today.year, month=today.month, day=today.day,
                    entered_by=self._user, note="Set by a spreadsheet import.",
                )
            )  # fmt: skip
        StatusReport.objects.using(using).bulk_create(reports)
        StatusReport.history.bulk_history_create(
            reports, default_user=self._user, default_change_reason="Status set by a spreadsheet import"
        )
        Project.refresh_latest_of([p.pk for p in batch], using=using)

    def before_write(self, batch, *, created):
        for project in batch:
            links = {field.name: self.final_links(project, field.name) for field in Project._meta.many_to_many}
            project.search_document = project_search_document(AsStored(project, links))
