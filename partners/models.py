from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from core.models import (
    PublicationState,
    PublishableQuerySet,
    ReferenceModel,
    Releasability,
    ReviewedModel,
    SlugManager,
    TimestampedModel,
    VersionedModel,
    publication_state_field,
    review_constraints,
)
from core.models import liaison_partner_ids as liaison_partner_ids_of


class PartnerQuerySet(PublishableQuerySet):
    """Partners, and the rule every count of a partner's projects follows (README, "Counts
    that agree"): a partner's projects are those it takes part in itself or through any
    of its services and agencies (its descendants), each project counted once."""

    def ancestry(self) -> dict[int, list[int]]:
        """For each partner of this queryset, itself and its ancestors in it (nearest
        first): the partners whose counts a project of this one counts towards. An ancestor
        outside the queryset (a draft, for the public) breaks the chain there."""
        parents = dict(self.order_by().values_list("id", "parent_id"))
        lines = {}
        for pid in parents:
            line, current = [], pid
            while current in parents and current not in line:
                line.append(current)
                current = parents[current]
            lines[pid] = line
        return lines

    def with_descendants(self, roots) -> list[int]:
        """The ids of `roots` (partners or ids) and of their descendants in this queryset."""
        root_ids = {getattr(r, "pk", r) for r in roots}
        return sorted(pid for pid, line in self.ancestry().items() if root_ids.intersection(line))


class Partner(ReferenceModel, TimestampedModel, VersionedModel, ReviewedModel):
    """A partner military or organisation that receives capacity building assistance.

    A country's defence force (Vietnam), one of its services or agencies (the Philippine
    Air Force, whose parent is the Philippines' entry), or a regional organisation
    (ASEAN). Country is ISO 3166-1 alpha-2; a regional organisation has none. A partner
    is public when it is published and its releasability is public; staff see the others
    too, and a partner releasable to partners is shown to their liaison officers.
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
    # Reference data: a partner loaded from the fixtures or made in code is published; one
    # added through the admin, the API or an import starts as a draft (core.review).
    publication_state = publication_state_field(PublicationState.PUBLISHED)
    published = models.BooleanField(_("published"), default=True, editable=False)

    history = HistoricalRecords()
    objects = SlugManager.from_queryset(PartnerQuerySet)()

    class Meta(ReferenceModel.Meta):
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        permissions = [("review_partner", _("Can approve or send back partners in review"))]
        constraints = [
            *review_constraints(),
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

    def get_absolute_url(self):
        return reverse("partners:partner-detail", kwargs={"slug": self.slug})

    @property
    def is_public(self) -> bool:
        """Whether everyone may see this partner (Partner.objects.public)."""
        return self.published and self.releasability == Releasability.PUBLIC

    def release_parents(self):
        return [self.parent] if self.parent_id else []

    def parent_for(self, user):
        """The parent as `user` may see it: a draft parent is hidden like any draft (None)
        from whoever may not see drafts. The one rule for the API's JSON and CSV."""
        parent = self.parent
        if parent is None or parent.is_public or Partner.objects.sees_drafts(user):
            return parent
        if parent.published and parent.released_to(liaison_partner_ids_of(user)):
            return parent
        return None

    def clean(self):
        ancestor = self.parent
        seen = set()
        while ancestor is not None and ancestor.pk not in seen:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError({"parent": _("A partner cannot be a service of itself or of its own service.")})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
        errors = self.release_errors()
        if errors:
            raise ValidationError(errors)


# The group whose members, each linked to one or more partners (Liaison), are those
# partners' liaison officers: they sign in and read what is public and what is releasable
# to their partners, through the API and the public pages, and write nothing.
LIAISONS_GROUP = "Liaisons"


class Liaison(models.Model):
    """A user who is a liaison officer of a partner (README, "Who sees what"). Counts only
    while the user is in the Liaisons group, so removing them from it revokes the access."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="liaison_links"
    )
    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="liaisons")
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("liaison link")
        verbose_name_plural = _("liaison links")
        constraints = [
            models.UniqueConstraint(fields=["user", "partner"], name="partners_liaison_unique"),
        ]

    def __str__(self):
        return f"{self.user} – {self.partner}"


def liaison_partner_ids(user):
    """None if `user` is not in the Liaisons group; else the partners they are a liaison
    officer of (settings.LIAISON_PARTNERS, read by core.models)."""
    if not user.groups.filter(name=LIAISONS_GROUP).exists():
        return None
    return list(Liaison.objects.filter(user=user).values_list("partner_id", flat=True))
