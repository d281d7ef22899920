"""The filter fields and the FilterSet base the apps' filtersets are built from.

Every filter validates its value: an unknown slug, a year that is not a year or an
unknown choice is a form error naming the parameter (a 400 in the API), never an empty
result pretending all is well. Multi-valued filters take repeated parameters
(`?country=VN&country=PH`) and match any of the values.
"""

import copy
import functools

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from drf_spectacular.utils import extend_schema_field

from core.models import MAX_YEAR, MIN_YEAR, SLUG_RE

# At most this many words in one search: each word is a condition, and an unbounded
# number of them is an unbounded cost.
MAX_SEARCH_TERMS = 10


def search_terms(query: str) -> list[str]:
    return [word.strip('"') for word in query.split() if word.strip('"')]


# How the filters appear in the OpenAPI schema: precise enough that a client (or a
# fuzzer) knows what a valid value looks like; whether a slug names an existing record is
# for the server to say (a 400 naming the parameter).
SLUG_SCHEMA = {"type": "string", "pattern": f"^{SLUG_RE.pattern}$", "maxLength": 150}


COUNTRY_SCHEMA = {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166-1 alpha-2 code."}


BOOLEAN_SCHEMA = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]}


YEAR_SCHEMA = {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR}


SEARCH_SCHEMA = {"type": "string", "maxLength": 200, "description": f"At most {MAX_SEARCH_TERMS} words."}


# At most this many values of one filter (`?country=VN&country=PH&...`).
MAX_FILTER_VALUES = 50


class EmptyIsNoneMixin:
    """As in an HTML form, an empty value is no value: `?status=&status=ongoing` is ongoing.
    A filter takes at most MAX_FILTER_VALUES values."""

    def to_python(self, value):
        if isinstance(value, list | tuple):
            value = [v for v in value if v not in ("", None)]
        return super().to_python(value)

    def clean(self, value):
        if isinstance(value, list | tuple):
            value = [v for v in value if v not in ("", None)]
            if len(value) > MAX_FILTER_VALUES:
                raise forms.ValidationError(
                    _("Give at most %(max)s values.") % {"max": MAX_FILTER_VALUES}, code="too_many_values"
                )
        return super().clean(value)


class ChoicesField(EmptyIsNoneMixin, django_filters.fields.MultipleChoiceField):
    pass


class ChoicesFilter(django_filters.MultipleChoiceFilter):
    """One or more of a fixed set of values (repeat the parameter)."""

    field_class = ChoicesField


class SlugMultipleChoiceField(EmptyIsNoneMixin, django_filters.fields.ModelMultipleChoiceField):
    """Only a slug can name a record: anything else is an unknown choice before it reaches
    the database (which would refuse a NUL byte with an error of its own)."""

    def _check_values(self, value):
        for item in value:
            if not isinstance(item, str) or not SLUG_RE.fullmatch(item):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": str(item)[:100]}
                )
        return super()._check_values(value)

    def clean(self, value):
        # No slugs is no filter: an empty list, not `queryset.none()`, which every
        # `if not value` downstream would compile into a query to find empty.
        if not self.required and not [v for v in value or () if v not in ("", None)]:
            return []
        return super().clean(value)


@extend_schema_field(SLUG_SCHEMA)
class SlugMultipleFilter(django_filters.ModelMultipleChoiceFilter):
    """Records named by slug; repeat the parameter for several (any of them matches)."""

    field_class = SlugMultipleChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        super().__init__(*args, **kwargs)


class SearchField(forms.CharField):
    """Free text of at most MAX_SEARCH_TERMS words (each is a condition of the query)."""

    def clean(self, value):
        value = super().clean(value)
        if value and len(search_terms(value)) > MAX_SEARCH_TERMS:
            raise forms.ValidationError(
                _("Search with at most %(max)s words.") % {"max": MAX_SEARCH_TERMS}, code="too_many_terms"
            )
        return value


@extend_schema_field(SEARCH_SCHEMA)
class SearchFilter(django_filters.CharFilter):
    field_class = SearchField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)


@functools.cache
def _country_codes():
    return frozenset(code for code, _name in countries)


class UpperCaseMultipleChoiceField(EmptyIsNoneMixin, forms.MultipleChoiceField):
    """Country codes: `vn` and `VN` are the same country."""

    def to_python(self, value):
        return [v.strip().upper() for v in super().to_python(value)]

    def valid_value(self, value):
        # A set lookup: the choices are ~250 lazily translated names, which the form
        # would otherwise rebuild and walk for every value of every request.
        return value in _country_codes()


@extend_schema_field(COUNTRY_SCHEMA)
class CountryFilter(ChoicesFilter):
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


@extend_schema_field(BOOLEAN_SCHEMA)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class YearField(forms.IntegerField):
    """A year as digits (2015); not 2015.0, not 2e3."""

    default_error_messages = {"invalid": _("Enter a year as four digits, e.g. 2015.")}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", MIN_YEAR)
        kwargs.setdefault("max_value", MAX_YEAR)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not value.strip().isdigit():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field(YEAR_SCHEMA)
class YearFilter(django_filters.NumberFilter):
    field_class = YearField


class StrictCSVField(django_filters.fields.BaseCSVField):
    """Comma-separated values, none of them empty (`ordering=,,,` is an error, not no
    order), and at most MAX_FILTER_VALUES of them, as the schema's maxItems says."""

    def clean(self, value):
        if value and any(item in ("", None) for item in value):
            raise forms.ValidationError(_("Separate the values with single commas, none empty."), code="empty_item")
        if value and len(value) > MAX_FILTER_VALUES:
            raise forms.ValidationError(
                _("Give at most %(max)s values.") % {"max": MAX_FILTER_VALUES}, code="too_many_values"
            )
        return super().clean(value)


class StrictOrderingFilter(django_filters.OrderingFilter):
    """One or more orderings (`ordering=-start_year,title`, or the parameter repeated, which
    TrackerFilterSet joins), each a known key."""

    base_field_class = StrictCSVField


class TrackerFilterSet(django_filters.FilterSet):
    """The base of the tracker's filtersets: `ordering` may be repeated (a client generated
    from the schema sends one parameter per key) and means the keys in turn."""

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and hasattr(data, "getlist") and len(data.getlist("ordering")) > 1:
            data = data.copy()
            data.setlist("ordering", [",".join(data.getlist("ordering"))])
        # django-filter gives each filterset its own filters with copy.deepcopy(base_filters),
        # which copies every filter's querysets and choices all the way down: a fifth of an
        # API list request's Python time (make bench, 100,000 projects). Each filter's own
        # state is its `extra` arguments, its form field (made on first use) and what the
        # filterset sets on it (`model`, `parent`), and the bound FilterMethod of a `method`
        # filter: a shallow copy that renews those is enough.
        self.base_filters = _FiltersCopiedShallowly(type(self).base_filters)
        super().__init__(data, *args, **kwargs)


class _FiltersCopiedShallowly(dict):
    def __deepcopy__(self, memo):
        copied = {}
        for name, filter_ in self.items():
            new = copy.copy(filter_)
            new.extra = dict(filter_.extra)
            new.__dict__.pop("_field", None)
            if filter_.method is not None:
                new.method = filter_.method  # binds a FilterMethod to the copy, not to the original
            copied[name] = new
        return copied
