from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords


def _sees_every_partner(user) -> bool:
    return user is not None and user.is_active and user.has_perm("partners.view_partner")


class PartnerQuerySet(models.QuerySet):
    """Visibility rules for partners.

    Partners are reference data: a partner is public when it is published. Staff see
    every partner, drafts included.
    """

    def public(self):
        return self.filter(published=True)

    def for_user(self, user):
        if _sees_every_partner(user):
            return self.all()
        return self.public()

    def beyond_public(self, user):
        """The partners this user may see and the public may not; None where there can be
        none (the user sees what the public sees)."""
        if _sees_every_partner(user):
            return self.exclude(published=True)
        return None


class PartnerManager(models.Manager.from_queryset(PartnerQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Partner(models.Model):
    """A partner military or organisation that receives capacity building assistance.

    A country's defence force (Vietnam), one of its services or agencies (the Philippine
    Air Force, whose parent is the Philippines' entry), or a regional organisation
    (ASEAN). Country is ISO 3166-1 alpha-2; a regional organisation has none.
    """

    class Kind(models.TextChoices):
        COUNTRY = "country", _("Country (defence forces)")
        SERVICE = "service", _("Military service")
        COAST_GUARD = "coast_guard", _("Coast guard or maritime agency")
        ORGANISATION = "organisation", _("Regional organisation")

    class Region(models.TextChoices):
        SOUTHEAST_ASIA = "southeast_asia", _("Southeast Asia")
        SOUTH_ASIA = "south_asia", _("South Asia")
        EAST_ASIA = "east_asia", _("East Asia")
        CENTRAL_ASIA = "central_asia", _("Central Asia")
        OCEANIA = "oceania", _("Oceania and the Pacific")
        MIDDLE_EAST = "middle_east", _("Middle East")
        AFRICA = "africa", _("Africa")
        EUROPE = "europe", _("Europe")
        AMERICAS = "americas", _("Americas")

    name = models.CharField(_("name"), max_length=200, unique=True)
    name_ja = models.CharField(_("Japanese name"), max_length=200, blank=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COUNTRY)
    country = CountryField(
        _("country"), blank=True, help_text=_("ISO 3166-1 alpha-2; empty for a regional organisation.")
    )
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    asean_member = models.BooleanField(
        _("ASEAN member"), default=False, help_text=_("The partner's country is an ASEAN Member State.")
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("The partner this one is a service or agency of."),
    )
    description = models.TextField(_("description"), blank=True)
    published = models.BooleanField(_("published"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    history = HistoricalRecords()
    objects = PartnerManager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")),
                name="%(app_label)s_%(class)s_not_own_parent",
                violation_error_message=_("A partner cannot be its own parent."),
            ),
            models.CheckConstraint(
                condition=Q(kind="organisation") | ~Q(country=""),
                name="%(app_label)s_%(class)s_country_required",
                violation_error_message=_("Country is required for every partner but a regional organisation."),
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self._state.adding:
            # Count from the stored version, not this instance's (a revert from history
            # saves an old copy): every save moves the version forward.
            stored = type(self).objects.filter(pk=self.pk).values_list("version", flat=True).first()
            self.version = (stored if stored is not None else self.version) + 1
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("partners:partner-detail", kwargs={"slug": self.slug})

    @property
    def is_public(self) -> bool:
        """Whether everyone may see this partner (PartnerQuerySet.public)."""
        return self.published

    def natural_key(self):
        return (self.slug,)

    def clean(self):
        ancestor = self.parent
        seen = set()
        while ancestor is not None and ancestor.pk not in seen:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError({"parent": _("A partner cannot be a service of itself or of its own service.")})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
