"""The shared model bases (core.models), tested as rules: every model of the apps that
holds a version, timestamps, a published flag or a slug-and-names is built on its base,
and the base's behaviour holds for each of them."""

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from simple_history.models import HistoricalChanges

from core.models import (
    PublishableQuerySet,
    ReferenceModel,
    TimestampedModel,
    VersionedModel,
    changed_by_and_when,
)
from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, ProgramEvent, Project, Source, StatusReport


def _app_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in {"partners", "projects"} and not issubclass(model, HistoricalChanges)
    ]


def _has_fields(model, *names):
    return {f.name for f in model._meta.get_fields()} >= set(names)


class TestEveryModelUsesItsBase:
    def test_a_model_with_a_version_is_versioned(self):
        # Every record an editor can change (issue "Every answer true": no lost update).
        editable = {Partner, Project, Activity, StatusReport, ProgramEvent, Citation, Field, Program, Source}
        assert {m for m in _app_models() if _has_fields(m, "version")} == editable
        assert all(issubclass(m, VersionedModel) for m in editable)

    def test_a_model_with_timestamps_is_timestamped(self):
        with_timestamps = {m for m in _app_models() if _has_fields(m, "created", "updated")}
        assert with_timestamps == {Partner, Project, Activity, StatusReport, ProgramEvent}
        assert all(issubclass(m, TimestampedModel) for m in with_timestamps)

    def test_reference_data_is_a_reference_model(self):
        named = {m for m in _app_models() if _has_fields(m, "slug", "name", "name_ja")}
        assert named == {Partner, Field, Program}
        assert all(issubclass(m, ReferenceModel) for m in named)

    def test_a_model_with_drafts_has_the_publishable_queryset(self):
        publishable = {m for m in _app_models() if isinstance(m._default_manager.all(), PublishableQuerySet)}
        # Published through their own flag, or through the record they belong to.
        assert publishable == {Partner, Project, Activity, StatusReport, Citation}
        assert {m for m in _app_models() if _has_fields(m, "published")} <= publishable


@pytest.fixture
def versioned(request, partner, project):
    return {Partner: partner, Project: project}[request.param]


@pytest.mark.parametrize("versioned", [Partner, Project], indirect=True, ids=lambda m: m.__name__)
class TestVersionedModel:
    def test_a_new_record_is_version_one(self, versioned):
        versioned.refresh_from_db()
        assert versioned.version == 1

    def test_every_save_moves_the_version_forward(self, versioned):
        versioned.save()
        versioned.save()
        versioned.refresh_from_db()
        assert versioned.version == 3

    def test_it_counts_from_the_stored_version_not_the_instance(self, versioned):
        stale = type(versioned).objects.get(pk=versioned.pk)
        versioned.save()  # version 2 stored
        stale.save()  # holds version 1, as a copy loaded before that save does
        assert stale.version == 3
        versioned.refresh_from_db()
        assert versioned.version == 3

    def test_a_revert_from_history_moves_the_version_forward(self, versioned):
        versioned.save()
        versioned.save()
        original = versioned.history.earliest().instance
        assert original.version == 1
        original.save()
        versioned.refresh_from_db()
        assert versioned.version == 4

    def test_saving_some_fields_still_writes_the_version(self, versioned):
        versioned.description = "Changed"
        versioned.save(update_fields=["description"])
        versioned.refresh_from_db()
        assert (versioned.description, versioned.version) == ("Changed", 2)

    def test_the_last_change_names_its_user_and_time(self, versioned, editor):
        versioned._history_user = editor
        versioned.save()
        last = versioned.last_change()
        assert last.history_user == editor and last.version == 2
        who, when = changed_by_and_when(last)
        assert who == "ed" and when


def test_a_change_without_a_known_user_is_by_another_user(partner):
    record = partner.history.get()
    assert record.history_user is None
    assert changed_by_and_when(record)[0] == "another user"
    assert changed_by_and_when(None) == ("another user", "")


@pytest.mark.parametrize("model", [Partner, Project, Activity], ids=lambda m: m.__name__)
def test_timestamps_keep_the_creation_and_follow_each_change(model, project):
    record = {Partner: project.partners.first(), Project: project, Activity: project.activities.first()}[model]
    created, updated = record.created, record.updated
    record.save()
    record.refresh_from_db()
    assert record.created == created and record.updated > updated


@pytest.mark.parametrize("model", [Partner, Field, Program], ids=lambda m: m.__name__)
class TestReferenceModel:
    def test_it_is_named_and_found_by_its_slug(self, model, partner, field, program):
        record = {Partner: partner, Field: field, Program: program}[model]
        assert str(record) == record.name
        assert record.natural_key() == (record.slug,)
        assert model.objects.get_by_natural_key(record.slug) == record

    def test_it_is_listed_by_name(self, model):
        assert model._meta.ordering == ["name"]


@pytest.fixture
def public_and_draft(request, project, draft_project, source):
    """A record everyone may see and a draft (or a draft's), of the model asked for."""
    model = request.param
    if model is Partner:
        draft = Partner.objects.create(
            name="Hidden", slug="hidden", country="PH", region="southeast_asia", publication_state="draft"
        )
        return model, project.partners.get(), draft
    if model is Project:
        return model, project, draft_project
    if model is Activity:
        draft = Activity.objects.create(project=draft_project, title="Hidden", kind="seminar", year=2021)
        return model, project.activities.get(), draft
    draft = Citation.objects.create(source=source, section="S", excerpt="hidden", project=draft_project)
    return model, project.citations.get(), draft


@pytest.mark.parametrize(
    "public_and_draft", [Partner, Project, Activity, Citation], indirect=True, ids=lambda m: m.__name__
)
class TestPublishableQuerySet:
    def _seen(self, queryset, *records):
        return set(queryset.filter(pk__in=[r.pk for r in records]))

    def test_the_public_see_only_what_is_published(self, public_and_draft, django_user_model):
        model, shown, draft = public_and_draft
        nobody = django_user_model.objects.create_user("nobody", password="x" * 12)
        assert self._seen(model.objects.public(), shown, draft) == {shown}
        for user in (None, AnonymousUser(), nobody):
            assert self._seen(model.objects.for_user(user), shown, draft) == {shown}
            assert model.objects.beyond_public(user) is None

    def test_staff_who_may_view_the_model_see_drafts(self, public_and_draft, viewer, editor, administrator):
        model, shown, draft = public_and_draft
        for user in (viewer, editor, administrator):
            assert self._seen(model.objects.for_user(user), shown, draft) == {shown, draft}
            assert self._seen(model.objects.beyond_public(user), shown, draft) == {draft}

    def test_an_inactive_user_sees_what_the_public_sees(self, public_and_draft, viewer):
        model, shown, draft = public_and_draft
        viewer.is_active = False
        viewer.save()
        assert self._seen(model.objects.for_user(viewer), shown, draft) == {shown}
