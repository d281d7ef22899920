"""What the apps' models share: the years and slugs every record may hold, the abstract
bases (timestamps, a version every save moves forward, reference data named by slug), the
visibility rules of published records, and a field for ids the database keeps on a row."""

import calendar
import json
import re
from collections import defaultdict

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from core.dates import activity_date_display, iso_date
from core.db import JsonIdsIncludeAny, LinkIdArrays
from core.formfields import IdListFormField

# The sane range for every year the tracker holds: the programs it records began in the
# post-war era, and nothing is planned further ahead than this.
MIN_YEAR = 1945


MAX_YEAR = 2100


# What may name a record in a URL, a filter or an API payload (Django's slug characters).
SLUG_RE = re.compile(r"[-a-zA-Z0-9_]+")


class SlugManager(models.Manager):
    """Reference data looked up by slug, so fixtures name records rather than ids."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Releasability(models.TextChoices):
    """Who may see a record besides staff (README, "Who sees what"): everyone once it is
    published, the liaison officers of the partners it names, or staff alone."""

    PUBLIC = "public", _("Public")
    PARTNERS = "partners", _("Releasable to partners")
    INTERNAL = "internal", _("Internal (staff only)")


# How wide each releasability is: a record is never wider than the record it belongs to.
RELEASE_WIDTH = {Releasability.INTERNAL: 0, Releasability.PARTNERS: 1, Releasability.PUBLIC: 2}


class PublicationState(models.TextChoices):
    """Where a record is in review before publish (README, "Review before publish"): an
    editor submits a draft; a reviewer who did not make its latest change approves it
    (published) or sends it back (draft) with a comment; a withdrawn record is a draft."""

    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")


def _liaison(user):
    """None for a user who is not a partner's liaison officer; else the ids of the partners
    they serve (perhaps none). Which users are liaisons, and of which partners, is the
    domain's to say, through the function settings.LIAISON_PARTNERS names (the shared
    layer knows no app); kept on the user object, which lives for one request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not hasattr(user, "_liaison_partner_ids"):
        path = getattr(settings, "LIAISON_PARTNERS", "")
        ids = import_string(path)(user) if path else None
        user._liaison_partner_ids = None if ids is None else frozenset(ids)
    return user._liaison_partner_ids


def is_liaison(user) -> bool:
    """Whether `user` is a partner's liaison officer: never staff, whatever else they hold
    (a liaison put in a staff group by mistake still sees only what a liaison sees)."""
    return _liaison(user) is not None


def liaison_partner_ids(user) -> frozenset:
    """The partners whose releasable records `user` may see as their liaison officer:
    none for anyone else."""
    return _liaison(user) or frozenset()


def released_condition(prefix: str, partner_ids=frozenset()) -> Q:
    """The records (at lookup `prefix`, "" for the queryset's own) released to an audience
    holding the liaison links `partner_ids`: the public ones, and those releasable to one
    of those partners."""
    condition = Q(**{f"{prefix}releasability": Releasability.PUBLIC})
    if partner_ids:
        condition |= Q(
            **{
                f"{prefix}releasability": Releasability.PARTNERS,
                f"{prefix}releasable_to__includes_any": sorted(partner_ids),
            }
        )
    return condition


class PublishableQuerySet(models.QuerySet):
    """The one visibility rule, per audience (README, "Who sees what"):

    - staff (an active user who may view the model) see every record;
    - a partner's liaison officer sees the published records that are public or
      releasable to one of their partners;
    - everyone else sees the published, public records.

    A record's visibility also depends on the records it belongs to (an activity's
    project): the narrowest of them wins. Every view, report, export and feed starts
    from `public()`, `for_user()` or `on_site()`, so none re-types the rule."""

    # Where the flag is: on the record, or on the record it belongs to ("project__published").
    published_lookup = "published"
    # The releasable records whose releasability this one's depends on, as lookup
    # prefixes: "" for the record itself, "project__" for the project it belongs to.
    release_lookups = ("",)

    def visible_condition(self, partner_ids=frozenset()) -> Q:
        """What makes a record visible to an audience that is not staff and holds the
        liaison links `partner_ids` (none: the public)."""
        condition = Q(**{self.published_lookup: True})
        for prefix in self.release_lookups:
            condition &= released_condition(prefix, partner_ids)
        return condition

    def public_condition(self) -> Q:
        """What makes a record public, as a condition on this queryset's model."""
        return self.visible_condition()

    def public(self):
        return self.filter(self.public_condition())

    def sees_drafts(self, user) -> bool:
        """Whether `user` is staff for this model: sees drafts and internal records."""
        opts = self.model._meta
        return (
            user is not None
            and user.is_active
            and user.has_perm(f"{opts.app_label}.{get_permission_codename('view', opts)}")
            and not is_liaison(user)
        )

    def for_user(self, user):
        """What `user` may read through the API: everything for staff; the published
        records released to their partners too for a liaison; the public ones otherwise."""
        if self.sees_drafts(user):
            return self.all()
        return self.on_site(user)

    def on_site(self, user):
        """What the public pages show `user`: the public records, and for a liaison those
        releasable to their partners too. Staff see on the site what the public sees."""
        partner_ids = liaison_partner_ids(user)
        return self.filter(self.visible_condition(partner_ids)) if partner_ids else self.public()

    def released_for(self, user, *, on_site=False):
        """These records as far as their own releasability lets `user` see them, for
        records whose parents the caller already knows `user` may see (the activities of
        projects on a page): everything for staff, unless `on_site` (the public pages,
        where staff see what the public sees)."""
        if not on_site and self.sees_drafts(user):
            return self.all()
        return self.filter(released_condition("", liaison_partner_ids(user)))

    def beyond_public(self, user):
        """The records this user may see and the public may not; None where there can be
        none (the user sees what the public sees)."""
        if self.sees_drafts(user):
            return self.exclude(self.public_condition())
        partner_ids = liaison_partner_ids(user)
        if partner_ids:
            return self.filter(self.visible_condition(partner_ids)).exclude(self.public_condition())
        return None


# A change reason (the admin's form, the API's X-Change-Reason header or change_reason
# field) is at most this long: it is one line of the history, not a document.
CHANGE_REASON_MAX = 500


def release_widened(instance, values) -> bool:
    """Whether writing `values` would show stored `instance` to more people: a wider
    releasability, or more partners for a record releasable to partners."""
    if instance is None or instance.pk is None or not isinstance(instance, ReleasableModel):
        return False
    old = Releasability(instance.releasability)
    new = Releasability(values.get("releasability", instance.releasability))
    if RELEASE_WIDTH[new] != RELEASE_WIDTH[old]:
        return RELEASE_WIDTH[new] > RELEASE_WIDTH[old]
    if new != Releasability.PARTNERS:
        return False
    wanted = values.get("releasable_to", instance.releasable_to)
    return bool(set(wanted or []) - set(instance.releasable_to or []))


def reason_problem(instance, values, reason) -> tuple[str, str] | None:
    """(field, message) saying why a write of `values` (the fields it sets) to stored
    `instance` is refused, or None: a change to a published record needs a reason, and so
    does a change of who may see a record; a published record is never widened but
    through review. One rule for the admin, the API and imports."""
    if instance is None or instance.pk is None or not isinstance(instance, ReleasableModel):
        return None
    if instance.is_published() and release_widened(instance, values):
        return "releasability", str(
            _(
                "A published record is shown to more people only after review: withdraw it to a draft, "
                "widen its releasability, and submit it for review."
            )
        )
    if reason:
        return None
    if release_changed(instance, values):
        return "change_reason", str(_("Say why the releasability changes."))
    if instance.is_published():
        return "change_reason", str(PUBLISHED_NEEDS_REASON)
    return None


# What a change to a published record without a reason is told.
PUBLISHED_NEEDS_REASON = _("This record is published: say why you change it (the reason is shown in the history).")


def release_changed(instance, values) -> bool:
    """Whether writing `values` ({field: value}) would change `instance`'s releasability
    or the partners it is releasable to (a stored record: a new one has no history)."""
    if instance is None or instance.pk is None or not isinstance(instance, ReleasableModel):
        return False
    releasability = values.get("releasability", instance.releasability)
    if releasability != instance.releasability:
        return True
    if releasability != Releasability.PARTNERS:
        return False
    wanted = values.get("releasable_to", instance.releasable_to)
    return sorted(set(wanted or [])) != sorted(set(instance.releasable_to or []))


class IdListField(models.JSONField):
    """A sorted JSON array of the ids of `to`'s records (a record's `releasable_to`: the
    partners it may be shown to). A plain column, so the record's history keeps it and a
    revert restores it; `includes_any` (core.db.JsonIdsIncludeAny) tests it in a query.
    Forms offer `to`'s records to choose; the API reads and writes slugs."""

    def __init__(self, *args, to=None, **kwargs):
        self.to = to
        kwargs.setdefault("default", list)
        kwargs.setdefault("db_default", models.Value("[]"))
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["to"] = self.to
        return name, path, args, kwargs

    def related_model(self):
        return apps.get_model(self.to)

    def formfield(self, **kwargs):
        return IdListFormField(
            queryset=self.related_model()._default_manager.order_by("name"),
            required=not self.blank,
            label=self.verbose_name,
            help_text=self.help_text,
        )

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ValidationError(_("A list of ids is expected."), code="invalid")


@IdListField.register_lookup
class IdListIncludesAny(models.Lookup):
    """`releasable_to__includes_any=[ids]`: the list holds at least one of the ids."""

    lookup_name = "includes_any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return JsonIdsIncludeAny.as_sql(connection, lhs, lhs_params, self.rhs)


class ReleasableModel(models.Model):
    """A record with a releasability (Releasability) and the partners it is releasable to.
    Never wider than the records it belongs to (`release_parents()`): clean() refuses a
    contradiction, naming the field; the queries apply the narrowest anyway
    (PublishableQuerySet.release_lookups), so narrowing a project hides its parts at once."""

    releasability = models.CharField(
        _("releasability"),
        max_length=10,
        choices=Releasability.choices,
        default=Releasability.PUBLIC,
        # A row written by SQL (a bulk load) gets it too; its publication keeps it a draft.
        db_default=Releasability.PUBLIC.value,
        help_text=_(
            "Public: anyone, once published. Releasable to partners: staff and the liaison "
            "officers of the partners named below. Internal: staff only, never published."
        ),
    )
    releasable_to = IdListField(
        _("releasable to"),
        to="partners.Partner",
        help_text=_("The partners whose liaison officers may see this record (releasability “partners” only)."),
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.normalize_release()
        super().save(*args, **kwargs)

    def normalize_release(self):
        """Only a record releasable to partners names any; the list is kept sorted and unique."""
        if isinstance(self.releasable_to, list) and all(isinstance(i, int) for i in self.releasable_to):
            ids = sorted(set(self.releasable_to))
            self.releasable_to = ids if self.releasability == Releasability.PARTNERS else []

    def preview_note(self, partner_names=()) -> str:
        """What staff previewing this record on the public site are told when the public
        cannot see it (empty when it can): drafts, internal records, records releasable to
        partners (`partner_names`, the partners named)."""
        if self.releasability == Releasability.INTERNAL:
            return str(_("Internal: visible to staff only, never to the public."))
        state = getattr(self, "publication_state", PublicationState.PUBLISHED)
        if state == PublicationState.IN_REVIEW:
            return str(_("In review: not visible to the public until a reviewer approves it."))
        if state != PublicationState.PUBLISHED:
            return str(_("Draft: not visible to the public."))
        if self.releasability == Releasability.PARTNERS:
            return str(
                _(
                    "Releasable to partners: visible to staff and the liaison officers of %(partners)s, "
                    "not to the public."
                )
                % {"partners": ", ".join(partner_names)}
            )
        return ""

    def released_to(self, partner_ids) -> bool:
        """Whether this record's own releasability lets an audience with the liaison links
        `partner_ids` (none: the public) see it (its publication aside)."""
        if self.releasability == Releasability.PUBLIC:
            return True
        return self.releasability == Releasability.PARTNERS and bool(set(partner_ids) & set(self.releasable_to or []))

    def release_parents(self) -> list:
        """The records this one belongs to and may not be wider than."""
        return []

    def is_published(self) -> bool:
        """Whether the record is published as stored: its own publication (ReviewedModel),
        or for a part (an activity) that of the records it belongs to."""
        parents = [parent for parent in self.release_parents() if parent is not None]
        return bool(parents) and all(parent.is_published() for parent in parents)

    def clean(self):
        super().clean()
        errors = self.release_errors()
        if errors:
            raise ValidationError(errors)

    def release_errors(self) -> dict:
        """What contradicts the releasability rules, by field name."""
        self.normalize_release()
        errors = {}
        ids = set(self.releasable_to or []) if self.releasability == Releasability.PARTNERS else set()
        if self.releasability == Releasability.PARTNERS and not ids:
            errors["releasable_to"] = _("Name at least one partner this record is releasable to.")
        elif ids:
            partners = self._meta.get_field("releasable_to").related_model()._default_manager
            unknown = ids - set(partners.filter(pk__in=ids).values_list("pk", flat=True))
            if unknown:
                errors["releasable_to"] = _("No partner has the id %(ids)s.") % {
                    "ids": ", ".join(str(i) for i in sorted(unknown))
                }
        for parent in self.release_parents():
            if parent is None or "releasability" in errors:
                continue
            theirs = Releasability(parent.releasability)
            names = {"model": self._meta.verbose_name, "parent": parent._meta.verbose_name, "name": str(parent)}
            if RELEASE_WIDTH[Releasability(self.releasability)] > RELEASE_WIDTH[theirs]:
                errors["releasability"] = _(
                    "Cannot be wider than its %(parent)s “%(name)s”, which is “%(theirs)s”: a %(model)s "
                    "is never shown to more people than the record it belongs to."
                ) % {**names, "theirs": theirs.label}
            elif ids and theirs == Releasability.PARTNERS and ids - set(parent.releasable_to or []):
                partners = self._meta.get_field("releasable_to").related_model()._default_manager
                extra = partners.filter(pk__in=ids - set(parent.releasable_to or [])).order_by("name")
                errors["releasable_to"] = _(
                    "Its %(parent)s “%(name)s” is not releasable to %(partners)s: a %(model)s is never "
                    "shown to more people than the record it belongs to."
                ) % {**names, "partners": ", ".join(p.name for p in extra)}
        return errors


def publication_state_field(default):
    """A ReviewedModel's `publication_state`, starting at `default` for a record made in
    code or loaded from fixtures (the admin, the API and imports make drafts whatever it is)."""
    return models.CharField(
        _("publication state"),
        max_length=10,
        choices=PublicationState.choices,
        default=default,
        db_default=default.value,
        editable=False,
    )


class ReviewedModel(ReleasableModel):
    """A record published only through review (core.review): its `publication_state`,
    changed by the workflow alone (never by a form, a payload or an import), and
    `published`, which the visibility rules, indexes and triggers read, kept equal to
    "the state is published" by save() and by a check constraint in the database
    (`review_constraints()`), so no write can set one without the other."""

    publication_state = publication_state_field(PublicationState.DRAFT)
    published = models.BooleanField(_("published"), default=False, editable=False)
    review_comment = models.TextField(
        _("reviewer's comment"),
        blank=True,
        editable=False,
        help_text=_("Why a reviewer last sent this record back."),
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.published = self.publication_state == PublicationState.PUBLISHED
        if kwargs.get("update_fields") is not None and "publication_state" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "published"}
        super().save(*args, **kwargs)

    def is_published(self) -> bool:
        return self.publication_state == PublicationState.PUBLISHED

    def review_histories(self) -> list:
        """The histories whose latest entry is the record's latest change, which its
        approver may not have made (core.review): its own; a project adds its parts'."""
        return [self.history.all()]


def review_constraints():
    """The database's check that a ReviewedModel's `published` says its state is published."""
    return [
        models.CheckConstraint(
            condition=Q(published=True, publication_state=PublicationState.PUBLISHED)
            | Q(published=False, publication_state__in=[PublicationState.DRAFT, PublicationState.IN_REVIEW]),
            name="%(app_label)s_%(class)s_published_is_state",
            violation_error_message=_("“published” must say whether the publication state is “published”."),
        )
    ]


class TimestampedModel(models.Model):
    """A record that keeps when it was created and last changed."""

    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class VersionedModel(models.Model):
    """A record with a version that every save moves forward: the forms, the API and the
    imports compare the version a writer loaded with the stored one (optimistic locking)."""

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Count from the stored version, not this instance's (a revert from history saves
        # an old copy, which may not know it is stored): every save moves it forward.
        stored = None
        if self.pk is not None:
            stored = type(self)._base_manager.filter(pk=self.pk).values_list("version", flat=True).first()
        if stored is not None or not self._state.adding:
            self.version = (self.version if stored is None else stored) + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)

    def last_change(self):
        """The latest history record (django-simple-history's `history`), with its user."""
        return self.history.order_by("-history_date", "-history_id").select_related("history_user").first()


def year_in_range(field, message, *, nullable=True):
    """A check constraint that `field` holds a year from MIN_YEAR to MAX_YEAR (or none, if
    `nullable`); `message`, naming the field, takes %(min)s and %(max)s."""
    condition = Q(**{f"{field}__gte": MIN_YEAR, f"{field}__lte": MAX_YEAR})
    if nullable:
        condition = Q(**{f"{field}__isnull": True}) | condition
    return models.CheckConstraint(
        condition=condition,
        name=f"%(app_label)s_%(class)s_{field}_in_range",
        violation_error_message=message % {"min": MIN_YEAR, "max": MAX_YEAR},
    )


class PartialDateModel(models.Model):
    """A date to the precision the source gives: a year, a month or a day, held as year,
    month and day with month and day empty where the source does not state them, so a
    year stays a year (an activity's date, a status report's as-of date). A concrete
    model's Meta lists `partial_date_constraints()` and calls `date_errors()` in clean()."""

    class Precision(models.TextChoices):
        YEAR = "year", _("Year")
        MONTH = "month", _("Month")
        DAY = "day", _("Day")

    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), null=True, blank=True)
    day = models.PositiveSmallIntegerField(_("day"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def precision(self) -> str:
        if self.day is not None:
            return self.Precision.DAY
        if self.month is not None:
            return self.Precision.MONTH
        return self.Precision.YEAR

    @property
    def date_display(self) -> str:
        return activity_date_display(self.year, self.month, self.day)

    @property
    def date_iso(self) -> str:
        """ISO 8601 to the date's precision: "2015", "2015-06" or "2015-06-01"."""
        return iso_date(self.year, self.month, self.day)

    def date_errors(self) -> dict:
        """What is wrong with the date, by field (a day without a month, a day the month
        does not have)."""
        errors = {}
        if self.day is not None and self.month is None:
            errors["day"] = _("A day needs a month: give the month too, or leave the day empty.")
        elif (
            self.day is not None
            and self.year is not None
            and 1 <= self.month <= 12
            and not 1 <= self.day <= calendar.monthrange(self.year, self.month)[1]
        ):
            errors["day"] = _("%(year)s-%(month)02d has no day %(day)s.") % {
                "year": self.year,
                "month": self.month,
                "day": self.day,
            }
        return errors


def partial_date_constraints():
    """The database's checks of a PartialDateModel's year, month and day."""
    return [
        year_in_range("year", _("Year must be between %(min)s and %(max)s."), nullable=False),
        models.CheckConstraint(
            condition=Q(month__isnull=True) | Q(month__gte=1, month__lte=12),
            name="%(app_label)s_%(class)s_month_in_range",
            violation_error_message=_("Month must be between 1 and 12."),
        ),
        models.CheckConstraint(
            condition=Q(day__isnull=True)
            | (
                Q(month__isnull=False, day__gte=1)
                & (
                    Q(month__in=[1, 3, 5, 7, 8, 10, 12], day__lte=31)
                    | Q(month__in=[4, 6, 9, 11], day__lte=30)
                    | Q(month=2, day__lte=29)
                )
            ),
            name="%(app_label)s_%(class)s_day_valid_for_month",
            violation_error_message=_("Day must be a day of the given month (and needs a month)."),
        ),
    ]


def changed_by_and_when(record) -> tuple[str, str]:
    """Who made a history record and when, as a message about a stale version names them
    ("another user", and no time, where the record or its user is gone)."""
    who = record.history_user.get_username() if record and record.history_user else _("another user")
    when = formats.date_format(record.history_date, "DATETIME_FORMAT") if record else ""
    return who, when


class ReferenceModel(models.Model):
    """Reference data: a record named by its slug (its natural key, so fixtures name it),
    with an English and a Japanese name, listed by name. A concrete model declares its
    own `description` where its forms show it."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    name_ja = models.CharField(_("Japanese name"), max_length=200, blank=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)

    objects = SlugManager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class LinkIdsField(models.Field):
    """Ids of related rows, kept on the row by the database (projects.facets): an array
    on PostgreSQL, an unused empty text on SQLite (core.db.LinkIdArrays). Never edited,
    never written by Django with effect (a trigger sets it on every insert and update),
    never shown."""

    description = "Ids of linked rows, kept by the database"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        return LinkIdArrays.column_type(connection)

    def from_db_value(self, value, expression, connection):
        return value if isinstance(value, list) else []

    def to_python(self, value):
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else []
        return [int(v) for v in value or []]

    def get_db_prep_value(self, value, connection, prepared=False):
        return LinkIdArrays.db_value(value, connection)

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj) or [])


@LinkIdsField.register_lookup
class LinkIdsOverlap(models.Lookup):
    """`partner_ids__overlap=[ids]`: shares at least one id (PostgreSQL's &&)."""

    lookup_name = "overlap"

    def get_db_prep_lookup(self, value, connection):
        return "%s", [[int(v) for v in value]]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} && {rhs}::bigint[]", [*lhs_params, *rhs_params]


class OneHistoryEntry:
    """One save, one history entry. A record saved and then linked (a project's partners
    and fields, set after its row) gets a history record from the save and one more from
    each link set that changed (django-simple-history's m2m_changed), the first of them
    without the links. `begin()` before the save and `end()` after the links fold them into
    one: the last (the record as it ended, links included), typed as the first (`+` for a
    creation) and with the first change reason given. Used by the API's writes and the
    admin's saves. The entry is dated when the save ended (`end()`)."""

    def __init__(self, model):
        self.history = getattr(model, "history", None)
        self.after = None

    def begin(self):
        if self.history is not None:
            self.after = self.history.model.objects.aggregate(last=models.Max("history_id"))["last"] or 0
        return self

    def end(self, instance):
        if self.history is None or self.after is None or instance.pk is None:
            return
        records = list(
            self.history.model.objects.filter(history_id__gt=self.after, id=instance.pk).order_by("history_id")
        )
        if not records:
            return
        keep = records[-1]
        keep.history_type = records[0].history_type
        keep.history_change_reason = next((r.history_change_reason for r in records if r.history_change_reason), None)
        # Dated when the save ended, after the rows saved with it (a project page's inline
        # activities): a revert to this version brings those back as they were saved.
        keep.history_date = timezone.now()
        keep.save(update_fields=["history_type", "history_change_reason", "history_date"])
        self.history.model.objects.filter(history_id__in=[r.history_id for r in records[:-1]]).delete()
        # The links as they ended: a link row saved on its own (a partner's role, from the
        # admin's inline or the API) leaves no history of its own.
        record_links([keep], self.history.model, instance=instance)


def record_links(history_rows, history_model, *, instance=None) -> None:
    """Write the links (many-to-many rows, with every column of their through model) that
    the history entries `history_rows` hold, from the links stored now, in place of any
    they held. `instance`: the one record all the rows are of (saves a query per field)."""
    rows = list(history_rows)
    if not rows:
        return
    for field in getattr(history_model, "_history_m2m_fields", []):
        m2m_history = getattr(history_model, field.name).model
        through = field.remote_field.through
        names = [f.attname for f in through._meta.concrete_fields]
        owner = f"{field.m2m_field_name()}_id"
        owners = [instance.pk] if instance is not None else {row.id for row in rows}
        links = defaultdict(list)
        for link in through._base_manager.filter(**{f"{owner}__in": owners}).order_by("pk"):
            links[getattr(link, owner)].append(link)
        m2m_history.objects.filter(history__in=rows).delete()
        m2m_history.objects.bulk_create(
            m2m_history(history=row, **{name: getattr(link, name) for name in names})
            for row in rows
            for link in links.get(row.id, [])
        )
