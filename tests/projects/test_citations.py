"""Citations are checked against their sources' texts, not trusted (projects/citations.py):
on every save (the admin's own page and its inlines, any full_clean), by `manage.py
verify_citations` after a text changes, and shown as "not verified" where no text is on
file (public pages, API, the admin's list)."""

import io
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from core.cache import version as data_version
from projects.citations import check_citation, source_text
from projects.models import Citation, Source

pytestmark = pytest.mark.django_db

TEXT_FILE = "000_89ed16d3c4fe2a14.txt"
SECTION = "Introduction"
EXCERPT = (
    "humanitarian assistance and disaster relief (HA/DR) cooperation within the framework of the "
    "ASEAN Defense Ministers’ Meeting (ADMM) Plus"
)


@pytest.fixture
def on_file(db):
    """A source whose text is in SOURCES_DIR."""
    return Source.objects.create(slug="shoji-2015", title="Shoji 2015", year=2015, filename=TEXT_FILE)


def _add_citation(client, **data):
    return client.post(reverse("admin:projects_citation_add"), {"releasability": "public", **data})


class TestTheCheck:
    def test_an_excerpt_of_the_text_under_its_heading_is_verified(self, on_file):
        assert check_citation(on_file, SECTION, EXCERPT) is True
        assert check_citation(on_file, SECTION, EXCERPT.replace("relief ", "relief\n")) is True

    @pytest.mark.parametrize(
        "excerpt",
        [
            EXCERPT.replace("Ministers’", "Ministers'"),  # a straight quote for the source's curly one
            EXCERPT.replace("HA/DR", "HADR"),
            "Japan supplied fighter jets to every ASEAN member",  # invented
        ],
    )
    def test_anything_else_is_an_error_on_the_excerpt(self, on_file, excerpt):
        with pytest.raises(ValidationError) as caught:
            check_citation(on_file, SECTION, excerpt)
        assert set(caught.value.message_dict) == {"excerpt"}
        assert TEXT_FILE in caught.value.message_dict["excerpt"][0]

    def test_a_section_that_is_not_a_heading_is_an_error_on_the_section(self, on_file):
        with pytest.raises(ValidationError) as caught:
            check_citation(on_file, "Chapter 99: Submarines", EXCERPT)
        assert set(caught.value.message_dict) == {"section"}

    def test_a_footnote_section_is_checked_without_its_note_number(self, on_file):
        assert check_citation(on_file, f"{SECTION} (note 3)", EXCERPT) is True

    def test_a_source_without_a_text_cannot_be_checked(self, source):
        assert check_citation(source, SECTION, "anything at all") is False

    @pytest.mark.parametrize("name", ["../PRODUCT.md", "/etc/passwd", "sub/file.txt", ".."])
    def test_a_file_name_cannot_reach_outside_the_sources_folder(self, name):
        assert source_text(name) is None
        with pytest.raises(ValidationError) as caught:
            Source(slug="s", title="S", filename=name).full_clean()
        assert set(caught.value.message_dict) == {"filename"}


class TestSaving:
    def test_full_clean_refuses_a_passage_the_source_does_not_hold(self, on_file, project):
        citation = Citation(source=on_file, section=SECTION, excerpt="Japan sold submarines", project=project)
        with pytest.raises(ValidationError) as caught:
            citation.full_clean()
        assert "excerpt" in caught.value.message_dict

    def test_a_save_records_whether_the_citation_was_verified(self, on_file, source, project):
        good = Citation.objects.create(source=on_file, section=SECTION, excerpt=EXCERPT, project=project)
        unchecked = Citation.objects.create(source=source, section=SECTION, excerpt=EXCERPT, project=project)
        # A save that skipped validation cannot mark a wrong passage verified.
        wrong = Citation.objects.create(source=on_file, section=SECTION, excerpt="not in it", project=project)
        assert (good.verified, unchecked.verified, wrong.verified) == (True, False, False)
        good.excerpt = "changed"
        good.save(update_fields=["excerpt"])
        good.refresh_from_db()
        assert good.verified is False

    def test_the_admin_names_the_excerpt_and_saves_nothing(self, editor_client, on_file, project):
        before = Citation.objects.count()
        response = _add_citation(
            editor_client, source=on_file.pk, section=SECTION, excerpt="Japan sold submarines", project=project.pk
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "excerpt" in errors and "does not occur" in errors["excerpt"][0]
        assert Citation.objects.count() == before

    def test_the_admin_saves_a_true_quotation_as_verified(self, editor_client, on_file, project):
        response = _add_citation(editor_client, source=on_file.pk, section=SECTION, excerpt=EXCERPT, project=project.pk)
        assert response.status_code == 302
        assert Citation.objects.get(excerpt=EXCERPT).verified is True

    def test_an_inline_row_on_the_project_page_is_checked_too(self, editor_client, on_file, project):
        from tests.projects.test_admin import _project_post

        data = _project_post(project)
        i = data["citations-TOTAL_FORMS"]
        data.update(
            {"citations-TOTAL_FORMS": i + 1, f"citations-{i}-source": on_file.pk, f"citations-{i}-section": SECTION,
             f"citations-{i}-excerpt": "Japan sold submarines", f"citations-{i}-project": project.pk}
        )  # fmt: skip
        response = editor_client.post(reverse("admin:projects_project_change", args=[project.pk]), data)
        assert response.status_code == 200
        (citations,) = [i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "citations"]
        rows = [f.errors for f in citations.formset.forms]
        assert any("excerpt" in errors for errors in rows)
        assert not project.citations.filter(source=on_file).exists()

    def test_a_source_cannot_be_pointed_at_a_text_its_citations_are_not_in(self, on_file, project):
        Citation.objects.create(source=on_file, section=SECTION, excerpt=EXCERPT, project=project)
        on_file.filename = "003_c2942d8e51fc462d.txt"
        with pytest.raises(ValidationError) as caught:
            on_file.full_clean()
        assert set(caught.value.message_dict) == {"filename"}


class TestShown:
    def test_api_and_public_page_say_not_verified(self, client, project):
        assert not project.citations.filter(verified=True).exists()  # the test source has no text
        body = client.get(f"/api/v1/projects/{project.slug}/").json()
        assert [c["verified"] for c in body["citations"]] == [False]
        page = client.get(project.get_absolute_url()).content.decode()
        # The project's, its activity's and its status report's.
        assert page.count('class="note citation-unverified"') == 3

    def test_a_verified_citation_carries_no_warning(self, client, on_file, project):
        project.citations.all().delete()
        project.activities.all().delete()
        project.status_reports.all().delete()
        Citation.objects.create(source=on_file, section=SECTION, excerpt=EXCERPT, project=project)
        assert client.get(f"/api/v1/projects/{project.slug}/").json()["citations"][0]["verified"] is True
        assert "citation-unverified" not in client.get(project.get_absolute_url()).content.decode()

    def test_staff_can_list_the_unverified(self, editor_client, on_file, project):
        response = editor_client.get(reverse("admin:projects_citation_changelist") + "?verified__exact=0")
        assert response.status_code == 200
        assert (
            response.context["cl"].result_count
            == project.citations.count()
            + Citation.objects.filter(activity__project=project).count()
            + Citation.objects.filter(status_report__project=project).count()
        )


class TestVerifyCommand:
    @pytest.mark.django_db(transaction=True)
    def test_a_text_added_later_verifies_its_citations(self, tmp_path, settings, project):
        source = project.citations.first().source
        Citation.objects.filter(source=source).delete()
        Citation.objects.create(source=source, section=SECTION, excerpt=EXCERPT, project=project)
        settings.SOURCES_DIR = tmp_path
        source.filename = "later.txt"
        source.save()
        assert Citation.objects.get(source=source).verified is False
        shutil.copy(settings.BASE_DIR.parent / "shared" / "sources" / TEXT_FILE, tmp_path / "later.txt")
        before = cache.get(data_version.VERSION_KEY)
        out = io.StringIO()
        call_command("verify_citations", stdout=out)
        assert "1 citation(s) verified" in out.getvalue()
        assert Citation.objects.get(source=source).verified is True
        assert cache.get(data_version.VERSION_KEY) > before  # the caches' answers move on

    def test_it_fails_naming_a_citation_that_does_not_match(self, on_file, project):
        wrong = Citation.objects.create(
            source=on_file, section=SECTION, excerpt="Japan sold submarines", project=project
        )
        with pytest.raises(CommandError, match=f"citation #{wrong.pk}"):
            call_command("verify_citations", stdout=io.StringIO())


def test_the_seed_data_is_all_verified(db):
    call_command("seed", stdout=io.StringIO())
    assert Citation.objects.exists()
    assert not Citation.objects.filter(verified=False).exists()
    assert settings.SOURCES_DIR.is_dir()
