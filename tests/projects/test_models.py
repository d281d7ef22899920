"""The data rules, tested both ways: through full_clean() (what forms see) and through
create()/update() straight to the database (what the named constraints and triggers stop)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.models import MAX_YEAR, MIN_YEAR
from projects.models import Activity, Citation, Project, StatusReport


def _project(program, **kwargs):
    values = {"title": "A project", "slug": "a-project", "program": program, "start_year": 2013}
    values.update(kwargs)
    return Project(**values)


def _assert_db_refuses(constraint_name, fn):
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        fn()
    # SQLite names the constraint in its message; PostgreSQL does too (constraint "...").
    assert constraint_name in str(excinfo.value)


class TestProjectYears:
    def test_it_rejects_end_year_before_start_year_in_full_clean(self, program):
        project = _project(program, start_year=2015, end_year=2013)
        with pytest.raises(ValidationError) as excinfo:
            project.full_clean()
        assert "end_year" in excinfo.value.message_dict
        assert "cannot be before start year" in " ".join(excinfo.value.message_dict["end_year"])

    def test_it_rejects_end_year_before_start_year_in_the_database(self, program):
        _assert_db_refuses(
            "projects_project_end_year_not_before_start_year",
            lambda: _project(program, start_year=2015, end_year=2013).save(),
        )

    def test_it_accepts_an_open_end_and_a_single_year(self, program):
        _project(program, slug="open", start_year=2012, end_year=None).full_clean()
        _project(program, slug="single", start_year=2015, end_year=2015).full_clean()

    @pytest.mark.parametrize("year", [MIN_YEAR - 1, MAX_YEAR + 1, 0])
    def test_it_rejects_a_start_year_outside_the_sane_range(self, program, year):
        with pytest.raises(ValidationError) as excinfo:
            _project(program, start_year=year).full_clean()
        assert "between" in str(excinfo.value)
        _assert_db_refuses(
            "projects_project_start_year_in_range", lambda: _project(program, start_year=year, end_year=None).save()
        )

    def test_it_rejects_an_end_year_outside_the_sane_range(self, program):
        with pytest.raises(ValidationError):
            _project(program, end_year=MAX_YEAR + 5).full_clean()
        _assert_db_refuses(
            "projects_project_end_year_in_range", lambda: _project(program, end_year=MAX_YEAR + 5).save()
        )

    def test_a_start_year_the_sources_do_not_state_may_stay_empty(self, program):
        project = _project(program, start_year=None, end_year=None)
        project.full_clean()
        project.save()
        assert project.years_display == "years not stated"

    def test_slugs_are_unique(self, program):
        _project(program).save()
        with pytest.raises(ValidationError) as excinfo:
            _project(program, title="Other").full_clean()
        assert "slug" in excinfo.value.message_dict
        with pytest.raises(IntegrityError), transaction.atomic():
            _project(program, title="Other").save()

    def test_saving_bumps_the_version(self, project):
        version = project.version
        project.title = "Renamed"
        project.save()
        project.refresh_from_db()
        assert project.version == version + 1


class TestSearchDocument:
    def test_saving_builds_it_from_the_project_and_its_public_links(self, project, partner, field):
        project.description = "Disaster relief training"
        project.save()
        project.refresh_from_db()
        assert project.search_document == "HA/DR for Vietnam Disaster relief training Vietnam HA/DR"

    def test_unpublishing_a_partner_takes_its_name_out(self, project, partner):
        partner.publication_state = "draft"
        partner.save()
        project.refresh_from_db()
        assert project.search_document == "HA/DR for Vietnam HA/DR"

    def test_a_fixture_keeps_the_document_it_holds(self, project):
        from django.core import serializers

        project.search_document = "as exported"
        (loaded,) = serializers.deserialize("json", serializers.serialize("json", [project]))
        loaded.save()
        project.refresh_from_db()
        assert project.search_document == "as exported"


class TestActivityInsideProjectSpan:
    def test_it_rejects_an_activity_before_its_project_in_full_clean(self, project):
        activity = Activity(project=project, title="Too early", kind=Activity.Kind.SEMINAR, year=2010)
        with pytest.raises(ValidationError) as excinfo:
            activity.full_clean()
        assert "outside its project's years (2013–2015)" in " ".join(excinfo.value.message_dict["year"])

    def test_it_rejects_an_activity_after_its_project_in_the_database(self, project):
        _assert_db_refuses(
            "projects_activity_within_project_span",
            lambda: Activity.objects.create(project=project, title="Too late", kind="seminar", year=2016),
        )

    def test_it_rejects_moving_an_activity_out_of_the_span_in_the_database(self, project):
        activity = project.activities.get()
        _assert_db_refuses(
            "projects_activity_within_project_span",
            lambda: Activity.objects.filter(pk=activity.pk).update(year=2020),
        )

    def test_it_rejects_shrinking_a_project_away_from_its_activities(self, project):
        # The activity is in 2014; a span of 2015-2015 would strand it.
        project.start_year = 2015
        with pytest.raises(ValidationError) as excinfo:
            project.full_clean()
        assert "start_year" in excinfo.value.message_dict
        _assert_db_refuses(
            "projects_activity_within_project_span",
            lambda: Project.objects.filter(pk=project.pk).update(start_year=2015),
        )

    def test_an_open_ended_project_takes_activities_in_any_later_year(self, project):
        Project.objects.filter(pk=project.pk).update(end_year=None)
        Activity.objects.create(project=project, title="Later", kind="training", year=2030)
        assert project.activities.count() == 2

    def test_a_project_without_a_stated_start_takes_earlier_activities(self, program):
        project = _project(program, start_year=None, end_year=2019)
        project.save()
        activity = Activity(project=project, title="Third edition", kind="ship_rider_program", year=2019)
        activity.full_clean()
        activity.save()
        _assert_db_refuses(
            "projects_activity_within_project_span",
            lambda: Activity.objects.create(project=project, title="Too late", kind="seminar", year=2020),
        )


class TestActivityDates:
    def test_a_year_stays_a_year(self, project):
        activity = Activity.objects.create(project=project, title="Seminar", kind="seminar", year=2014)
        assert activity.precision == Activity.Precision.YEAR
        assert activity.date_display == "2014"

    def test_month_and_day_precision(self, project):
        month = Activity.objects.create(project=project, title="A", kind="seminar", year=2015, month=2)
        day = Activity.objects.create(project=project, title="B", kind="seminar", year=2015, month=5, day=12)
        assert (month.precision, month.date_display) == ("month", "February 2015")
        assert (day.precision, day.date_display) == ("day", "12 May 2015")

    def test_it_rejects_a_day_without_a_month(self, project):
        activity = Activity(project=project, title="A", kind="seminar", year=2014, day=3)
        with pytest.raises(ValidationError) as excinfo:
            activity.full_clean()
        assert "needs a month" in " ".join(excinfo.value.message_dict["day"])
        _assert_db_refuses("projects_activity_day_valid_for_month", activity.save)

    def test_it_rejects_a_day_the_month_does_not_have(self, project):
        activity = Activity(project=project, title="A", kind="seminar", year=2014, month=2, day=30)
        with pytest.raises(ValidationError) as excinfo:
            activity.full_clean()
        assert "has no day 30" in " ".join(excinfo.value.message_dict["day"])
        _assert_db_refuses("projects_activity_day_valid_for_month", activity.save)

    def test_it_rejects_the_29th_of_february_outside_a_leap_year(self, project):
        activity = Activity(project=project, title="A", kind="seminar", year=2014, month=2, day=29)
        with pytest.raises(ValidationError):
            activity.full_clean()

    def test_it_rejects_month_thirteen(self, project):
        activity = Activity(project=project, title="A", kind="seminar", year=2014, month=13)
        with pytest.raises(ValidationError):
            activity.full_clean()
        _assert_db_refuses("projects_activity_month_in_range", activity.save)

    def test_activities_sort_by_date_with_coarser_dates_first(self, project):
        Activity.objects.create(project=project, title="Day", kind="seminar", year=2014, month=3, day=1)
        Activity.objects.create(project=project, title="Month", kind="seminar", year=2014, month=3)
        Activity.objects.create(project=project, title="Early", kind="seminar", year=2013)
        titles = list(project.activities.values_list("title", flat=True))
        assert titles == ["Early", "HA/DR seminar", "Month", "Day"]

    def test_slugs_are_made_from_titles_and_unique_within_the_project(self, project):
        a = Activity.objects.create(project=project, title="HA/DR seminar", kind="seminar", year=2015)
        assert a.slug == "hadr-seminar-2"
        with pytest.raises(IntegrityError), transaction.atomic():
            Activity.objects.create(project=project, title="x", slug="hadr-seminar", kind="seminar", year=2015)


class TestCitations:
    def test_it_rejects_a_citation_without_a_target(self, source):
        citation = Citation(source=source, section="S", excerpt="text")
        with pytest.raises(ValidationError) as excinfo:
            citation.full_clean()
        assert "exactly one record" in str(excinfo.value)
        _assert_db_refuses("projects_citation_exactly_one_target", citation.save)

    def test_it_rejects_a_citation_with_two_targets(self, source, project, partner):
        citation = Citation(source=source, section="S", excerpt="text", project=project, partner=partner)
        with pytest.raises(ValidationError):
            citation.full_clean()
        _assert_db_refuses("projects_citation_exactly_one_target", citation.save)

    def test_it_rejects_an_empty_excerpt(self, source, project):
        citation = Citation(source=source, section="S", excerpt="", project=project)
        with pytest.raises(ValidationError) as excinfo:
            citation.full_clean()
        assert "excerpt" in excinfo.value.message_dict
        _assert_db_refuses("projects_citation_excerpt_not_empty", citation.save)

    def test_target_names_the_cited_record(self, project):
        assert project.citations.get().target == project


class TestVisibility:
    def test_public_holds_published_projects_only(self, project, draft_project):
        assert list(Project.objects.public()) == [project]

    def test_anonymous_and_unprivileged_users_see_only_published(self, project, draft_project, django_user_model):
        from django.contrib.auth.models import AnonymousUser

        nobody = django_user_model.objects.create_user("nobody", password="x" * 12)
        assert list(Project.objects.for_user(AnonymousUser())) == [project]
        assert list(Project.objects.for_user(nobody)) == [project]
        assert list(Project.objects.for_user(None)) == [project]

    def test_staff_roles_see_drafts(self, project, draft_project, viewer, editor, administrator):
        for user in (viewer, editor, administrator):
            assert set(Project.objects.for_user(user)) == {project, draft_project}

    def test_an_inactive_user_sees_only_published(self, project, draft_project, editor):
        editor.is_active = False
        editor.save()
        assert list(Project.objects.for_user(editor)) == [project]

    def test_activities_and_citations_of_drafts_are_hidden(self, project, draft_project, source):
        hidden = Activity.objects.create(project=draft_project, title="Hidden", kind="seminar", year=2021)
        Citation.objects.create(source=source, section="S", excerpt="hidden", activity=hidden)
        Citation.objects.create(source=source, section="S", excerpt="hidden too", project=draft_project)
        assert hidden not in Activity.objects.public()
        assert not Citation.objects.public().filter(excerpt__startswith="hidden").exists()
        assert Citation.objects.public().filter(project=project).exists()

    def test_active_in_counts_a_project_in_each_year_of_its_span(self, project, draft_project, program):
        open_ended = _project(program, slug="open", start_year=2012, end_year=None)
        open_ended.save()
        undated = _project(program, slug="undated", start_year=None)
        undated.save()
        assert set(Project.objects.active_in(2013)) == {project}
        assert set(Project.objects.active_in(2012)) == {open_ended}  # no evidence: its start year only
        assert set(Project.objects.active_in(2021)) == {draft_project}
        assert set(Project.objects.active_in(2030)) == set()  # nothing says anything about 2030
        assert undated not in Project.objects.active_in(2015)
        StatusReport.objects.create(project=open_ended, status="ongoing", year=2016, month=6)
        assert set(Project.objects.active_in(2016)) == {open_ended}
        assert open_ended not in Project.objects.active_in(2017)
        open_ended.end_year = 2030  # a stated end year is the end, evidence or not
        open_ended.save()
        assert open_ended in Project.objects.active_in(2030)


class TestNaturalKeys:
    def test_reference_data_is_found_by_slug(self, project, partner, field, program, source):
        from partners.models import Partner
        from projects.models import Field, Program, Source

        assert Partner.objects.get_by_natural_key("vietnam") == partner
        assert Field.objects.get_by_natural_key("ha-dr") == field
        assert Program.objects.get_by_natural_key("capacity-building") == program
        assert Source.objects.get_by_natural_key("test-source") == source
        assert Project.objects.get_by_natural_key("ha-dr-vietnam") == project
        activity = project.activities.get()
        assert activity.natural_key() == ("ha-dr-vietnam", "hadr-seminar")
        assert Activity.objects.get_by_natural_key(*activity.natural_key()) == activity
