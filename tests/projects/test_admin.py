"""The admin back office: pages, roles, validation, bulk actions, import/export, history
and optimistic locking."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, ProjectPartner, Source
from tests.conftest import TEST_REASON

pytestmark = pytest.mark.django_db

MODELS = [Partner, Field, Program, Source, Project, Activity, Citation]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def partner_rows(project, partners=None):
    """The partner inline's data (prefix projectpartner_set): the project's links as they
    stand, or, given `partners` (ids, or (id, role) pairs), these: a stored link kept (its
    role edited in place), the others deleted, new ones added."""
    prefix = "projectpartner_set"
    links = list(ProjectPartner.objects.filter(project=project).order_by("pk"))
    wanted = None if partners is None else dict(p if isinstance(p, tuple) else (p, "recipient") for p in partners)
    stored = {link.partner_id for link in links}
    new = [] if wanted is None else [(pk, role) for pk, role in wanted.items() if pk not in stored]
    data = {
        f"{prefix}-TOTAL_FORMS": len(links) + len(new),
        f"{prefix}-INITIAL_FORMS": len(links),
        f"{prefix}-MIN_NUM_FORMS": 1,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for i, link in enumerate(links):
        role = link.role if wanted is None else wanted.get(link.partner_id, link.role)
        data.update({f"{prefix}-{i}-id": link.pk, f"{prefix}-{i}-project": project.pk,
                     f"{prefix}-{i}-partner": link.partner_id, f"{prefix}-{i}-role": role})  # fmt: skip
        if wanted is not None and link.partner_id not in wanted:
            data[f"{prefix}-{i}-DELETE"] = "on"
    for j, (partner, role) in enumerate(new, start=len(links)):
        data.update({f"{prefix}-{j}-project": project.pk, f"{prefix}-{j}-partner": partner, f"{prefix}-{j}-role": role})
    return data


def _project_post(project, **overrides):
    """The change form's data for a project as it stands, with overrides (`partners`: the
    partner inline's rows, see partner_rows)."""
    data = {
        "title": project.title,
        "slug": project.slug,
        "program": project.program_id,
        **partner_rows(project, overrides.pop("partners", None)),
        "fields": [f.pk for f in project.fields.all()],
        "start_year": project.start_year or "",
        "end_year": project.end_year or "",
        "cooperating_countries": [c.code for c in project.cooperating_countries],
        "description": project.description,
        "releasability": project.releasability,
        "loaded_version": project.version,
        "change_reason": TEST_REASON,
    }
    related_rows = (
        ("status_reports", project.status_reports.all()),
        ("activities", project.activities.all()),
        ("citations", project.citations.all()),
    )
    for prefix, related in related_rows:
        rows = list(related)
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": len(rows),
                f"{prefix}-INITIAL_FORMS": len(rows),
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1000,
            }
        )
        for i, row in enumerate(rows):
            data[f"{prefix}-{i}-id"] = row.pk
            data[f"{prefix}-{i}-project"] = project.pk
            data[f"{prefix}-{i}-loaded_version"] = row.version
            data[f"{prefix}-{i}-releasability"] = row.releasability
            if prefix == "status_reports":
                data.update(
                    {
                        f"{prefix}-{i}-status": row.status,
                        f"{prefix}-{i}-year": row.year,
                        f"{prefix}-{i}-month": row.month or "",
                        f"{prefix}-{i}-day": row.day or "",
                        f"{prefix}-{i}-note": row.note,
                    }
                )
            elif prefix == "activities":
                data.update(
                    {
                        f"{prefix}-{i}-title": row.title,
                        f"{prefix}-{i}-kind": row.kind,
                        f"{prefix}-{i}-year": row.year,
                        f"{prefix}-{i}-month": row.month or "",
                        f"{prefix}-{i}-day": row.day or "",
                        f"{prefix}-{i}-location": row.location,
                        f"{prefix}-{i}-location_country": row.location_country.code or "",
                    }
                )
            else:
                data.update(
                    {
                        f"{prefix}-{i}-source": row.source_id,
                        f"{prefix}-{i}-section": row.section,
                        f"{prefix}-{i}-excerpt": row.excerpt,
                    }
                )
    data.update(overrides)
    return data


class TestPages:
    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
    def test_every_list_add_and_change_page_renders_for_an_editor(self, editor_client, project, model):
        assert editor_client.get(_url(model, "changelist")).status_code == 200
        assert editor_client.get(_url(model, "changelist"), {"q": "HA/DR <script>"}).status_code == 200
        assert editor_client.get(_url(model, "add")).status_code == 200
        obj = model.objects.first()
        assert editor_client.get(_url(model, "change", obj.pk)).status_code == 200
        assert editor_client.get(_url(model, "history", obj.pk)).status_code == 200

    def test_project_filters_render_and_filter(self, editor_client, project, draft_project):
        response = editor_client.get(_url(Project, "changelist"), {"status": "completed", "decade": "2010"})
        assert response.status_code == 200
        assert [p.pk for p in response.context["cl"].result_list] == [project.pk]
        assert editor_client.get(_url(Project, "changelist"), {"decade": "nonsense"}).status_code == 200

    def test_partner_autocomplete_answers(self, editor_client, partner):
        response = editor_client.get(
            "/admin/autocomplete/",
            {"term": "viet", "app_label": "projects", "model_name": "project", "field_name": "partners"},
        )
        assert response.status_code == 200
        assert response.json()["results"][0]["text"] == "Vietnam"

    def test_the_project_page_shows_activities_and_citations_inline(self, editor_client, project):
        html = editor_client.get(_url(Project, "change", project.pk)).content.decode()
        assert "HA/DR seminar" in html
        assert "HA/DR (2014)" in html


class TestRoles:
    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
    def test_a_viewer_reads_but_cannot_add_change_or_delete(self, viewer_client, project, model):
        obj = model.objects.first()
        assert viewer_client.get(_url(model, "changelist")).status_code == 200
        page = viewer_client.get(_url(model, "change", obj.pk))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert viewer_client.get(_url(model, "add")).status_code == 403
        assert viewer_client.post(_url(model, "add"), {}).status_code == 403
        assert viewer_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()

    def test_a_viewers_post_to_a_change_page_is_refused_and_changes_nothing(self, viewer_client, project):
        response = viewer_client.post(_url(Project, "change", project.pk), _project_post(project, title="Hacked"))
        assert response.status_code == 403
        project.refresh_from_db()
        assert project.title == "HA/DR for Vietnam"

    def test_a_viewer_cannot_run_bulk_actions(self, viewer_client, draft_project):
        page = viewer_client.get(_url(Project, "changelist")).content.decode()
        assert "Publish selected projects" not in page
        viewer_client.post(_url(Project, "changelist"), {"action": "publish", "_selected_action": [draft_project.pk]})
        draft_project.refresh_from_db()
        assert not draft_project.published

    def test_a_viewer_may_export_but_not_import(self, viewer_client, project):
        assert viewer_client.get(_url(Project, "import")).status_code == 403
        assert viewer_client.get(_url(Project, "export")).status_code == 200

    @pytest.mark.parametrize("path", ["/admin/auth/user/", "/admin/auth/group/", "/admin/auth/user/add/"])
    def test_only_superusers_manage_users(self, editor_client, viewer_client, administrator_client, path):
        assert editor_client.get(path).status_code == 403
        assert viewer_client.get(path).status_code == 403
        assert administrator_client.get(path).status_code == 200

    def test_anonymous_visitors_are_sent_to_the_login_page(self, client, project):
        response = client.get(_url(Project, "changelist"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


class TestValidation:
    def test_it_names_the_field_when_end_year_is_before_start_year(self, editor_client, project):
        response = editor_client.post(
            _url(Project, "change", project.pk), _project_post(project, start_year=2015, end_year=2013)
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "cannot be before start year" in str(errors["end_year"])
        project.refresh_from_db()
        assert (project.start_year, project.end_year) == (2013, 2015)

    def test_it_refuses_an_activity_outside_the_projects_years_with_a_message(self, editor_client, project):
        data = _project_post(project)
        data["activities-0-year"] = 2019
        response = editor_client.post(_url(Project, "change", project.pk), data)
        assert response.status_code == 200
        assert "outside its project" in response.content.decode()
        assert project.activities.get().year == 2014

    def test_it_refuses_shrinking_the_years_away_from_an_activity(self, editor_client, project):
        response = editor_client.post(_url(Project, "change", project.pk), _project_post(project, end_year=2013))
        assert response.status_code == 200
        assert "would fall outside the project" in response.content.decode()
        project.refresh_from_db()
        assert project.end_year == 2015

    def test_a_project_needs_a_partner(self, editor_client, project):
        response = editor_client.post(_url(Project, "change", project.pk), _project_post(project, partners=[]))
        assert response.status_code == 200
        formset = next(
            f.formset for f in response.context["inline_admin_formsets"] if f.formset.model is ProjectPartner
        )
        assert "at least 1" in str(formset.non_form_errors())
        assert project.partners.count() == 1

    def test_a_partner_role_is_saved_with_a_new_version_and_history(self, editor_client, project):
        partner = project.partners.get()
        version = project.version
        response = editor_client.post(
            _url(Project, "change", project.pk), _project_post(project, partners=[(partner.pk, "venue")])
        )
        assert response.status_code == 302
        project.refresh_from_db()
        assert ProjectPartner.objects.get(project=project).role == "venue"
        assert project.version == version + 1
        latest = project.history.order_by("-history_id").first()
        assert [(link.partner_id, link.role) for link in latest.partners.all()] == [(partner.pk, "venue")]
        assert partner.name in project.search_document

    def test_a_valid_save_records_history_with_the_user(self, editor_client, editor, project):
        response = editor_client.post(_url(Project, "change", project.pk), _project_post(project, title="Renamed"))
        assert response.status_code == 302
        latest = project.history.order_by("-history_date").first()
        assert latest.title == "Renamed"
        assert latest.history_user == editor


class TestOptimisticLocking:
    def test_it_refuses_a_stale_save_and_keeps_the_first_editors_changes(
        self, editor_client, other_editor_client, project
    ):
        # Both open the page and hold the same version.
        for client in (editor_client, other_editor_client):
            assert client.get(_url(Project, "change", project.pk)).status_code == 200
        opened = _project_post(project)
        first = editor_client.post(_url(Project, "change", project.pk), {**opened, "title": "First editor's title"})
        assert first.status_code == 302
        stale = {**opened, "title": "Second editor's title", "activities-0-title": "Changed inline"}
        second = other_editor_client.post(_url(Project, "change", project.pk), stale)
        assert second.status_code == 200
        assert "was changed by ed" in second.content.decode()
        assert "Your changes were not saved" in second.content.decode()
        project.refresh_from_db()
        assert project.title == "First editor's title"
        assert project.activities.get().title == "HA/DR seminar"

    def test_a_partner_change_form_is_locked_too(self, editor_client, other_editor_client, partner):
        data = {
            "name": partner.name,
            "slug": partner.slug,
            "kind": partner.kind,
            "country": "VN",
            "region": partner.region,
            "asean_member": "on",
            "releasability": "public",
            "loaded_version": partner.version,
            "change_reason": TEST_REASON,
            "citations-TOTAL_FORMS": 0,
            "citations-INITIAL_FORMS": 0,
        }
        assert editor_client.post(_url(Partner, "change", partner.pk), {**data, "name": "Viet Nam"}).status_code == 302
        response = other_editor_client.post(_url(Partner, "change", partner.pk), {**data, "name": "VN"})
        assert response.status_code == 200
        assert "Your changes were not saved" in response.content.decode()
        partner.refresh_from_db()
        assert partner.name == "Viet Nam"


class TestBulkActions:
    def test_submit_records_history_bumps_versions_and_reports_a_count(self, editor_client, editor, draft_project):
        version = draft_project.version
        response = editor_client.post(
            _url(Project, "changelist"),
            {"action": "submit_for_review", "_selected_action": [draft_project.pk]},
            follow=True,
        )
        assert "Submit for review: done for 1 project." in response.content.decode()
        draft_project.refresh_from_db()
        assert draft_project.publication_state == "in_review" and not draft_project.published
        assert draft_project.version == version + 1
        latest = draft_project.history.order_by("-history_date").first()
        assert latest.publication_state == "in_review" and latest.history_user == editor

    def test_set_status_changes_every_selected_project(self, editor_client, project, draft_project):
        editor_client.post(
            _url(Project, "changelist"),
            {"action": "set_status_suspended", "_selected_action": [project.pk, draft_project.pk]},
        )
        assert set(Project.objects.values_list("status", flat=True)) == {"suspended"}

    def test_withdraw_asks_why_then_unpublishes(self, editor_client, project):
        action = {"action": "withdraw_selected", "_selected_action": [project.pk]}
        asked = editor_client.post(_url(Project, "changelist"), action)
        assert asked.status_code == 200 and "Reason (shown in the history)" in asked.content.decode()
        project.refresh_from_db()
        assert project.published
        editor_client.post(
            _url(Project, "changelist"), {**action, "review_confirmed": "yes", "review_text": "Under revision"}
        )
        project.refresh_from_db()
        assert not project.published and project.history.first().history_change_reason == "Withdrawn: Under revision"


def _import(client, model, content, filename="projects.csv", fmt="0"):
    upload = io.BytesIO(content.encode() if isinstance(content, str) else content)
    upload.name = filename
    data = {"import_file": upload, "format": fmt, "resource": 0, "change_reason": TEST_REASON}
    return client.post(_url(model, "import"), data)


def _confirm(client, model, preview):
    form = preview.context["confirm_form"]
    return client.post(_url(model, "process_import"), {**form.initial}, follow=True)


class TestImportExport:
    HEADER = "slug,title,program,partners,fields,start_year,end_year,status,cooperating_countries,description,published"

    def test_a_good_file_is_previewed_then_imported_with_history(self, editor_client, editor, program, partner, field):
        row = 'new-one,New project,capacity-building,vietnam,ha-dr,2016,2017,completed,"AU,US",Text,1'
        csv = f"{self.HEADER}\n{row}\n"
        preview = _import(editor_client, Project, csv)
        assert preview.status_code == 200
        assert not Project.objects.filter(slug="new-one").exists()  # a preview writes nothing
        _confirm(editor_client, Project, preview)
        project = Project.objects.get(slug="new-one")
        assert [p.slug for p in project.partners.all()] == ["vietnam"]
        assert [c.code for c in project.cooperating_countries] == ["AU", "US"]
        assert project.history.first().history_user == editor

    def test_a_file_with_a_bad_row_imports_nothing_and_says_which_row_and_why(
        self, editor_client, program, partner, field
    ):
        csv = (
            f"{self.HEADER}\n"
            "good-row,Good,capacity-building,vietnam,ha-dr,2016,2017,completed,,,1\n"
            "bad-row,Bad,capacity-building,vietnam,ha-dr,2016,2012,completed,,,1\n"
            "worse-row,Worse,capacity-building,atlantis,ha-dr,2016,,planned,,,1\n"
        )
        response = _import(editor_client, Project, csv)
        html = response.content.decode()
        assert "confirm_form" not in response.context or response.context["confirm_form"] is None
        assert "cannot be before start year" in html
        assert "no partner with slug &#x27;atlantis&#x27;" in html or "no partner with slug 'atlantis'" in html
        result = response.context["result"]
        assert {row.number: set(row.error_dict) for row in result.invalid_rows} == {2: {"end_year"}, 3: {"partners"}}
        assert not Project.objects.exists()

    def test_export_as_csv_and_xlsx_names_related_records_by_slug(self, editor_client, project):
        columns = "slug title program partners fields start_year end_year status cooperating_countries description"
        form = {"resource": 0, **{f"projectresource_{c}": "on" for c in columns.split()}}
        csv = editor_client.post(_url(Project, "export"), {**form, "format": "0"})
        body = b"".join(csv.streaming_content).decode() if csv.streaming else csv.content.decode()
        assert "ha-dr-vietnam,HA/DR for Vietnam,capacity-building,vietnam,ha-dr,2013,2015,completed" in body
        xlsx = editor_client.post(_url(Project, "export"), {**form, "format": "1"})
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert [c.value for c in sheet[1]][:3] == ["slug", "title", "program"]
        assert sheet[2][0].value == "ha-dr-vietnam"

    def test_partners_import_by_parent_slug(self, editor_client, partner):
        csv = (
            "slug,name,name_ja,kind,country,region,asean_member,parent,description,published\n"
            "vietnam-navy,Vietnam People's Navy,,service,VN,southeast_asia,1,vietnam,,1\n"
        )
        preview = _import(editor_client, Partner, csv, "partners.csv")
        _confirm(editor_client, Partner, preview)
        assert Partner.objects.get(slug="vietnam-navy").parent == partner

    def test_an_unreadable_file_is_refused_with_a_message(self, editor_client, program):
        response = _import(editor_client, Project, b"\x00\x01\x02 not a spreadsheet", "x.xlsx", fmt="1")
        assert response.status_code == 200
        assert not Project.objects.exists()
        assert response.context["form"].errors or "error" in response.content.decode().lower()


class TestHistory:
    def test_reverting_restores_an_earlier_version_and_records_who(self, editor_client, editor, project):
        original = project.history.order_by("history_date").first()
        project.title = "A mistaken title"
        project.save()
        url = reverse("admin:projects_project_simple_history", args=[project.pk, original.history_id])
        page = editor_client.get(url)
        assert page.status_code == 200
        form = page.context["adminform"].form
        data = _project_post(project, title=form.initial["title"], loaded_version=form.fields["loaded_version"].initial)
        response = editor_client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
        project.refresh_from_db()
        assert project.title == "HA/DR for Vietnam"
        latest = project.history.order_by("-history_date").first()
        assert latest.history_user == editor and latest.title == "HA/DR for Vietnam"
        assert project.version == 3  # forward, never back to the reverted copy's number

    def test_the_history_page_lists_who_changed_what(self, editor_client, editor, project):
        editor_client.post(_url(Project, "change", project.pk), _project_post(project, title="Renamed"))
        html = editor_client.get(_url(Project, "history", project.pk)).content.decode()
        assert "ed" in html and "Renamed" in html or "title" in html
