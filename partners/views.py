"""Public pages of partners. Every view starts from Partner.objects.on_site(user): the
public partners, and a liaison officer's releasable ones too; and so do the projects."""

from django.db.models import Count, Prefetch
from django.views.generic import DetailView, TemplateView

from core.i18n import localname
from core.views import PreviewMixin
from partners.filtersets import PartnerFilterSet
from partners.models import Partner
from projects.models import COUNTED_ROLES, PartnerRole, Project, ProjectPartner
from projects.selectors import project_cards, public_citations, stable_order


def _projects_of(partner_ids, roles=COUNTED_ROLES):
    """The projects these partners take part in, in `roles` (by default every role but
    venue: a country where an event only took place is not a partner in it)."""
    return ProjectPartner.objects.filter(partner__in=partner_ids, role__in=roles).values("project_id")


def _breakdown(partner, family, shown):
    """The partner and each of its services and agencies, with the number of projects
    `shown` (the reader's) each takes part in (the partner's own first)."""
    counts = dict(
        ProjectPartner.objects.filter(partner__in=family, project__in=shown, role__in=COUNTED_ROLES)
        .values_list("partner_id")
        .annotate(n=Count("project_id", distinct=True))
    )
    members = sorted(Partner.objects.filter(pk__in=family), key=lambda p: (p.pk != partner.pk, localname(p)))
    return [{"partner": m, "count": counts.get(m.pk, 0), "own": m.pk == partner.pk} for m in members]


class PartnerListView(TemplateView):
    """Published partners grouped by region, in the order of Partner.Region, filtered by
    the PartnerFilterSet the API uses."""

    template_name = "partners/partner_list.html"

    def get(self, request, *args, **kwargs):
        visible = Partner.objects.on_site(request.user)
        filterset = PartnerFilterSet(request.GET or None, queryset=visible, request=None)
        errors = dict(filterset.errors) if filterset.is_bound else {}
        partners = Partner.objects.none() if errors else filterset.qs
        partners = partners.select_related("parent")
        # Each partner's projects, its services' and agencies' included (PartnerQuerySet).
        ancestry = visible.ancestry()
        projects_of = {}
        for project_id, partner_id in ProjectPartner.objects.filter(
            project__in=Project.objects.on_site(request.user), partner__in=visible, role__in=COUNTED_ROLES
        ).values_list("project_id", "partner_id"):
            for ancestor in ancestry.get(partner_id, ()):
                projects_of.setdefault(ancestor, set()).add(project_id)
        by_region = {}
        for partner in partners:
            partner.project_count = len(projects_of.get(partner.pk, ()))
            by_region.setdefault(partner.region, []).append(partner)
        regions = [
            {"value": value, "label": label, "partners": sorted(by_region[value], key=lambda p: localname(p))}
            for value, label in Partner.Region.choices
            if value in by_region
        ]
        chosen_regions = set(request.GET.getlist("region"))
        chosen_kinds = set(request.GET.getlist("kind"))
        context = self.get_context_data(**kwargs)
        labels = {name: f.label for name, f in filterset.filters.items()}
        context.update(
            {
                "regions": regions,
                "partner_count": sum(len(r["partners"]) for r in regions),
                "errors": errors,
                "error_list": [{"name": n, "label": labels.get(n, n), "messages": m} for n, m in errors.items()],
                "values": {"q": request.GET.get("q", ""), "asean": request.GET.get("asean", "")},
                "options": {
                    "region": [
                        {"value": v, "label": label, "checked": v in chosen_regions}
                        for v, label in Partner.Region.choices
                    ],
                    "kind": [
                        {"value": v, "label": label, "checked": v in chosen_kinds} for v, label in Partner.Kind.choices
                    ],
                },
                "active_filters": any(request.GET.get(n) for n in filterset.filters if n != "ordering"),
            }
        )
        return self.render_to_response(context, status=400 if errors else 200)


class PartnerDetailView(PreviewMixin, DetailView):
    """A partner, its services, and its published projects across the years (staff may
    preview a partner the public cannot see: core.views.PreviewMixin)."""

    model = Partner
    template_name = "partners/partner_detail.html"
    context_object_name = "partner"

    def get_queryset(self):
        user = self.request.user
        return (
            self.visible()
            .select_related("parent")
            .prefetch_related(
                Prefetch("children", queryset=Partner.objects.on_site(user).order_by("name")),
                public_citations(user),
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        partner = self.object
        # Its projects, its services' and agencies' included (PartnerQuerySet), each once,
        # with how many each of them takes part in.
        user = self.request.user
        visible = Partner.objects.on_site(user)
        shown = Project.objects.on_site(user)
        family = visible.with_descendants([partner])
        projects = list(project_cards(stable_order(shown.filter(pk__in=_projects_of(family))), user))
        context["projects"] = projects
        # Where it was only the venue: listed apart, not counted as its projects.
        venue_only = shown.filter(pk__in=_projects_of(family, [PartnerRole.VENUE]))
        context["venue_projects"] = list(stable_order(venue_only.exclude(pk__in=[p.pk for p in projects])))
        context["breakdown"] = _breakdown(partner, family, shown) if len(family) > 1 else []
        context["parent"] = visible.filter(pk=partner.parent_id).first() if partner.parent_id else None
        context["years"], context["year_rows"] = self.years_grid(projects)
        return context

    @staticmethod
    def years_grid(projects):
        """The years the partner's projects count as active in, and for each project
        whether it was active in each (to its end year, or an open-ended project's latest
        evidence: Project.active_until)."""
        dated = [p for p in projects if p.start_year is not None and p.active_until is not None]
        if not dated:
            return [], []
        years = list(range(min(p.start_year for p in dated), max(p.active_until for p in dated) + 1))
        rows = []
        for project in projects:
            start, until = project.start_year, project.active_until
            rows.append(
                {
                    "project": project,
                    "cells": [start is not None and until is not None and start <= y <= until for y in years],
                }
            )
        return years, rows
