"""Hostile submissions of every admin add and change form (the model form and its inline
formsets), and hostile query strings on every admin list, as an editor: each answers with
a 4xx or a clean page (the form again, with its errors), never a server error, and a
refused submission leaves every row of the database as it was.

Each case starts from a submission the form accepts (the page's own data, or a copy of a
record for the add form) and breaks a few of its fields: the values replaced by hostile
ones, turned into lists, or left out; unknown fields added. Each case runs in a
transaction rolled back afterwards, so the cases do not depend on one another."""

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from projects.models import Activity, Project
from tests.fuzz.client import fuzz_request
from tests.fuzz.forms import admin_copy_data, admin_form_data
from tests.fuzz.snapshot import changed_tables, db_snapshot
from tests.fuzz.strategies import encode, form_body, fuzz_settings, nasty_text, query_strings, query_values

# Once per CI run: hostile submissions are refused by form validation; the database rules
# are tested on both engines.
pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]

MODELS = [m for m in admin.site._registry if m._meta.app_label in {"partners", "projects"}]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@st.composite
def broken(draw, base):
    """`base` with one to four of its fields broken, and perhaps unknown fields added."""
    data = dict(base)
    for name in draw(st.lists(st.sampled_from(sorted(base)), unique=True, min_size=1, max_size=4)):
        how = draw(st.sampled_from(["replace", "replace", "list", "leave out"]))
        if how == "leave out":
            data.pop(name)
        elif how == "list":
            data[name] = draw(st.lists(query_values(), max_size=3))
        else:
            data[name] = draw(query_values())
    for _ in range(draw(st.integers(0, 2))):
        data[draw(nasty_text())] = draw(query_values())
    return data


def _forms(editor_client, model):
    """(view name, URL, a submission the form accepts) for the model's add and change forms."""
    obj = model._default_manager.order_by("pk").first()
    change_url = _url(model, "change", obj.pk)
    change_page = editor_client.get(change_url)
    return [
        ("add", _url(model, "add"), admin_copy_data(change_page)),
        ("change", change_url, admin_form_data(change_page)),
    ]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_the_unbroken_submissions_are_accepted(editor_client, fuzz_world, model):
    # The control: every case below starts from a submission the form accepts, so what
    # refuses a broken one is the breakage, not a bad start.
    for view, url, data in _forms(editor_client, model):
        with transaction.atomic():
            response = editor_client.post(url, form_body(data), content_type="application/x-www-form-urlencoded")
            errors = response.context and response.context["adminform"].form.errors
            assert response.status_code == 302, f"{view}: {errors}"
            transaction.set_rollback(True)


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
@pytest.mark.parametrize("view", ["add", "change"])
def test_admin_forms_refuse_hostile_submissions_cleanly_and_change_nothing(editor_client, fuzz_world, model, view):
    (url, base) = next((u, d) for v, u, d in _forms(editor_client, model) if v == view)
    target = f"admin-form {model.__name__} {view}"

    @fuzz_settings(20)
    @given(data=broken(base))
    def case(data):
        with transaction.atomic():
            before = db_snapshot()
            response = fuzz_request(editor_client, target, "POST", url, body=form_body(data))
            if response.status_code != 302:  # refused (the form again with its errors, or a 4xx)
                assert response.status_code < 500
                assert changed_tables(before, db_snapshot()) == [], f"a refused submission changed the database: {data}"
            transaction.set_rollback(True)

    case()


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_admin_lists_answer_hostile_query_strings_cleanly(editor_client, fuzz_world, model):
    url = _url(model, "changelist")
    page = editor_client.get(url)
    parameters = ["q", "o", "p", "all", "e", "_popup", "_to_field"]
    for spec in page.context["cl"].filter_specs:
        parameters += spec.expected_parameters()
    target = f"admin-list {model.__name__}"
    before = db_snapshot()

    @fuzz_settings(20)
    @given(query=st.one_of(query_strings(parameters, only_known=True), query_strings(parameters)))
    def case(query):
        assert fuzz_request(editor_client, target, "GET", url, query).status_code < 500

    case()
    assert changed_tables(before, db_snapshot()) == []


@pytest.mark.parametrize(
    "name,value",
    [
        ("project", "abc"),
        ("project", "1-copy"),
        ("project", "9" * 40),
        ("project", "-1"),
        ("month", "2016"),
        ("month", "9" * 30),
        ("day", "0"),
    ],
)
def test_what_this_suite_found_is_a_form_error_not_a_server_error(editor_client, fuzz_world, name, value):
    # Found by this suite: an activity form shown again with its errors looked a submitted
    # non-id (or out-of-range id) up as a key, and formatted an impossible month in the
    # record's name; both pages were server errors.
    activity = Activity.objects.first()
    url = _url(Activity, "change", activity.pk)
    before = db_snapshot()
    for view_url, data in ((url, admin_form_data(editor_client.get(url))), (_url(Activity, "add"), None)):
        data = {**(data or admin_copy_data(editor_client.get(url))), name: value}
        response = fuzz_request(editor_client, "admin-form Activity found", "POST", view_url, body=form_body(data))
        assert response.status_code == 200
        assert name in response.context["adminform"].form.errors
    project_url = _url(Project, "change", activity.project_id)
    data = {**admin_form_data(editor_client.get(project_url)), f"activities-0-{name}": value}
    if name != "project":
        response = fuzz_request(editor_client, "admin-form Project found", "POST", project_url, body=form_body(data))
        assert response.status_code == 200
        (activities,) = [i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "activities"]
        assert name in activities.formset.errors[0]
    assert changed_tables(before, db_snapshot()) == []


def test_admin_autocomplete_answers_hostile_query_strings_cleanly(editor_client, fuzz_world):
    url = reverse("admin:autocomplete")
    known = ["term=", "app_label=projects", "model_name=project", "field_name=partners", "page="]

    @fuzz_settings(30)
    @given(query=query_strings(["term", "app_label", "model_name", "field_name", "page"]), base=st.sampled_from(known))
    def case(query, base):
        full = "&".join(["app_label=projects&model_name=project&field_name=partners", base, query])
        assert fuzz_request(editor_client, "admin-autocomplete", "GET", url, full).status_code < 500

    case()
    assert encode("\ud800") == "%ED%A0%80"


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_an_admin_search_with_a_nul_character_is_answered(editor_client, fuzz_world, model):
    # PostgreSQL text cannot hold NUL: the search stops at it rather than failing.
    url = _url(model, "changelist")
    response = fuzz_request(editor_client, f"admin-list {model.__name__}", "GET", url, "q=a%00b")
    assert response.status_code == 200
