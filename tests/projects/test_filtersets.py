"""ProjectFilterSet and ActivityFilterSet, tested without HTTP: FilterSet(params, queryset).qs."""

import pytest
from django.http import QueryDict

from partners.filtersets import PartnerFilterSet
from partners.models import Partner
from projects.filtersets import ActivityFilterSet, ProjectFilterSet
from projects.models import Activity, Project


def _slugs(params, queryset=None, filterset=ProjectFilterSet):
    data = QueryDict(mutable=True)
    for key, value in params:
        data.appendlist(key, value)
    fs = filterset(data, queryset if queryset is not None else Project.objects.all())
    assert fs.is_valid(), fs.errors
    return sorted(fs.qs.values_list("slug", flat=True))


def _errors(params, filterset=ProjectFilterSet, queryset=None):
    data = QueryDict(mutable=True)
    for key, value in params:
        data.appendlist(key, value)
    fs = filterset(data, queryset if queryset is not None else Project.objects.all())
    assert not fs.is_valid()
    return fs.errors


class TestProjectFilters:
    def test_no_filters_returns_everything(self, world):
        assert len(_slugs([])) == 4

    def test_partner_by_slug_matches_any_of_repeated_values(self, world):
        assert _slugs([("partner", "png")]) == ["png-band"]
        assert _slugs([("partner", "png"), ("partner", "philippines")]) == ["balikatan", "hadr-seminar", "png-band"]

    def test_a_project_with_two_matching_partners_appears_once(self, world):
        assert _slugs([("partner", "vietnam"), ("partner", "philippines")]).count("hadr-seminar") == 1

    def test_country_is_case_insensitive_and_multi_valued(self, world):
        assert _slugs([("country", "vn")]) == ["hadr-seminar", "vn-medicine"]
        assert _slugs([("country", "VN"), ("country", "PG")]) == ["hadr-seminar", "png-band", "vn-medicine"]

    def test_region_and_asean(self, world):
        assert _slugs([("region", "oceania")]) == ["png-band"]
        assert _slugs([("asean", "false")]) == ["png-band"]
        assert "png-band" not in _slugs([("asean", "true")])

    def test_field_program_and_status(self, world):
        assert _slugs([("field", "ha-dr")]) == ["balikatan", "hadr-seminar"]
        assert _slugs([("program", "vientiane-vision")]) == ["balikatan"]
        assert _slugs([("status", "ongoing")]) == ["balikatan"]
        assert _slugs([("status", "ongoing"), ("status", "completed")]) == sorted(
            ["balikatan", "hadr-seminar", "png-band", "vn-medicine"]
        )

    def test_year_means_active_in_that_year_an_open_end_running_to_its_latest_evidence(self, world):
        assert _slugs([("year", "2013")]) == ["vn-medicine"]
        assert _slugs([("year", "2018")]) == ["balikatan", "png-band"]
        # Balikatan has no end year; its latest evidence is a report as of 2020.
        assert _slugs([("year", "2020")]) == ["balikatan"]
        assert _slugs([("year", "2021")]) == []
        Activity.objects.create(project=world["balikatan"], title="Later", kind="exercise", year=2022)
        assert _slugs([("year", "2022")]) == ["balikatan"]
        assert _slugs([("year", "2023")]) == []

    def test_start_year_bounds(self, world):
        assert _slugs([("start_year_min", "2017")]) == ["balikatan", "png-band"]
        assert _slugs([("start_year_max", "2012")]) == ["vn-medicine"]
        assert _slugs([("start_year_min", "2016"), ("start_year_max", "2017")]) == ["balikatan", "hadr-seminar"]

    def test_cooperating_country(self, world):
        assert _slugs([("cooperating_country", "GB")]) == ["hadr-seminar"]
        assert _slugs([("cooperating_country", "au"), ("cooperating_country", "GB")]) == ["balikatan", "hadr-seminar"]

    def test_filters_combine(self, world):
        assert _slugs([("country", "PH"), ("field", "ha-dr"), ("year", "2016")]) == ["hadr-seminar"]

    def test_search_finds_title_description_partner_and_field_names(self, world):
        assert _slugs([("q", "balikatan")]) == ["balikatan"]
        assert _slugs([("q", "Guinea")]) == ["png-band"]
        assert _slugs([("q", "medicine")]) == ["vn-medicine"]
        assert _slugs([("q", "Philippines seminar")]) == ["hadr-seminar"]

    def test_search_follows_a_renamed_partner(self, world):
        png = Partner.objects.get(slug="png")
        png.name = "Independent State of PNG"
        png.save()
        assert _slugs([("q", "Independent")]) == ["png-band"]

    def test_search_follows_changed_partners(self, world):
        world["png_band"].partners.add(Partner.objects.get(slug="vietnam"))
        assert _slugs([("q", "Vietnam band")]) == ["png-band"]

    def test_search_matches_a_hidden_partners_names_only_for_readers_who_may_see_it(self, world, viewer):
        """The names of a draft partner linked to a published project are in no
        anonymous reader's search: a match would confirm the name and the link."""
        from django.contrib.auth.models import AnonymousUser
        from django.test import RequestFactory

        hidden = Partner.objects.create(
            slug="osprey", name="Osprey Flotilla", name_ja="オスプレイ艦隊", country="PH", region="southeast_asia",
            publication_state="draft",
        )  # fmt: skip
        world["png_band"].partners.add(hidden)

        def found(query, user):
            request = RequestFactory().get("/")
            request.user = user
            fs = ProjectFilterSet({"q": query}, Project.objects.all(), request=request)
            assert fs.is_valid(), fs.errors
            return sorted(fs.qs.values_list("slug", flat=True))

        for query in ("Osprey", "Flotilla", "オスプレイ艦隊", "Osprey band"):
            assert found(query, AnonymousUser()) == [], query
            assert found(query, viewer) == ["png-band"], query
        assert found("band", AnonymousUser()) == ["png-band"]  # the project itself is still found
        # Published, the partner's names are everyone's; withdrawn, no one's but staff.
        hidden.publication_state = "published"
        hidden.save()
        assert found("Osprey", AnonymousUser()) == ["png-band"]
        hidden.publication_state = "draft"
        hidden.save()
        assert found("Osprey", AnonymousUser()) == []
        assert found("Osprey", viewer) == ["png-band"]

    def test_search_terms_are_bounded(self, world):
        errors = _errors([("q", " ".join(["word"] * 11))])
        assert "q" in errors and "10" in str(errors["q"])
        assert _slugs([("q", " ".join(["balikatan"] * 10))]) == ["balikatan"]

    def test_ordering(self, world):
        fs = ProjectFilterSet({"ordering": "-start_year"}, Project.objects.all())
        assert [p.slug for p in fs.qs][:2] == ["png-band", "balikatan"]

    @pytest.mark.parametrize(
        "param,value",
        [
            ("partner", "atlantis"),
            ("field", "basket-weaving"),
            ("program", "nope"),
            ("status", "finished"),
            ("year", "abc"),
            ("year", "20155"),
            ("year", "2015.5"),
            ("start_year_min", "1200"),
            ("country", "XX"),
            ("cooperating_country", "ZZ"),
            ("region", "atlantis"),
            ("asean", "maybe"),
            ("ordering", "password"),
        ],
    )
    def test_an_invalid_value_is_an_error_naming_the_parameter(self, world, param, value):
        assert param in _errors([(param, value)])

    def test_a_draft_partner_cannot_be_probed_by_the_public(self, world, rf):
        from django.contrib.auth.models import AnonymousUser

        Partner.objects.create(
            name="Hidden", slug="hidden", country="JP", region="east_asia", publication_state="draft"
        )
        request = rf.get("/")
        request.user = AnonymousUser()
        fs = ProjectFilterSet({"partner": "hidden"}, Project.objects.all(), request=request)
        assert not fs.is_valid()
        assert "partner" in fs.errors


class TestActivityFilters:
    @pytest.fixture
    def activities(self, world):
        Activity.objects.create(project=world["vn_medicine"], title="Seminar in Hanoi", kind="seminar", year=2013)
        Activity.objects.create(project=world["balikatan"], title="Balikatan 2017", kind="exercise", year=2017)
        Activity.objects.create(project=world["png_band"], title="Band training", kind="training", year=2018)

    def _titles(self, params):
        return sorted(
            Activity.objects.get(slug=s).title for s in _slugs(params, Activity.objects.all(), ActivityFilterSet)
        )

    def test_filters_by_project_partner_country_field_kind_and_year(self, activities):
        assert self._titles([("project", "png-band")]) == ["Band training"]
        assert self._titles([("partner", "philippines")]) == ["Balikatan 2017"]
        assert self._titles([("country", "vn")]) == ["Seminar in Hanoi"]
        assert self._titles([("field", "ha-dr")]) == ["Balikatan 2017"]
        assert self._titles([("kind", "training"), ("kind", "seminar")]) == ["Band training", "Seminar in Hanoi"]
        assert self._titles([("year", "2017")]) == ["Balikatan 2017"]
        assert self._titles([("q", "hanoi")]) == ["Seminar in Hanoi"]

    def test_invalid_values_are_errors(self, activities):
        assert "kind" in _errors([("kind", "party")], ActivityFilterSet, Activity.objects.all())
        assert "year" in _errors([("year", "x")], ActivityFilterSet, Activity.objects.all())


class TestPartnerFilters:
    def test_filters_partners(self, world):
        qs = Partner.objects.all()
        assert _slugs([("region", "oceania")], qs, PartnerFilterSet) == ["png"]
        assert _slugs([("asean", "true")], qs, PartnerFilterSet) == ["philippines", "vietnam"]
        assert _slugs([("country", "ph")], qs, PartnerFilterSet) == ["philippines"]
        assert _slugs([("q", "パプア")], qs, PartnerFilterSet) == ["png"]
        assert "kind" in _errors([("kind", "navy")], PartnerFilterSet, qs)
