from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Max, Q, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from core.cache.version import data_changed
from core.cache.version import watch as watch_data_version
from core.dates import activity_date_display, iso_date
from core.models import (
    LinkIdsField,
    PartialDateModel,
    PublishableQuerySet,
    ReferenceModel,
    Releasability,
    ReleasableModel,
    ReviewedModel,
    SlugManager,
    TimestampedModel,
    VersionedModel,
    partial_date_constraints,
    released_condition,
    review_constraints,
    year_in_range,
)
from partners.models import Partner
from projects import citations as citation_check

# The order of the API's cursor pages of projects: the default order (start year, title)
# with years not stated last on every database (as 32767, past any year), then the id,
# so that every project has exactly one place.
PROJECT_CURSOR_KEYS = (
    Coalesce("start_year", Value(32767), output_field=models.IntegerField()),
    F("title"),
    F("id"),
)


# A record's note for staff: never on the public site, in the search index, in exports or
# in API answers to anyone but staff (core.api.serializers.ModelRulesSerializer).
STAFF_NOTE_HELP = _(
    "For staff only, never shown to the public: where the sources contradict each other or "
    "themselves, or state something known to be wrong, say so here and cite both passages."
)

# The last year a project counts as active in (Project.active_until): its end year; for an
# open-ended project the year of its latest evidence, never before its start; none without
# a start year. This one rule is what "active in a year" means on every page, report and
# API answer (README, "The data model"); project_active_until() is the same in Python.
ACTIVE_UNTIL = Case(
    When(start_year__isnull=True, then=Value(None)),
    When(end_year__isnull=False, then=F("end_year")),
    default=Greatest(F("start_year"), Coalesce(F("evidence_year"), F("start_year"))),
    output_field=models.IntegerField(null=True),
)


class Field(ReferenceModel, VersionedModel):
    """A thematic area of assistance: HA/DR, maritime security, PKO, underwater medicine..."""

    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    class Meta(ReferenceModel.Meta):
        verbose_name = _("field")
        verbose_name_plural = _("fields")

    def get_absolute_url(self):
        return reverse("projects:field-detail", kwargs={"slug": self.slug})


class Program(ReferenceModel, VersionedModel):
    """A framework projects run under: the MOD capacity building assistance program, the
    Vientiane Vision, the ADMM-Plus Experts' Working Groups, ..."""

    start_year = models.PositiveSmallIntegerField(
        _("start year"), null=True, blank=True, help_text=_("The year the program began, where a source states it.")
    )
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    class Meta(ReferenceModel.Meta):
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        constraints = [
            year_in_range("start_year", _("Start year must be between %(min)s and %(max)s.")),
        ]

    def get_absolute_url(self):
        return reverse("projects:program-detail", kwargs={"slug": self.slug})


def validate_source_filename(value):
    if value and citation_check.source_path(value) is None:
        raise ValidationError(
            _("Enter a file name in SOURCES_DIR, without folders (for example 000_89ed16d3c4fe2a14.txt)."),
            code="invalid",
        )


class Source(VersionedModel):
    """A document the tracker's records come from."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=500)
    author = models.CharField(_("author"), max_length=300, blank=True)
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    year = models.PositiveSmallIntegerField(_("year of publication"), null=True, blank=True)
    filename = models.CharField(
        _("file name"),
        max_length=200,
        blank=True,
        validators=[validate_source_filename],
        help_text=_(
            "The plain-text copy in SOURCES_DIR (a file name, no folders). Citations of a source with no "
            "copy on file cannot be checked and are shown as not verified."
        ),
    )
    url = models.URLField(_("URL"), blank=True)
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()
    objects = SlugManager()

    class Meta:
        ordering = ["year", "title"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        renamed = self._filename_changed()
        super().save(*args, **kwargs)
        if renamed:  # a text changed in place is verify_citations' to find
            self.citations.all().recheck()

    def natural_key(self):
        return (self.slug,)

    def _filename_changed(self) -> bool:
        if self.pk is None:
            return False  # a new source has no citations yet
        stored = type(self)._base_manager.filter(pk=self.pk).values_list("filename", flat=True).first()
        return stored != self.filename

    def clean(self):
        """A text copy named here must hold every citation of this source already saved."""
        super().clean()
        if not self.filename or citation_check.source_path(self.filename) is None or not self._filename_changed():
            return
        failing = []
        for citation in self.citations.all():
            try:
                citation_check.check_citation(self, citation.section, citation.excerpt)
            except ValidationError:
                failing.append(citation)
        if failing:
            raise ValidationError(
                {
                    "filename": _(
                        "%(count)d citation(s) of this source do not occur in that text (the first: %(first)s). "
                        "Correct them first, or name the right file."
                    )
                    % {"count": len(failing), "first": f"#{failing[0].pk}, “{failing[0].excerpt[:60]}”"}
                }
            )


def status_with_date(status, year, month=None, day=None) -> str:
    """A status with the date it is known as of ("Ongoing, as of June 2015"), as every
    surface shows it; the status alone when no report dates it ("Not reported")."""
    label = Project.Status(status).label
    if year is None:
        return str(label)
    return _("%(status)s, as of %(date)s") % {"status": label, "date": activity_date_display(year, month, day)}


def project_years_display(start_year, end_year) -> str:
    """A project's span as shown everywhere ("2013–2015", "2017–"); a function of the two
    years, so lists built from values() rows show it exactly as the model does."""
    if start_year is None:
        return _("years not stated") if end_year is None else f"–{end_year}"
    if end_year is None:
        return f"{start_year}–"
    if end_year == start_year:
        return str(start_year)
    return f"{start_year}–{end_year}"


class PartnerRole(models.TextChoices):
    """A partner's part in a project, as the sources state it."""

    RECIPIENT = "recipient", _("Recipient")  # the partner the assistance or co-operation is for
    HOST = "host", _("Host")  # hosted the event, which Japan took part in
    CO_HOST = "co_host", _("Co-host")  # hosted it with Japan
    CO_CHAIR = "co_chair", _("Co-chair")  # chaired a body with Japan (an ADMM-Plus working group)
    PARTICIPANT = "participant", _("Participant")  # took part with Japan (an exercise)
    VENUE = "venue", _("Venue")  # only the country where it took place


# The roles that filters and counts count by default, wherever they are met (API, public
# pages, reports, IATI): every role but venue. A country that only hosted the place of an
# event is not a partner in it; the `partner_role` filter asks for other roles.
COUNTED_ROLES = tuple(role for role in PartnerRole.values if role != PartnerRole.VENUE)


class ProjectPartner(models.Model):
    """A project's link to one of its partners, with the partner's role in it. One row per
    partner and project (the table Django created for the plain link, with the role added
    in migration 0018)."""

    project = models.ForeignKey("Project", verbose_name=_("project"), on_delete=models.CASCADE)
    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE)
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=PartnerRole.choices,
        default=PartnerRole.RECIPIENT,
        db_default=PartnerRole.RECIPIENT,
        help_text=_("Venue: only the country where it took place (not counted as a partner by default)."),
    )

    class Meta:
        db_table = "projects_project_partners"
        unique_together = [("project", "partner")]
        verbose_name = _("project partner")
        verbose_name_plural = _("project partners")

    def __str__(self):
        if self.role == PartnerRole.RECIPIENT:
            return f"{self.project} – {self.partner}"
        return f"{self.project} – {self.partner} ({self.get_role_display()})"


class ProjectQuerySet(PublishableQuerySet):
    """Published projects for everyone, drafts too for staff; and the years they run."""

    def active_in(self, year):
        """Projects active in the given year: start year <= year <= active_until (the end
        year, or for an open-ended project the year of its latest evidence).

        A project whose start year the sources do not state is not counted in any year."""
        return self.filter(active_until__gte=year, start_year__lte=year)


class Project(TimestampedModel, VersionedModel, ReviewedModel):
    """A program's work with one or more partners in one or more fields over a span of years."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ONGOING = "ongoing", _("Ongoing")
        COMPLETED = "completed", _("Completed")
        SUSPENDED = "suspended", _("Suspended")
        CANCELLED = "cancelled", _("Cancelled")
        # No status report: the tracker does not guess one.
        NOT_REPORTED = "not_reported", _("Not reported")

    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=150, unique=True)
    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="projects")
    # Each partner with its role in the project (ProjectPartner): the partner the work is
    # for, a co-organiser, or only the country where it took place.
    partners = models.ManyToManyField(
        Partner, verbose_name=_("partners"), related_name="projects", through=ProjectPartner
    )
    # Optional: some sources describe a project (an exercise, a memorandum) without naming
    # a thematic field, and the tracker does not invent one.
    fields = models.ManyToManyField(Field, verbose_name=_("fields"), related_name="projects", blank=True)
    start_year = models.PositiveSmallIntegerField(
        _("start year"),
        null=True,
        blank=True,
        help_text=_("Leave empty only where the sources do not state when the project began."),
    )
    end_year = models.PositiveSmallIntegerField(
        _("end year"), null=True, blank=True, help_text=_("Leave empty while the project has no set end.")
    )
    # The project's latest status report (StatusReport), kept here by refresh_latest() so
    # lists, filters and reports read one row: its status and the date it is known as of.
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NOT_REPORTED, editable=False
    )
    status_year = models.PositiveSmallIntegerField(_("status as of (year)"), null=True, editable=False)
    status_month = models.PositiveSmallIntegerField(_("status as of (month)"), null=True, editable=False)
    status_day = models.PositiveSmallIntegerField(_("status as of (day)"), null=True, editable=False)
    # The year of the latest evidence (status report, activity, or the publication of a
    # cited source), kept by refresh_latest(); and the last year the project counts as
    # active in, which the database computes from the years on every write, however made
    # (ACTIVE_UNTIL: its end year, or for an open-ended project that evidence year), so
    # "active in" is one indexed comparison that cannot go stale.
    evidence_year = models.PositiveSmallIntegerField(_("latest evidence (year)"), null=True, editable=False)
    active_until = models.GeneratedField(
        expression=ACTIVE_UNTIL,
        output_field=models.IntegerField(null=True),
        db_persist=True,
        verbose_name=_("counted as active until"),
    )
    cooperating_countries = CountryField(
        _("co-operating countries"),
        multiple=True,
        blank=True,
        help_text=_("Other countries providing assistance alongside Japan (the US, Australia, the UK...)."),
    )
    description = models.TextField(_("description"), blank=True)
    staff_note = models.TextField(_("note for staff"), blank=True, help_text=STAFF_NOTE_HELP)
    # Title, description and the names of partners and fields, kept up to date by
    # projects.signals; the full-text index (PostgreSQL) and the SQLite fallback read it.
    search_document = models.TextField(editable=False, blank=True, default="")
    # The ids of the project's partners and fields, kept by PostgreSQL (projects.facets)
    # so the list filters are answered inside an index.
    partner_ids = LinkIdsField()
    field_ids = LinkIdsField()

    history = HistoricalRecords(
        m2m_fields=[partners, fields],
        excluded_fields=["search_document", "partner_ids", "field_ids", "evidence_year", "active_until"],
    )
    objects = SlugManager.from_queryset(ProjectQuerySet)()

    class Meta:
        ordering = ["start_year", "title"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        permissions = [("review_project", _("Can approve or send back projects in review"))]
        indexes = [
            models.Index(fields=["status"], name="projects_project_status_idx"),
            models.Index(fields=["start_year", "active_until"], name="projects_project_years_idx"),
            models.Index(fields=["published", "start_year"], name="projects_project_pub_start_idx"),
            # Every ordering the lists offer, so a page is read in order rather than sorted.
            models.Index(fields=["start_year", "title", "id"], name="projects_project_order_idx"),
            # The public default order with the "active in" test inside the index: a filtered
            # page skips the projects of other years without reading their rows.
            models.Index(
                fields=["start_year", "title", "active_until"],
                name="projects_project_active_idx",
                condition=Q(published=True, releasability="public"),
            ),
            models.Index(fields=["title"], name="projects_project_title_idx"),
            models.Index(fields=["end_year"], name="projects_project_end_year_idx"),
            models.Index(fields=["updated"], name="projects_project_updated_idx"),
            # The API's cursor order: a cursor page is a range scan of this index.
            models.Index(*PROJECT_CURSOR_KEYS, name="projects_project_cursor_idx"),
        ]
        constraints = [
            *review_constraints(),
            year_in_range("start_year", _("Start year must be between %(min)s and %(max)s.")),
            year_in_range("end_year", _("End year must be between %(min)s and %(max)s.")),
            models.CheckConstraint(
                condition=Q(end_year__isnull=True) | Q(start_year__isnull=True) | Q(end_year__gte=F("start_year")),
                name="%(app_label)s_%(class)s_end_year_not_before_start_year",
                violation_error_message=_("End year cannot be before start year."),
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # A save writes the status columns as this copy holds them (a revert's copy holds
        # those of its version): they are set back to the latest report's and evidence's.
        self.refresh_latest()

    def get_absolute_url(self):
        return reverse("projects:project-detail", kwargs={"slug": self.slug})

    def review_histories(self):
        # The project's parts are its content too: whoever last changed one of them made
        # the latest change a reviewer approves.
        return [
            self.history.all(),
            Activity.history.filter(project_id=self.pk),
            StatusReport.history.filter(project_id=self.pk),
            Citation.history.filter(project_id=self.pk),
        ]

    def natural_key(self):
        return (self.slug,)

    def clean(self):
        errors = {}
        if self.end_year is not None and self.start_year is not None and self.end_year < self.start_year:
            errors["end_year"] = _("End year (%(end)s) cannot be before start year (%(start)s).") % {
                "end": self.end_year,
                "start": self.start_year,
            }
        errors.update(self.release_errors())
        if self.pk and not errors:
            outside = self.activities.filter(self._outside_span_q())
            first = outside.order_by("year").first()
            if first is not None:
                early = self.start_year is not None and first.year < self.start_year
                errors["start_year" if early else "end_year"] = _(
                    "The activity “%(activity)s” (%(year)s) would fall outside the project's years."
                ) % {"activity": first.title, "year": first.year}
        if errors:
            raise ValidationError(errors)

    def _outside_span_q(self):
        q = Q(pk__in=[])
        if self.start_year is not None:
            q |= Q(year__lt=self.start_year)
        if self.end_year is not None:
            q |= Q(year__gt=self.end_year)
        return q

    def covers_year(self, year):
        """Whether an activity in this year lies inside the project's span."""
        if self.start_year is not None and year < self.start_year:
            return False
        return self.end_year is None or year <= self.end_year

    @property
    def years_display(self) -> str:
        return project_years_display(self.start_year, self.end_year)

    @property
    def status_as_of(self) -> str:
        """The date the current status is known as of, ISO 8601 to its precision ("2015",
        "2015-06"); "" when no report says."""
        return iso_date(self.status_year, self.status_month, self.status_day)

    @property
    def status_as_of_display(self) -> str:
        return (
            ""
            if self.status_year is None
            else activity_date_display(self.status_year, self.status_month, self.status_day)
        )

    @property
    def status_with_date(self) -> str:
        """ "Ongoing, as of June 2015": the latest status report's; "Not reported" without one."""
        return status_with_date(self.status, self.status_year, self.status_month, self.status_day)

    @classmethod
    def refresh_latest_of(cls, ids, using=None):
        """refresh_latest() for many projects at once (a bulk import's, a source's new
        year): a few queries for all of them, one update per project that changed."""
        ids = list(ids)
        if not ids:
            return 0
        latest = {}
        reports = (
            StatusReport.objects.using(using)
            .filter(project__in=ids, releasability=Releasability.PUBLIC)
            .order_by("project", *STATUS_REPORT_LATEST_FIRST)
        )
        for report in reports.only("project_id", "status", "year", "month", "day"):
            latest.setdefault(report.project_id, report)
        evidence = _evidence_years(ids, using)
        fields = ["status", "status_year", "status_month", "status_day", "evidence_year"]
        changed = []
        for project in cls.objects.using(using).filter(pk__in=ids).only("pk", *fields):
            values = _latest_values(latest.get(project.pk), evidence.get(project.pk))
            if any(getattr(project, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(project, name, value)
                changed.append(project)
        if changed:
            cls.objects.using(using).bulk_update(changed, fields, batch_size=500)
            data_changed(using=using)
        return len(changed)

    def partner_links(self):
        """{partner id: role} of the project's partners."""
        return dict(ProjectPartner.objects.filter(project=self).values_list("partner_id", "role"))

    def set_partners(self, links):
        """Make the project's partners `links`, an iterable of (partner, role): links not
        in it are removed and new ones added through the many-to-many manager (its
        signals keep the search document), and a role that changed is saved on its row
        (the data version follows; a caller's OneHistoryEntry records the links as they
        end; on PostgreSQL the link ids follow by trigger)."""
        wanted = {partner.pk: role for partner, role in links}
        have = {link.partner_id: link for link in ProjectPartner.objects.filter(project=self)}
        gone = [pid for pid in have if pid not in wanted]
        if gone:
            self.partners.remove(*gone)
        added = defaultdict(list)
        for pid, role in wanted.items():
            link = have.get(pid)
            if link is None:
                added[role].append(pid)
            elif link.role != role:
                link.role = role
                link.save(update_fields=["role"])
        for role, pids in added.items():
            self.partners.add(*pids, through_defaults={"role": role})

    def refresh_latest(self):
        """Take the status and its date from the latest status report ("not reported" when
        there is none), and the year of the latest evidence; stored without a save of the
        project (its version and history are its own fields', the evidence has its own)."""
        if self.pk is None:
            return
        using = self._state.db
        report = (
            self.status_reports.filter(releasability=Releasability.PUBLIC).order_by(*STATUS_REPORT_LATEST_FIRST).first()
        )
        values = _latest_values(report, _evidence_years([self.pk], using).get(self.pk))
        if all(getattr(self, name) == value for name, value in values.items()):
            return
        for name, value in values.items():
            setattr(self, name, value)
        Project.objects.using(using).filter(pk=self.pk).update(**values)
        self.active_until = project_active_until(self.start_year, self.end_year, self.evidence_year)
        data_changed(using=using)


def _evidence_years(ids, using=None) -> dict[int, int]:
    """The year of each project's latest evidence: its latest status report or activity,
    or the publication year of the latest source any of its citations (its own, its
    activities' and its reports') comes from. One query (a UNION ALL of five groupings).

    Only public evidence counts, here and for the current status (refresh_latest): the
    project's row is read by everyone who may see the project, so what it derives must
    not tell of a report, activity or citation they may not see."""
    public = Releasability.PUBLIC
    parts = [
        StatusReport.objects.filter(project__in=ids, releasability=public)
        .values(ref=F("project_id"))
        .annotate(y=Max("year")),
        Activity.objects.filter(project__in=ids, releasability=public)
        .values(ref=F("project_id"))
        .annotate(y=Max("year")),
    ]
    for path, owner in (
        ("project_id", None),
        ("activity__project_id", "activity"),
        ("status_report__project_id", "status_report"),
    ):
        condition = {f"{path}__in": ids, "releasability": public}
        if owner:
            condition[f"{owner}__releasability"] = public
        parts.append(Citation.objects.filter(**condition).values(ref=F(path)).annotate(y=Max("source__year")))
    parts = [part.using(using).order_by().values_list("ref", "y") for part in parts]
    years = defaultdict(int)
    for pid, year in parts[0].union(*parts[1:], all=True):
        if year is not None and year > years[pid]:
            years[pid] = year
    return dict(years)


def project_active_until(start_year, end_year, evidence_year):
    """ACTIVE_UNTIL in Python: what the database computes into Project.active_until, for a
    copy in memory after its evidence year changed."""
    if start_year is None:
        return None
    if end_year is not None:
        return end_year
    return max(start_year, evidence_year or start_year)


def _latest_values(report, evidence_year):
    """A project's kept columns as its latest report (or None) and evidence give them."""
    status = (
        {"status": Project.Status.NOT_REPORTED, "status_year": None, "status_month": None, "status_day": None}
        if report is None
        else {
            "status": report.status,
            "status_year": report.year,
            "status_month": report.month,
            "status_day": report.day,
        }
    )
    return {**status, "evidence_year": evidence_year}


class ProjectPartQuerySet(PublishableQuerySet):
    """A record of a project's (an activity, a status report) is visible when its project
    is and its own releasability allows."""

    published_lookup = "project__published"
    release_lookups = ("", "project__")


class ProjectPartManager(models.Manager.from_queryset(ProjectPartQuerySet)):
    """Named in fixtures by [project slug, slug]."""

    def get_by_natural_key(self, project_slug, slug):
        return self.get(project__slug=project_slug, slug=slug)


def unique_slug_in_project(record, base, parent="project"):
    """`base`, or `base-2`, `base-3`, ...: the first no other record of the same model and
    parent (`parent`: the foreign key that scopes the slug) has (an activity's slug from
    its title, a status report's from its date, a program event's from its title)."""
    slug, n = base, 2
    scope = {f"{parent}_id": getattr(record, f"{parent}_id")}
    siblings = type(record).objects.filter(**scope).exclude(pk=record.pk)
    while siblings.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


class Activity(TimestampedModel, VersionedModel, PartialDateModel, ReleasableModel):
    """What a project did and when, to the precision the source gives: a year, a month or
    a day (core.models.PartialDateModel: a year stays a year)."""

    class Kind(models.TextChoices):
        SEMINAR = "seminar", _("Seminar")
        TRAINING = "training", _("Training")
        EXERCISE = "exercise", _("Exercise")
        INVITATION_PROGRAM = "invitation_program", _("Invitation program")
        SHIP_RIDER_PROGRAM = "ship_rider_program", _("Ship rider program")
        EQUIPMENT_TRANSFER = "equipment_transfer", _("Equipment transfer")
        DIALOGUE = "dialogue", _("Dialogue or meeting")
        AGREEMENT = "agreement", _("Agreement or memorandum")
        DEPLOYMENT = "deployment", _("Deployment")
        OTHER = "other", _("Other")

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="activities")
    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(
        _("slug"), max_length=150, blank=True, help_text=_("Unique within the project; made from the title if empty.")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    location = models.CharField(_("location"), max_length=200, blank=True)
    location_country = CountryField(_("country of location"), blank=True)
    description = models.TextField(_("description"), blank=True)
    staff_note = models.TextField(_("note for staff"), blank=True, help_text=STAFF_NOTE_HELP)

    history = HistoricalRecords()
    objects = ProjectPartManager()

    class Meta:
        ordering = [
            "year",
            F("month").asc(nulls_first=True),
            F("day").asc(nulls_first=True),
            "id",
        ]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["year"], name="projects_activity_year_idx"),
            models.Index(fields=["kind"], name="projects_activity_kind_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "slug"],
                name="%(app_label)s_%(class)s_unique_slug_per_project",
                violation_error_message=_("Another activity of this project already has this slug."),
            ),
            *partial_date_constraints(),
        ]

    def __str__(self):
        return f"{self.title} ({self.date_display})"

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug_in_project(self, slugify(self.title)[:140] or "activity")
        super().save(*args, **kwargs)

    def natural_key(self):
        return (*self.project.natural_key(), self.slug)

    natural_key.dependencies = ["projects.project"]

    def clean(self):
        errors = self.date_errors()
        project = self.project if self.project_id else None
        if project is not None and self.year is not None and not project.covers_year(self.year):
            errors["year"] = _("The activity's year (%(year)s) is outside its project's years (%(span)s).") % {
                "year": self.year,
                "span": project.years_display,
            }
        errors.update(self.release_errors())
        if errors:
            raise ValidationError(errors)

    def release_parents(self):
        return [self.project] if self.project_id else []


# The latest report first: the latest date (a year-only date before the months of that
# year), then the one entered last.
STATUS_REPORT_LATEST_FIRST = (
    F("year").desc(),
    F("month").desc(nulls_last=True),
    F("day").desc(nulls_last=True),
    "-id",
)


class StatusReport(TimestampedModel, VersionedModel, PartialDateModel, ReleasableModel):
    """Where a project stood as of a date, to the precision the source gives, as a source
    says (its citations) and as an editor entered it. The project's current status is its
    latest report: every save and delete, fixtures and cascades included, refreshes it
    (projects.signals)."""

    REPORTED = [choice for choice in Project.Status.choices if choice[0] != Project.Status.NOT_REPORTED]

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="status_reports"
    )
    status = models.CharField(_("status"), max_length=20, choices=REPORTED)
    slug = models.SlugField(
        _("slug"),
        max_length=60,
        blank=True,
        help_text=_("Unique within the project; made from the date and the status if empty."),
    )
    note = models.TextField(
        _("note for staff"),
        blank=True,
        help_text=_("For staff only, never shown to the public: how the source puts it, or a doubt."),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    history = HistoricalRecords()
    objects = ProjectPartManager()

    class Meta:
        ordering = ["project", "year", F("month").asc(nulls_first=True), F("day").asc(nulls_first=True), "id"]
        verbose_name = _("status report")
        verbose_name_plural = _("status reports")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "slug"],
                name="%(app_label)s_%(class)s_unique_slug_per_project",
                violation_error_message=_("Another status report of this project already has this slug."),
            ),
            *partial_date_constraints(),
        ]

    def __str__(self):
        return _("%(status)s, as of %(date)s") % {"status": self.get_status_display(), "date": self.date_display}

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug_in_project(self, slugify(f"{self.date_iso}-{self.status}"))
        super().save(*args, **kwargs)

    def natural_key(self):
        return (*self.project.natural_key(), self.slug)

    natural_key.dependencies = ["projects.project"]

    def clean(self):
        errors = self.date_errors()
        errors.update(self.release_errors())
        if errors:
            raise ValidationError(errors)

    def release_parents(self):
        return [self.project] if self.project_id else []


class ProgramEventManager(models.Manager):
    """Named in fixtures by [program slug, slug]."""

    def get_by_natural_key(self, program_slug, slug):
        return self.get(program__slug=program_slug, slug=slug)


class ProgramEvent(TimestampedModel, VersionedModel, PartialDateModel):
    """A dated event of a program itself rather than of one of its projects (the Vientiane
    Vision's announcement, its update), to the precision the source gives. Public, as its
    program is."""

    class Kind(models.TextChoices):
        ANNOUNCEMENT = "announcement", _("Announcement or launch")
        UPDATE = "update", _("Update or revision")
        MEETING = "meeting", _("Meeting")
        OTHER = "other", _("Other")

    program = models.ForeignKey(Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="events")
    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(
        _("slug"), max_length=150, blank=True, help_text=_("Unique within the program; made from the title if empty.")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    location = models.CharField(_("location"), max_length=200, blank=True)
    location_country = CountryField(_("country of location"), blank=True)
    description = models.TextField(_("description"), blank=True)
    staff_note = models.TextField(_("note for staff"), blank=True, help_text=STAFF_NOTE_HELP)

    history = HistoricalRecords()
    objects = ProgramEventManager()

    class Meta:
        ordering = ["program", "year", F("month").asc(nulls_first=True), F("day").asc(nulls_first=True), "id"]
        verbose_name = _("program event")
        verbose_name_plural = _("program events")
        constraints = [
            models.UniqueConstraint(
                fields=["program", "slug"],
                name="%(app_label)s_%(class)s_unique_slug_per_program",
                violation_error_message=_("Another event of this program already has this slug."),
            ),
            *partial_date_constraints(),
        ]

    def __str__(self):
        return f"{self.title} ({self.date_display})"

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug_in_project(self, slugify(self.title)[:140] or "event", parent="program")
        super().save(*args, **kwargs)

    def natural_key(self):
        return (*self.program.natural_key(), self.slug)

    natural_key.dependencies = ["projects.program"]

    def clean(self):
        errors = self.date_errors()
        if errors:
            raise ValidationError(errors)


# The records a citation may support, one each (its foreign keys).
CITATION_TARGETS = ("partner", "field", "program", "program_event", "project", "activity", "status_report")


def _exactly_one_of(names):
    """Exactly one of these nullable foreign keys is set."""
    condition = Q()
    for name in names:
        condition |= Q(**{f"{other}__isnull": other != name for other in names})
    return condition


class CitationQuerySet(PublishableQuerySet):
    def visible_condition(self, partner_ids=frozenset()):
        """A citation is visible when its own releasability allows and the record it
        supports is visible: a partner, a project, or an activity's or status report's
        project (a draft project's citations stay hidden); any field, program or program
        event's citation is public."""
        cited = (
            (Q(project__published=True) & released_condition("project__", partner_ids))
            | (
                Q(activity__project__published=True)
                & released_condition("activity__", partner_ids)
                & released_condition("activity__project__", partner_ids)
            )
            | (
                Q(status_report__project__published=True)
                & released_condition("status_report__", partner_ids)
                & released_condition("status_report__project__", partner_ids)
            )
            | (Q(partner__published=True) & released_condition("partner__", partner_ids))
            | Q(field__isnull=False)
            | Q(program__isnull=False)
            | Q(program_event__isnull=False)
        )
        return released_condition("", partner_ids) & cited

    def recheck(self):
        """Check these citations against their sources' texts again (after a text file was
        added or changed, or a source's file name was edited) and store the outcome.
        Returns (verified, not verified) counts."""
        changed, counts = [], [0, 0]
        for citation in self.select_related("source"):
            verified = citation_check.verified(citation.source, citation.section, citation.excerpt)
            counts[not verified] += 1
            if verified != citation.verified:
                citation.verified = verified
                changed.append(citation)
        if changed:
            self.model.objects.db_manager(self.db).bulk_update(changed, ["verified"], batch_size=500)
            data_changed(using=self.db)  # bulk_update sends no signal
        return tuple(counts)


class Citation(VersionedModel, ReleasableModel):
    """The passage of a source that supports one record: a partner, field, program,
    project or activity (exactly one of them)."""

    source = models.ForeignKey(Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="citations")
    section = models.CharField(
        _("section"), max_length=300, help_text=_("The section heading (and table name) the passage is under.")
    )
    excerpt = models.TextField(_("excerpt"), help_text=_("A short passage quoted from the source, word for word."))
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, null=True, blank=True, related_name="citations", verbose_name=_("partner")
    )
    field = models.ForeignKey(
        Field, on_delete=models.CASCADE, null=True, blank=True, related_name="citations", verbose_name=_("field")
    )
    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, null=True, blank=True, related_name="citations", verbose_name=_("program")
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="citations", verbose_name=_("project")
    )
    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, null=True, blank=True, related_name="citations", verbose_name=_("activity")
    )
    status_report = models.ForeignKey(
        StatusReport,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
        verbose_name=_("status report"),
    )
    program_event = models.ForeignKey(
        ProgramEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
        verbose_name=_("program event"),
    )
    verified = models.BooleanField(
        _("verified"),
        default=False,
        editable=False,
        help_text=_(
            "Whether the excerpt was found, word for word, in the text of its source when the citation was "
            "last saved or checked. A source with no text on file leaves its citations not verified."
        ),
    )

    history = HistoricalRecords()
    objects = CitationQuerySet.as_manager()

    TARGETS = CITATION_TARGETS

    class Meta:
        ordering = ["source", "id"]
        verbose_name = _("citation")
        verbose_name_plural = _("citations")
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one_of(CITATION_TARGETS),
                name="%(app_label)s_%(class)s_exactly_one_target",
                violation_error_message=_(
                    "A citation supports exactly one record: a partner, a field, a program, a program event, "
                    "a project, an activity or a status report."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(excerpt=""),
                name="%(app_label)s_%(class)s_excerpt_not_empty",
                violation_error_message=_("The excerpt cannot be empty."),
            ),
        ]

    def __str__(self):
        return f"{self.source.title}, {self.section}"

    def save(self, *args, **kwargs):
        # Every save checks, including those that did not run clean() (which then leave a
        # citation that does not match its source not verified); after clean() on the
        # same values, its outcome stands.
        checked = getattr(self, "_checked", None)
        if checked is not None and checked[0] == self._check_key():
            self.verified = checked[1]
        else:
            self.verified = self.source_id is not None and citation_check.verified(
                self.source, self.section, self.excerpt
            )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "verified" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "verified"]
        super().save(*args, **kwargs)

    def clean(self):
        """The excerpt must occur in its source's text, under the section heading, where
        the text is on file (projects/citations.py); errors name the field."""
        super().clean()
        if self.source_id is not None and self.excerpt:
            self.verified = citation_check.check_citation(self.source, self.section, self.excerpt)
            self._checked = (self._check_key(), self.verified)

    def _check_key(self):
        source = self.source if self.source_id is not None else None
        return (self.source_id, getattr(source, "filename", None), self.section, self.excerpt)

    def release_parents(self):
        target = self.target
        return [target] if isinstance(target, ReleasableModel) else []

    @property
    def target(self):
        for name in self.TARGETS:
            if getattr(self, f"{name}_id") is not None:
                return getattr(self, name)
        return None


def _link_name(link):
    """A project's link to a field, as the admin's delete confirmation lists it: "HA/DR
    for Vietnam – HA/DR", not "Project_fields object (1)" (a partner link names itself:
    ProjectPartner.__str__)."""
    return f"{link.project} – {link.field}"


# The field link table is Django's own (an auto-created through model): its rows are named here.
Project.fields.through.__str__ = _link_name


# Every write to the tracker's data bumps the data version that the API's caches are
# keyed on (core/cache/version.py), whatever path it takes: API, admin, import, bulk
# action, management command. Connected here, with the models, so every process has it.
watch_data_version(
    Partner,
    Field,
    Program,
    Source,
    Project,
    Activity,
    StatusReport,
    ProgramEvent,
    Citation,
    ProjectPartner,
    Project.fields.through,
)
