"""Spreadsheet imports of any size the limits allow: a preview's queries do not grow with
its rows, a confirmation writes what saving each record would, a file that cannot be
valid is refused at upload, a kept upload is removed when the import is confirmed or
cancelled, an import while the cache is down gets a message, the tracker's own XLSX
export imports again unchanged; and a staff search uses a bounded number of words."""

import csv
import io
import zipfile

import pytest
import redis
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import m2m_changed, post_save
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from core.admin import ImportUploadStorage
from core.filtersets import MAX_SEARCH_TERMS
from core.resources import IMPORT_MAX_ROWS
from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, Source
from projects.search import project_search_document
from tests.conftest import TEST_REASON, make_project
from tests.fuzz.snapshot import changed_tables, db_snapshot
from tests.projects.test_fast_paths import _redis_cache
from tests.projects.test_interrupted_writes import FailOnSecond
from tests.services import REDIS_URL

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"
HEADER = ["slug", "title", "program", "partners", "fields", "start_year", "end_year", "status", "cooperating_countries",
          "description", "published"]  # fmt: skip
PARTNER_HEADER = ["slug", "name", "name_ja", "kind", "country", "region", "asean_member", "parent", "description",
                  "published"]  # fmt: skip


def _url(model, view):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")


def _csv(rows, header=HEADER):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _xlsx(rows, header=HEADER):
    book = Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _preview(client, content, fmt=CSV_FORMAT, model=Project):
    upload = io.BytesIO(content)
    upload.name = "file.xlsx" if fmt == XLSX_FORMAT else "file.csv"
    data = {"import_file": upload, "format": fmt, "resource": 0, "change_reason": TEST_REASON}
    return client.post(_url(model, "import"), data)


def _confirm(client, preview, model=Project):
    assert preview.context["confirm_form"] is not None, preview.context["form"].errors
    return client.post(_url(model, "process_import"), preview.context["confirm_form"].initial)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _file_error(response):
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None, "a refused file must not be offered for confirmation"
    return " ".join(response.context["form"].errors.get("import_file", []))


def _project_rows(n, prefix="new", partners="vietnam,philippines", fields="ha-dr"):
    return [
        [f"{prefix}-{i}", f"Project {i}", "capacity-building", partners, fields, 2016, 2018, "completed", "AU,US",
         f"Text {i}", 1]
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def world(program, partner, field):
    """The reference data the files name: two partners, two fields, a program."""
    Partner.objects.create(name="Philippines", slug="philippines", country="PH", region="southeast_asia")
    Field.objects.create(name="Maritime security", slug="maritime-security")


def _queries(request):
    with CaptureQueriesContext(connection) as queries:
        response = request()
    return response, len(queries.captured_queries)


class TestQueries:
    """Speed is measured by the benchmark; what is tested is that no query is made per row."""

    def test_a_preview_of_new_rows_costs_the_same_queries_for_10_or_200(self, editor_client, world):
        counts = []
        for n in (10, 200):
            response, count = _queries(lambda n=n: _preview(editor_client, _csv(_project_rows(n, prefix=f"n{n}"))))
            assert response.context["confirm_form"] is not None
            counts.append(count)
        assert counts[0] == counts[1]

    def test_a_preview_of_stored_rows_costs_the_same_queries_for_10_or_200(self, editor_client, world, source):
        program = Program.objects.get()
        partners = list(Partner.objects.all())
        for i in range(200):
            project = make_project(f"stored-{i}", f"Stored {i}", program, partners, Field.objects.all(), 2014, 2018)
            Activity.objects.create(project=project, title=f"Seminar {i}", kind="seminar", year=2015)
            Citation.objects.create(source=source, section="Table", excerpt=f"stored {i}", project=project)
        counts = []
        for n in (10, 200):
            # The version of each, as an export carries it; new titles, one fewer partner, the years moved.
            rows = [
                [f"stored-{i}", f"Renamed {i}", "capacity-building", "vietnam", "ha-dr", 2015, 2019, "ongoing", "",
                 "", 1, 1]
                for i in range(n)
            ]  # fmt: skip
            response, count = _queries(lambda rows=rows: _preview(editor_client, _csv(rows, [*HEADER, "version"])))
            assert response.context["confirm_form"] is not None, response.context["result"].invalid_rows[:1]
            assert response.context["result"].totals["update"] == n
            counts.append(count)
        assert counts[0] == counts[1]

    def test_stale_versions_are_named_without_a_query_a_row(self, editor_client, other_editor, world):
        program = Program.objects.get()
        for i in range(30):
            project = make_project(f"stored-{i}", f"Stored {i}", program, Partner.objects.all(), [], 2014, 2018)
            project._history_user = other_editor
            project.save()  # version 2, by eve
        counts = []
        for n in (3, 30):
            rows = [[f"stored-{i}", "Mine", "capacity-building", "vietnam", "", 2014, 2018, "", "", "", 1, 1]
                    for i in range(n)]  # fmt: skip
            response, count = _queries(lambda rows=rows: _preview(editor_client, _csv(rows, [*HEADER, "version"])))
            assert "was changed by eve" in response.content.decode()
            counts.append(count)
        assert counts[0] == counts[1]

    @pytest.mark.parametrize("n", [10, 200])
    def test_a_confirmation_writes_in_statements_of_many_rows(self, editor_client, world, n):
        preview = _preview(editor_client, _csv(_project_rows(n)))
        _response, count = _queries(lambda: _confirm(editor_client, preview))
        assert Project.objects.filter(slug__startswith="new-").count() == n
        # A fixed number, plus a statement per batch of a few dozen to a few hundred rows
        # on SQLite (its bound on a statement's parameters); never a query a row.
        assert count < 60 + n // 10


class TestWhatAConfirmationWrites:
    """The confirmation writes in bulk, bypassing save() and the model signals; what it
    writes is what saving each record would."""

    def test_a_new_project_has_its_version_links_history_and_search_document(self, editor_client, editor, world):
        # (That the data version moves on, so the API's caches serve the import at once, is
        # tests/projects/test_fast_paths.py's test_the_admin_import.)
        preview = _preview(editor_client, _csv(_project_rows(1, partners="vietnam,philippines,vietnam")))
        _confirm(editor_client, preview)
        project = Project.objects.get(slug="new-0")
        assert project.version == 1
        assert sorted(p.slug for p in project.partners.all()) == ["philippines", "vietnam"]
        assert [f.slug for f in project.fields.all()] == ["ha-dr"]
        assert [c.code for c in project.cooperating_countries] == ["AU", "US"]
        assert sorted(project.search_document.split()) == sorted(project_search_document(project).split())
        assert "Vietnam" in project.search_document
        (record,) = project.history.all()
        assert (record.history_type, record.history_user, record.version) == ("+", editor, 1)
        assert sorted(link.partner.slug for link in record.partners.all()) == ["philippines", "vietnam"]
        assert [link.field.slug for link in record.fields.all()] == ["ha-dr"]
        if connection.vendor == "postgresql":  # kept by the database's triggers (projects.facets)
            project = Project.objects.get(pk=project.pk)
            assert project.partner_ids == sorted(p.pk for p in project.partners.all())

    def test_an_updated_project_moves_its_version_on_and_records_the_change(self, editor_client, editor, world):
        program = Program.objects.get()
        project = make_project("stored", "Stored", program, Partner.objects.filter(slug="vietnam"), [], 2014, 2018)
        updated = project.updated
        row = ["stored", "Renamed", "capacity-building", "philippines", "maritime-security", 2014, 2018, "ongoing",
               "", "", 1, project.version]  # fmt: skip
        _confirm(editor_client, _preview(editor_client, _csv([row], [*HEADER, "version"])))
        project.refresh_from_db()
        assert (project.title, project.status, project.version) == ("Renamed", "ongoing", 2)
        assert project.updated > updated
        assert [p.slug for p in project.partners.all()] == ["philippines"]
        assert [f.slug for f in project.fields.all()] == ["maritime-security"]
        assert sorted(project.search_document.split()) == sorted(project_search_document(project).split())
        latest = project.history.order_by("-history_date").first()
        assert (latest.history_type, latest.history_user, latest.title, latest.version) == ("~", editor, "Renamed", 2)
        assert [link.partner.slug for link in latest.partners.all()] == ["philippines"]
        # The second import of the same file changes nothing and writes nothing.
        row[-1] = 2
        before = db_snapshot()
        _confirm(editor_client, _preview(editor_client, _csv([row], [*HEADER, "version"])))
        assert changed_tables(before, db_snapshot()) == []

    def test_a_renamed_partner_is_found_under_its_new_name(self, editor_client, world):
        program = Program.objects.get()
        vietnam = Partner.objects.get(slug="vietnam")
        project = make_project("stored", "Stored", program, [vietnam], [], 2014, 2018)
        row = ["vietnam", "Viet Nam", "", "country", "VN", "southeast_asia", 1, "", "", 1]
        _confirm(editor_client, _preview(editor_client, _csv([row], PARTNER_HEADER), model=Partner), model=Partner)
        project.refresh_from_db()
        assert "Viet Nam" in project.search_document

    def test_a_partner_may_name_a_parent_made_by_an_earlier_row(self, editor_client, world):
        rows = [
            ["navy", "Navy", "", "service", "VN", "southeast_asia", 0, "vietnam", "", 1],
            ["navy-air", "Naval air arm", "", "service", "VN", "southeast_asia", 0, "navy", "", 1],
        ]
        _confirm(editor_client, _preview(editor_client, _csv(rows, PARTNER_HEADER), model=Partner), model=Partner)
        assert Partner.objects.get(slug="navy-air").parent.parent.slug == "vietnam"
        # A parent made by a later row is not there yet.
        rows = [["air", "Air arm", "", "service", "VN", "southeast_asia", 0, "guard", "", 1],
                ["guard", "Guard", "", "service", "VN", "southeast_asia", 0, "", "", 1]]  # fmt: skip
        response = _preview(editor_client, _csv(rows, PARTNER_HEADER), model=Partner)
        assert "no partner with slug &#x27;guard&#x27;" in response.content.decode()

    def test_imports_bypass_only_the_receivers_they_stand_in_for(self):
        """The confirmation writes in bulk and sends no model signals; it does what these
        receivers do instead (VersionCheckedResource.write_instances). A receiver added
        later must be done by the import too: add it there, then here."""

        def receivers(signal, sender):
            found = []
            for receiver in signal._live_receivers(sender)[0]:
                function = getattr(receiver, "func", receiver)  # a functools.partial
                function = getattr(function, "__func__", function)  # a bound method
                found.append(f"{function.__module__}.{function.__qualname__}")
            return sorted(found)

        history = "simple_history.models.HistoricalRecords"
        assert receivers(post_save, Project) == ["core.cache.version.data_changed", f"{history}.post_save"]
        assert receivers(post_save, Partner) == [
            "core.cache.version.data_changed",
            "projects.signals.refresh_after_rename",
            f"{history}.post_save",
        ]
        for through in (Project.partners.through, Project.fields.through):
            assert receivers(m2m_changed, through) == [
                "core.cache.version._m2m_changed",
                "projects.signals.refresh_after_membership_change",
                f"{history}.m2m_changed",
            ]


class TestRowsCheckedInMemory:
    """What the database or Model.full_clean() would refuse is refused at the preview,
    with the same message, though no row is written."""

    def _refused_rows(self, client, rows, header=HEADER, model=Project):
        before = db_snapshot()
        response = client.post(_url(model, "import"), {"import_file": _named(_csv(rows, header)), "format": "0"})
        assert response.context.get("confirm_form") is None
        assert changed_tables(before, db_snapshot()) == []
        return response.content.decode()

    def test_a_check_constraint_is_tested(self, editor_client, world):
        row = ["old", "Old", "capacity-building", "vietnam", "", 1900, "", "", "", "", 1]
        assert "Start year must be between 1945 and 2100." in self._refused_rows(editor_client, [row])

    def test_years_that_would_strand_an_activity_are_refused_naming_it(self, editor_client, world, project):
        row = ["ha-dr-vietnam", "HA/DR for Vietnam", "capacity-building", "vietnam", "", 2015, 2016, "", "", "", 1]
        assert "The activity “HA/DR seminar” (2014) would fall outside" in self._refused_rows(editor_client, [row])

    def test_an_unknown_program_is_a_validation_error(self, editor_client, world):
        row = ["new", "New", "atlantis", "vietnam", "", 2015, "", "", "", "", 1]
        assert "no program with slug &#x27;atlantis&#x27;" in self._refused_rows(editor_client, [row])

    def test_a_partners_name_must_be_unique_in_the_tracker_and_in_the_file(self, editor_client, world):
        taken = [["other", "Vietnam", "", "country", "VN", "southeast_asia", 0, "", "", 1]]
        assert "Partner with this Name already exists." in self._refused_rows(
            editor_client, taken, PARTNER_HEADER, Partner
        )
        twice = [["one", "Same", "", "country", "VN", "southeast_asia", 0, "", "", 1],
                 ["two", "Same", "", "country", "VN", "southeast_asia", 0, "", "", 1]]  # fmt: skip
        assert "row 1 of the file has the same name" in self._refused_rows(
            editor_client, twice, PARTNER_HEADER, Partner
        )

    def test_a_partner_cannot_become_its_own_ancestor_through_an_earlier_row(self, editor_client, world):
        rows = [
            ["philippines", "Philippines", "", "country", "PH", "southeast_asia", 0, "vietnam", "", 1],
            ["vietnam", "Vietnam", "", "country", "VN", "southeast_asia", 0, "philippines", "", 1],
        ]
        assert "cannot be a service of itself" in self._refused_rows(editor_client, rows, PARTNER_HEADER, Partner)

    def test_a_country_must_be_a_country_code(self, editor_client, world):
        rows = [["x", "X", "", "country", "XX", "southeast_asia", 0, "", "", 1]]
        assert "unknown country code &#x27;XX&#x27;" in self._refused_rows(editor_client, rows, PARTNER_HEADER, Partner)


def _named(content, name="file.csv"):
    upload = io.BytesIO(content)
    upload.name = name
    return upload


class TestRefusedAtUpload:
    """A file that cannot be valid is refused when it is read, naming the problem, with
    nothing imported."""

    @pytest.fixture
    def refused(self, editor_client, world):
        def check(content, fmt=CSV_FORMAT):
            before = db_snapshot()
            message = _file_error(_preview(editor_client, content, fmt))
            assert changed_tables(before, db_snapshot()) == []
            assert message
            return message

        return check

    @pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
    def test_two_rows_for_one_slug_are_refused_with_both_line_numbers(self, refused, fmt):
        rows = _project_rows(3)
        rows.append(list(rows[1]))
        make = _xlsx if fmt == XLSX_FORMAT else _csv
        message = refused(make(rows), fmt)
        assert "the slug “new-1” is on more than one row: lines 3 and 5 of the file (line 1 is the header)" in message

    def test_a_file_of_empty_rows_is_refused(self, refused):
        message = refused(_csv([[""] * len(HEADER)] * 190_000))
        assert "The file's 190,000 rows under the header are all empty: there is nothing to import." in message
        assert "rows under the header are all empty" in refused(_xlsx([[None] * len(HEADER)] * 500), XLSX_FORMAT)

    def test_an_empty_row_between_records_is_refused_naming_its_line(self, refused):
        rows = _project_rows(3)
        rows.insert(1, [""] * len(HEADER))
        assert "Line 3 of the file is empty (line 1 is the header)" in refused(_csv(rows))

    def test_empty_rows_after_the_records_are_left_out(self, editor_client, world):
        rows = [*_project_rows(2), *[[""] * len(HEADER)] * 50]
        for content, fmt in ((_csv(rows), CSV_FORMAT), (_xlsx(rows), XLSX_FORMAT)):
            preview = _preview(editor_client, content, fmt)
            assert preview.context["result"].totals["new"] == 2

    def test_more_rows_than_an_import_may_have_are_refused_naming_the_limit(self, refused):
        rows = [["x"] * len(HEADER)] * (IMPORT_MAX_ROWS + 1)
        limit = f"{IMPORT_MAX_ROWS:,}"
        assert f"The file has {IMPORT_MAX_ROWS + 1:,} rows; an import may have at most {limit} rows" in refused(
            _csv(rows)
        )
        assert f"The file has more than {limit} rows" in refused(_xlsx(rows), XLSX_FORMAT)

    def test_a_workbook_is_read_as_far_as_its_cells_not_its_claimed_size(self, editor_client, world):
        # A sheet may claim any dimensions; reading them as they are would be 16,384
        # columns (or a million rows) of nothing.
        workbook = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(_xlsx(_project_rows(2)))) as source, zipfile.ZipFile(workbook, "w") as out:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = data.replace(b'<dimension ref="A1:K3"/>', b'<dimension ref="A1:XFD300"/>')
                    assert b"XFD300" in data
                out.writestr(item, data)
        preview = _preview(editor_client, workbook.getvalue(), XLSX_FORMAT)
        assert preview.context["form"].errors == {}
        assert preview.context["result"].totals["new"] == 2


@pytest.fixture
def redis_cache(request, settings):
    settings.CACHES = _redis_cache(request)
    return redis.Redis.from_url(REDIS_URL)


def _kept(confirm_form):
    return ImportUploadStorage.CACHE_PREFIX + confirm_form.initial["import_file_name"]


class TestKeptUploads:
    def test_an_upload_is_kept_for_an_hour_and_removed_when_confirmed(self, editor_client, world, redis_cache):
        preview = _preview(editor_client, _csv(_project_rows(2)))
        key = _kept(preview.context["confirm_form"])
        assert cache.get(key) is not None
        assert 0 < redis_cache.ttl(cache.make_key(key)) <= 3600
        _confirm(editor_client, preview)
        assert Project.objects.filter(slug__startswith="new-").count() == 2
        assert cache.get(key) is None

    def test_cancelling_removes_the_upload_and_imports_nothing(self, editor_client, world, redis_cache):
        preview = _preview(editor_client, _csv(_project_rows(2)))
        key = _kept(preview.context["confirm_form"])
        assert 'name="cancel"' in preview.content.decode()
        response = editor_client.post(_url(Project, "cancel_import"), preview.context["confirm_form"].initial)
        assert response.status_code == 302
        assert cache.get(key) is None
        assert not Project.objects.filter(slug__startswith="new-").exists()
        assert "The import was cancelled" in _messages(response)[0]
        # The confirmation can no longer go through.
        response = _confirm(editor_client, preview)
        assert "has expired" in _messages(response)[-1]
        assert not Project.objects.filter(slug__startswith="new-").exists()

    def test_a_refused_preview_keeps_nothing(self, editor_client, world, redis_cache):
        prefix = cache.make_key(ImportUploadStorage.CACHE_PREFIX)
        rows = _project_rows(2)
        rows[1][2] = "atlantis"
        response = _preview(editor_client, _csv(rows))
        assert response.context.get("confirm_form") is None
        assert list(redis_cache.scan_iter(f"{prefix}*")) == []

    def test_an_import_while_the_cache_is_down_gets_a_message(self, editor_client, world, settings):
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
        }
        before = db_snapshot()
        preview = _preview(editor_client, _csv(_project_rows(2)))
        assert "the server's cache is not answering" in _file_error(preview)
        confirm = {"import_file_name": "0" * 32, "original_file_name": "file.csv", "format": "0", "resource": ""}
        response = editor_client.post(_url(Project, "process_import"), confirm)
        assert response.status_code == 302
        assert "the server's cache is not answering" in _messages(response)[0]
        response = editor_client.post(_url(Project, "cancel_import"), confirm)
        assert response.status_code == 302
        assert changed_tables(before, db_snapshot()) == []


AWKWARD_TEXT = ["=SUM(A1:A2)", "+plus", "-minus", "@at", "=", "#N/A", "  spaced  ", "line one\r\nline two", "a\nb",
                "日本語のタイトル", "0012", "1e5"]  # fmt: skip


@pytest.fixture
def awkward(program, source):
    """Records whose values a spreadsheet program is apt to change: formulas, signs,
    spaces, line breaks, Japanese, long text, empty optional fields, slugs of digits."""
    numeric = Partner.objects.create(
        name="=HYPERLINK(“x”)", name_ja="ベトナム  ", slug="2015", country="VN", region="southeast_asia",
        description="=1+1\r\n" + "長い説明。" * 3000, publication_state="draft",
    )  # fmt: skip
    child = Partner.objects.create(
        name="-Navy", slug="0012", kind="service", country="VN", region="southeast_asia", parent=numeric
    )
    Partner.objects.create(name="ASEAN", slug="asean", kind="organisation", country="", region="southeast_asia")
    field = Field.objects.create(name="+Field", slug="1e5")
    for i, text in enumerate(AWKWARD_TEXT):
        project = Project.objects.create(
            slug=f"{2015 + i}",
            title=text,
            program=program,
            description=f"{text} {'x' * 30_000}" if i % 3 == 0 else ("" if i % 3 == 1 else text),
            start_year=2015 if i % 2 else None,
            end_year=2016 if i % 4 == 1 else None,
            status=Project.Status.ONGOING,
            published=bool(i % 2),
            cooperating_countries=["US", "AU"] if i % 2 else [],
        )
        project.partners.set([numeric, child] if i % 2 else [child])
        project.fields.set([field] if i % 3 else [])


class TestXlsxRoundTrip:
    @pytest.mark.parametrize("model", [Project, Partner], ids=lambda m: m.__name__)
    def test_the_trackers_own_xlsx_export_imports_again_unchanged(self, editor_client, awkward, model):
        resource = f"{model._meta.model_name}resource"
        columns = HEADER if model is Project else PARTNER_HEADER
        form = {"resource": 0, "format": XLSX_FORMAT, **{f"{resource}_{c}": "on" for c in [*columns, "version"]}}
        exported = editor_client.post(_url(model, "export"), form)
        assert exported.status_code == 200
        sheet = load_workbook(io.BytesIO(exported.content)).active
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row), "text was written as a formula"
        before = db_snapshot()
        preview = _preview(editor_client, exported.content, XLSX_FORMAT, model)
        assert preview.context["form"].errors == {}
        result = preview.context["result"]
        assert not result.has_errors() and not result.has_validation_errors(), result.invalid_rows[:1]
        assert (result.totals["new"], result.totals["update"]) == (0, 0)
        assert result.totals["skip"] == model.objects.count()
        done = _confirm(editor_client, preview, model)
        assert done.status_code == 302 and not done["Location"].endswith("/import/")
        assert changed_tables(before, db_snapshot()) == []


def _search_words(n):
    return " ".join(f"word{i}" for i in range(n))


class TestAdminSearch:
    @pytest.mark.parametrize(
        "model", [Partner, Field, Program, Source, Project, Activity, Citation], ids=lambda m: m.__name__
    )
    def test_a_search_of_1900_words_uses_the_first_ones_and_says_so(self, editor_client, project, model):
        # The first words find what they find; the others would find nothing.
        words = "HA/DR " * MAX_SEARCH_TERMS + _search_words(1900 - MAX_SEARCH_TERMS)
        response = editor_client.get(_url(model, "changelist"), {"q": words})
        assert response.status_code == 200
        message = f"Only the first {MAX_SEARCH_TERMS} words were searched"
        assert any(message in m for m in _messages(response))
        first = " ".join(words.split()[:MAX_SEARCH_TERMS])
        expected = editor_client.get(_url(model, "changelist"), {"q": first})
        assert [o.pk for o in response.context["cl"].result_list] == [o.pk for o in expected.context["cl"].result_list]
        assert not any(message in m for m in _messages(expected))

    def test_a_quoted_phrase_is_one_word(self, editor_client, project):
        phrase = " ".join(['"HA/DR for Vietnam"'] * MAX_SEARCH_TERMS)
        response = editor_client.get(_url(Project, "changelist"), {"q": phrase})
        assert [p.pk for p in response.context["cl"].result_list] == [project.pk]
        assert _messages(response) == []

    def test_the_autocomplete_is_bounded_too_without_a_message(self, editor_client, partner):
        response = editor_client.get(
            "/admin/autocomplete/",
            {"term": "viet " * 10 + _search_words(500), "app_label": "projects", "model_name": "project",
             "field_name": "partners"},
        )  # fmt: skip
        assert response.status_code == 200
        assert response.json()["results"][0]["text"] == "Vietnam"
        assert _messages(editor_client.get(_url(Partner, "changelist"))) == []


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_interrupted_between_its_statements_writes_nothing(editor_client, program, partner):
    """On PostgreSQL another connection kills the request's backend at the second INSERT
    (the records are written, their history not yet); on SQLite that INSERT fails."""
    rows = [[f"army-{x}", f"Army {x}", "", "service", "VN", "southeast_asia", 0, "", "", 1] for x in "abc"]
    preview = _preview(editor_client, _csv(rows, PARTNER_HEADER), model=Partner)
    before = db_snapshot()
    fault = FailOnSecond("INSERT INTO")
    with connection.execute_wrapper(fault):
        response = _confirm(editor_client, preview, Partner)
    assert fault.fired
    assert response.status_code == 302
    assert _messages(response)[0].startswith("Nothing was imported:")
    connection.close()
    assert changed_tables(before, db_snapshot()) == []
    assert not Partner.objects.filter(slug__startswith="army-").exists()
