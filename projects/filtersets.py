"""The filters of projects and activities: one FilterSet each, used by the API lists, the
public list pages, the CSV exports and the reports, so a filter means the same thing
wherever a user meets it.

Every filter validates its value: an unknown slug, a year that is not a year or an
unknown status is a form error naming the parameter (a 400 in the API), never an
empty result pretending all is well. Multi-valued filters take repeated parameters
(`?country=VN&country=PH`) and match any of the values.
"""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from partners.models import Partner
from projects.models import MAX_YEAR, MIN_YEAR, Activity, Field, Program, Project
from projects.search import project_search


def _visible_partners(request):
    return Partner.objects.for_user(getattr(request, "user", None))


def _visible_projects(request):
    return Project.objects.for_user(getattr(request, "user", None))


class UpperCaseMultipleChoiceField(forms.MultipleChoiceField):
    """Country codes: `vn` and `VN` are the same country."""

    def to_python(self, value):
        return [v.strip().upper() for v in super().to_python(value)]


class CountryFilter(django_filters.MultipleChoiceFilter):
    field_class = UpperCaseMultipleChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", lambda: list(countries))
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.ChoiceField):
    """true/false (or 1/0, yes/no); anything else is an error, not silently ignored."""

    TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}

    def __init__(self, *args, **kwargs):
        kwargs["choices"] = [("", "---------"), ("true", _("Yes")), ("false", _("No"))]
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value).strip().lower()
        if value in self.TRUE:
            return "true"
        if value in self.FALSE:
            return "false"
        return value

    def clean(self, value):
        value = super().clean(value)
        return None if value == "" else value == "true"


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class YearField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", MIN_YEAR)
        kwargs.setdefault("max_value", MAX_YEAR)
        super().__init__(*args, **kwargs)


class YearFilter(django_filters.NumberFilter):
    field_class = YearField


def _through_exists(through, related_field, values):
    """Projects linked through an M2M table to any of the given related rows (EXISTS,
    so a project linked to several matches appears once, with no DISTINCT)."""
    return Exists(through.objects.filter(project_id=OuterRef("pk"), **{f"{related_field}__in": values}))


class ProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=200)
    partner = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible_partners, to_field_name="slug", method="filter_partner", label=_("Partner")
    )
    country = CountryFilter(method="filter_country", label=_("Country"))
    region = django_filters.MultipleChoiceFilter(
        choices=Partner.Region.choices, method="filter_region", label=_("Region")
    )
    asean = StrictBooleanFilter(method="filter_asean", label=_("ASEAN member"))
    field = django_filters.ModelMultipleChoiceFilter(
        queryset=Field.objects.all(), to_field_name="slug", method="filter_field", label=_("Field")
    )
    program = django_filters.ModelMultipleChoiceFilter(
        field_name="program__slug", queryset=Program.objects.all(), to_field_name="slug", label=_("Program")
    )
    status = django_filters.MultipleChoiceFilter(choices=Project.Status.choices, label=_("Status"))
    year = YearFilter(method="filter_year", label=_("Active in year"))
    start_year_min = YearFilter(field_name="start_year", lookup_expr="gte", label=_("Started in or after"))
    start_year_max = YearFilter(field_name="start_year", lookup_expr="lte", label=_("Started in or before"))
    cooperating_country = CountryFilter(method="filter_cooperating_country", label=_("Co-operating country"))
    ordering = django_filters.OrderingFilter(
        fields=(
            ("title", "title"),
            ("start_year", "start_year"),
            ("end_year", "end_year"),
            ("status", "status"),
            ("updated", "updated"),
        ),
        label=_("Order by"),
    )

    class Meta:
        model = Project
        fields = []

    def filter_q(self, queryset, name, value):
        return project_search(queryset, value)

    def filter_partner(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_through_exists(Project.partners.through, "partner", value))

    def filter_country(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_through_exists(Project.partners.through, "partner__country", value))

    def filter_region(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_through_exists(Project.partners.through, "partner__region", value))

    def filter_asean(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(_through_exists(Project.partners.through, "partner__asean_member", [value]))

    def filter_field(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_through_exists(Project.fields.through, "field", value))

    def filter_year(self, queryset, name, value):
        return queryset.active_in(value)

    def filter_cooperating_country(self, queryset, name, value):
        if not value:
            return queryset
        # Stored as comma-separated two-letter codes: a code cannot match across a comma.
        condition = Q()
        for code in value:
            condition |= Q(cooperating_countries__contains=code)
        return queryset.filter(condition)


class ActivityFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=200)
    project = django_filters.ModelMultipleChoiceFilter(
        field_name="project__slug", queryset=_visible_projects, to_field_name="slug", label=_("Project")
    )
    partner = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible_partners, to_field_name="slug", method="filter_partner", label=_("Partner")
    )
    country = CountryFilter(method="filter_country", label=_("Country"))
    field = django_filters.ModelMultipleChoiceFilter(
        queryset=Field.objects.all(), to_field_name="slug", method="filter_field", label=_("Field")
    )
    kind = django_filters.MultipleChoiceFilter(choices=Activity.Kind.choices, label=_("Kind"))
    year = YearFilter(field_name="year", label=_("Year"))
    ordering = django_filters.OrderingFilter(fields=(("year", "year"), ("title", "title")), label=_("Order by"))

    class Meta:
        model = Activity
        fields = []

    def filter_q(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            condition &= (
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(location__icontains=word)
                | Q(project__title__icontains=word)
            )
        return queryset.filter(condition)

    def _project_through(self, queryset, through, related_field, values):
        if not values:
            return queryset
        linked = through.objects.filter(project_id=OuterRef("project_id"), **{f"{related_field}__in": values})
        return queryset.filter(Exists(linked))

    def filter_partner(self, queryset, name, value):
        return self._project_through(queryset, Project.partners.through, "partner", value)

    def filter_country(self, queryset, name, value):
        return self._project_through(queryset, Project.partners.through, "partner__country", value)

    def filter_field(self, queryset, name, value):
        return self._project_through(queryset, Project.fields.through, "field", value)
