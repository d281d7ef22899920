"""Review before publish (core.review): draft → in review → published, and back to draft;
who may take each step, through the API and the admin; change reasons on published
records; no widening of a published record but through review; the review queue with its
diff; and a withdrawal that leaves every public surface at the next request."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

from core import review
from core.models import PublicationState
from partners.models import Partner
from projects.models import Activity, Project
from tests.conftest import make_liaison
from tests.projects.test_admin import _project_post

pytestmark = pytest.mark.django_db

DRAFT, IN_REVIEW, PUBLISHED = PublicationState.DRAFT, PublicationState.IN_REVIEW, PublicationState.PUBLISHED


def _api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _step(client, slug, step, **payload):
    return client.post(f"/api/v1/projects/{slug}/{step}/", payload, format="json")


@pytest.fixture
def second_reviewer(db, django_user_model):
    user = django_user_model.objects.create_user(username="rex", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Reviewers"))
    return user


@pytest.fixture
def editor_reviewer(db, django_user_model):
    """Both an editor and a reviewer: may approve others' changes, never their own."""
    user = django_user_model.objects.create_user(username="erin", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"), Group.objects.get(name="Reviewers"))
    return user


def _state(slug):
    return Project.objects.get(slug=slug).publication_state


# -- The workflow through the API ----------------------------------------------------------


def test_a_project_made_through_the_api_is_a_draft_until_a_reviewer_approves_it(editor, reviewer, program, partner):
    payload = {"slug": "new-plan", "title": "New plan", "program": program.slug, "partners": [partner.slug],
               "start_year": 2020, "published": True}  # fmt: skip
    created = _api(editor).post("/api/v1/projects/", payload, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["publication_state"], created.json()["published"]) == ("draft", False)
    assert _api().get("/api/v1/projects/new-plan/").status_code == 404

    submitted = _step(_api(editor), "new-plan", "submit")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["publication_state"] == "in_review"
    assert submitted["ETag"] == _api(editor).get("/api/v1/projects/new-plan/")["ETag"]
    assert _api().get("/api/v1/projects/new-plan/").status_code == 404  # in review is not public

    # An editor is not a reviewer: the approval is refused for the role (403).
    refused = _step(_api(editor), "new-plan", "approve")
    assert refused.status_code == 403 and "Reviewers" in refused.json()["errors"][0]["detail"]
    approved = _step(_api(reviewer), "new-plan", "approve")
    assert approved.status_code == 200, approved.content
    assert (approved.json()["publication_state"], approved.json()["published"]) == ("published", True)
    assert _api().get("/api/v1/projects/new-plan/").json()["publication_state"] == "published"
    history = [
        (h.publication_state, h.history_change_reason) for h in Project.objects.get(slug="new-plan").history.all()
    ]
    assert history[:2] == [("published", "Approved"), ("in_review", "Submitted for review")]


def test_nobody_approves_their_own_change(editor_reviewer, second_reviewer, draft_project):
    client = _api(editor_reviewer)
    assert (
        client.patch(f"/api/v1/projects/{draft_project.slug}/", {"title": "Retitled"}, format="json").status_code == 200
    )
    assert _step(client, draft_project.slug, "submit").status_code == 200
    own = _step(client, draft_project.slug, "approve")
    assert own.status_code == 403
    assert "latest change" in own.json()["errors"][0]["detail"]
    assert _state(draft_project.slug) == IN_REVIEW
    assert _step(_api(second_reviewer), draft_project.slug, "approve").status_code == 200
    assert _state(draft_project.slug) == PUBLISHED


def test_a_change_to_a_part_is_the_latest_change_too(editor_reviewer, reviewer, draft_project):
    """Whoever last changed a project's activity made its latest change."""
    review.take_step(review.SUBMIT, draft_project, editor_reviewer)
    activity = _api(editor_reviewer).post(
        "/api/v1/activities/",
        {"project": draft_project.slug, "title": "Added seminar", "kind": "seminar", "year": 2021},
        format="json",
    )
    assert activity.status_code == 201, activity.content
    with pytest.raises(review.ReviewRefused, match="latest change"):
        review.take_step(review.APPROVE, draft_project, editor_reviewer)
    review.take_step(review.APPROVE, draft_project, reviewer)
    assert _state(draft_project.slug) == PUBLISHED


def test_a_reviewer_cannot_approve_without_a_change_to_review(reviewer, draft_project, project):
    for slug in (draft_project.slug, project.slug):
        for step in ("approve", "send-back"):
            answer = _step(_api(reviewer), slug, step, comment="Why")
            assert answer.status_code == 400, (slug, step)
            assert answer.json()["errors"][0]["field"] == "publication_state"
            assert "no change waiting for review" in answer.json()["errors"][0]["detail"]
    assert (_state(draft_project.slug), _state(project.slug)) == (DRAFT, PUBLISHED)


def test_sending_back_needs_a_comment_which_staff_see(editor, reviewer, draft_project):
    _step(_api(editor), draft_project.slug, "submit")
    bare = _step(_api(reviewer), draft_project.slug, "send-back")
    assert bare.status_code == 400 and "comment is required" in bare.json()["errors"][0]["detail"]
    sent = _step(_api(reviewer), draft_project.slug, "send-back", comment="Cite the 2021 report")
    assert sent.status_code == 200
    assert (sent.json()["publication_state"], sent.json()["review_comment"]) == ("draft", "Cite the 2021 report")
    latest = Project.objects.get(pk=draft_project.pk).history.first()
    assert latest.history_change_reason == "Sent back: Cite the 2021 report"
    assert latest.history_user == reviewer
    # Submitting again clears the comment.
    assert _step(_api(editor), draft_project.slug, "submit").json()["review_comment"] == ""


def test_a_step_checks_if_match_and_its_payload(editor, reviewer, draft_project):
    etag = _api(editor).get(f"/api/v1/projects/{draft_project.slug}/")["ETag"]
    _api(editor).patch(f"/api/v1/projects/{draft_project.slug}/", {"description": "Changed"}, format="json")
    stale = _api(editor).post(f"/api/v1/projects/{draft_project.slug}/submit/", {}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert _state(draft_project.slug) == DRAFT
    unknown = _step(_api(editor), draft_project.slug, "submit", commment="typo")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "commment"
    assert _api().post(f"/api/v1/projects/{draft_project.slug}/submit/").status_code in (401, 403)


def test_a_liaison_officer_writes_nothing(project, partner):
    liaison = _api(make_liaison("lia", [partner]))
    slug = project.slug
    assert liaison.get(f"/api/v1/projects/{slug}/").status_code == 200
    attempts = [
        liaison.post("/api/v1/projects/", {"slug": "x", "title": "X"}, format="json"),
        liaison.patch(f"/api/v1/projects/{slug}/", {"title": "Mine"}, format="json", HTTP_X_CHANGE_REASON="r"),
        liaison.delete(f"/api/v1/projects/{slug}/", HTTP_X_CHANGE_REASON="r"),
        *(liaison.post(f"/api/v1/projects/{slug}/{step}/", {"comment": "c"}, format="json")
          for step in ("submit", "approve", "send-back", "withdraw")),
        liaison.patch(f"/api/v1/partners/{partner.slug}/", {"name": "Mine"}, format="json"),
    ]  # fmt: skip
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert Project.objects.get(pk=project.pk).title == project.title
    assert _state(slug) == PUBLISHED


# -- Change reasons, widening, deleting ----------------------------------------------------


def test_a_change_to_a_published_record_needs_a_reason_on_every_write_path(editor, project):
    client = _api(editor)
    url = f"/api/v1/projects/{project.slug}/"
    bare = client.patch(url, {"description": "New words"}, format="json")
    assert bare.status_code == 400
    assert bare.json()["errors"][0]["field"] == "change_reason"
    # The same values again change nothing, so need no reason.
    assert client.patch(url, {"description": project.description}, format="json").status_code == 200
    with_header = client.patch(url, {"description": "New words"}, format="json", HTTP_X_CHANGE_REASON="Source says so")
    assert with_header.status_code == 200, with_header.content
    in_payload = client.patch(url, {"description": "Newer", "change_reason": "Typo"}, format="json")
    assert in_payload.status_code == 200
    reasons = [h.history_change_reason for h in Project.objects.get(pk=project.pk).history.all()[:2]]
    assert reasons == ["Typo", "Source says so"]
    # A part of a published project is published too.
    activity = project.activities.get()
    part = client.patch(f"/api/v1/activities/{activity.pk}/", {"title": "Renamed"}, format="json")
    assert part.status_code == 400 and part.json()["errors"][0]["field"] == "change_reason"
    gone = client.delete(f"/api/v1/activities/{activity.pk}/")
    assert gone.status_code == 400 and gone.json()["errors"][0]["field"] == "X-Change-Reason"
    assert client.delete(f"/api/v1/activities/{activity.pk}/", HTTP_X_CHANGE_REASON="Duplicate").status_code == 204
    assert Activity.history.filter(id=activity.pk, history_type="-").get().history_change_reason == "Duplicate"


def test_a_draft_changes_without_a_reason(editor, draft_project):
    answer = _api(editor).patch(f"/api/v1/projects/{draft_project.slug}/", {"description": "x"}, format="json")
    assert answer.status_code == 200


def test_a_published_record_is_widened_only_through_review(editor, reviewer, project, partner):
    client = _api(editor)
    url = f"/api/v1/projects/{project.slug}/"
    narrowed = client.patch(
        url, {"releasability": "partners", "releasable_to": [partner.slug]}, format="json", HTTP_X_CHANGE_REASON="r"
    )
    assert narrowed.status_code == 200, narrowed.content
    widened = client.patch(url, {"releasability": "public"}, format="json", HTTP_X_CHANGE_REASON="Cleared")
    assert widened.status_code == 400
    assert widened.json()["errors"][0]["field"] == "releasability"
    assert "only after review" in widened.json()["errors"][0]["detail"]
    other = Partner.objects.create(name="Laos", slug="laos", country="LA", region="southeast_asia")
    more = client.patch(url, {"releasable_to": [partner.slug, other.slug]}, format="json", HTTP_X_CHANGE_REASON="r")
    assert more.status_code == 400 and more.json()["errors"][0]["field"] == "releasability"
    # Through review: withdraw, widen, submit, approve.
    assert _step(client, project.slug, "withdraw", comment="To clear it for the public").status_code == 200
    assert (
        client.patch(url, {"releasability": "public"}, format="json", HTTP_X_CHANGE_REASON="Cleared").status_code == 200
    )
    assert _step(client, project.slug, "submit").status_code == 200
    assert _step(_api(reviewer), project.slug, "approve").status_code == 200
    assert _api().get(url).status_code == 200


def test_a_published_record_is_withdrawn_before_it_is_deleted(editor, project):
    client = _api(editor)
    url = f"/api/v1/projects/{project.slug}/"
    refused = client.delete(url, HTTP_X_CHANGE_REASON="Gone")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "publication_state"
    bare = _step(client, project.slug, "withdraw")
    assert bare.status_code == 400 and "say why" in bare.json()["errors"][0]["detail"]
    assert client.post(f"{url}withdraw/", {}, format="json", HTTP_X_CHANGE_REASON="Wrong data").status_code == 200
    assert Project.objects.get(pk=project.pk).history.first().history_change_reason == "Withdrawn: Wrong data"
    assert client.delete(url).status_code == 204


def test_withdrawal_removes_a_record_from_every_public_surface_at_the_next_request(editor, project):
    cache.clear()
    anonymous = APIClient()
    surfaces = {
        "/api/v1/projects/": lambda r: project.slug in r.content.decode(),
        "/api/v1/projects/?format=csv": lambda r: project.slug in r.content.decode(),
        f"/api/v1/projects/{project.slug}/": lambda r: r.status_code == 200,
        "/api/v1/iati/activities.xml": lambda r: project.title in r.content.decode(),
        "/api/v1/reports/counts/?group_by=year": lambda r: '"count":1' in r.content.decode().replace(" ", ""),
        "/projects/": lambda r: project.title in r.content.decode(),
        f"/projects/{project.slug}/": lambda r: r.status_code == 200,
        f"/ja/projects/{project.slug}/": lambda r: r.status_code == 200,
        f"/projects/?q={project.title.split()[0]}": lambda r: project.title in r.content.decode(),
        "/sitemap.xml": lambda r: project.slug in r.content.decode(),
        "/": lambda r: r.context["headline"]["projects"] == 1,
    }
    for url, shows in surfaces.items():
        assert shows(_read(anonymous, url)), f"{url} does not show the published project"
        assert shows(_read(anonymous, url)), f"{url} (cached) does not show the published project"
    answer = _api(editor).post(f"/api/v1/projects/{project.slug}/withdraw/", {"comment": "Recalled"}, format="json")
    assert answer.status_code == 200
    for url, shows in surfaces.items():
        assert not shows(_read(anonymous, url)), f"{url} still shows the withdrawn project"


class _Read:
    """A response with its body read (a streamed CSV too) and its template context."""

    def __init__(self, response):
        self.status_code, self.context = response.status_code, getattr(response, "context", None)
        streamed = getattr(response, "streaming", False)
        self.content = b"".join(response.streaming_content) if streamed else response.content


def _read(client, url):
    return _Read(client.get(url))


# -- The admin -----------------------------------------------------------------------------


def _changelist_action(client, action, records, **extra):
    data = {"action": action, "_selected_action": [r.pk for r in records], **extra}
    return client.post("/admin/projects/project/", data, follow=True)


def test_bulk_submit_for_editors_and_bulk_approve_for_reviewers(
    editor_client, editor, reviewer, program, field, partner
):
    from django.test import Client

    drafts = []
    for i in range(3):
        p = Project.objects.create(slug=f"d{i}", title=f"Draft {i}", program=program, start_year=2019)
        p.partners.add(partner)
        drafts.append(p)
    page = editor_client.get("/admin/projects/project/")
    offered = {choice[0] for choice in page.context["action_form"].fields["action"].choices}
    assert {"submit_for_review", "withdraw_selected"} <= offered
    assert not {"approve_selected", "send_back_selected"} & offered  # an editor does not review
    answer = _changelist_action(editor_client, "submit_for_review", drafts)
    assert "done for 3 projects" in answer.content.decode()
    assert {_state(p.slug) for p in drafts} == {IN_REVIEW}

    reviewing = Client()
    reviewing.force_login(reviewer)
    offered = {c[0] for c in reviewing.get("/admin/projects/project/").context["action_form"].fields["action"].choices}
    assert {"approve_selected", "send_back_selected"} <= offered and "submit_for_review" not in offered
    answer = _changelist_action(reviewing, "approve_selected", drafts[:2])
    assert "done for 2 projects" in answer.content.decode()
    assert [_state(p.slug) for p in drafts] == [PUBLISHED, PUBLISHED, IN_REVIEW]

    # Sending back asks for a comment first, and refuses none.
    confirm = _changelist_action(reviewing, "send_back_selected", drafts[2:])
    assert confirm.templates[0].name == "admin/review_step.html"
    empty = _changelist_action(reviewing, "send_back_selected", drafts[2:], review_confirmed="yes", review_text=" ")
    assert "required" in empty.content.decode() and _state("d2") == IN_REVIEW
    _changelist_action(
        reviewing, "send_back_selected", drafts[2:], review_confirmed="yes", review_text="Needs a source"
    )
    assert _state("d2") == DRAFT and Project.objects.get(slug="d2").review_comment == "Needs a source"


def test_the_admin_refuses_self_approval_and_a_published_record_change_without_a_reason(
    editor_reviewer, project, draft_project
):
    from django.test import Client

    client = Client()
    client.force_login(editor_reviewer)
    review.take_step(review.SUBMIT, draft_project, editor_reviewer)
    answer = _changelist_action(client, "approve_selected", [draft_project])
    assert "latest change" in answer.content.decode()
    assert _state(draft_project.slug) == IN_REVIEW

    url = f"/admin/projects/project/{project.pk}/change/"
    data = _project_post(project, description="Changed here")
    del data["change_reason"]
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "This record is published" in str(refused.context["adminform"].form.errors["change_reason"])
    saved = client.post(url, {**data, "change_reason": "Corrected from the source"})
    assert saved.status_code == 302
    assert Project.objects.get(pk=project.pk).history.first().history_change_reason == "Corrected from the source"
    # Only an inline row changed: the page still asks for the reason.
    project.refresh_from_db()
    data = _project_post(project)
    del data["change_reason"]
    data["activities-0-title"] = "Renamed seminar"
    inline_only = client.post(url, data)
    assert inline_only.status_code == 200
    assert "change_reason" in inline_only.context["adminform"].form.errors


def test_the_admin_adds_drafts_and_refuses_to_delete_a_published_record(editor_client, project):
    page = editor_client.get(f"/admin/projects/project/{project.pk}/delete/")
    assert page.status_code == 403
    answer = _changelist_action(editor_client, "delete_selected", [project], post="yes")
    assert Project.objects.filter(pk=project.pk).exists()
    assert "not deleted" in answer.content.decode() or answer.status_code == 403


def test_the_review_queue_shows_the_diff_against_the_published_version(editor, reviewer, project):
    from django.test import Client

    review.take_step(review.WITHDRAW, project, editor, "Retitling")
    stored = Project.objects.get(pk=project.pk)
    stored.title, stored._history_user = "HA/DR for Viet Nam", editor
    stored.save()
    added = Activity(project=stored, title="Added workshop", kind="workshop", year=2015)
    added._history_user = editor
    added.save()
    review.take_step(review.SUBMIT, stored, editor)
    client = Client()
    client.force_login(reviewer)
    queue = client.get("/admin/projects/project/review/")
    assert queue.status_code == 200
    text = queue.content.decode()
    assert "<del>HA/DR for Vietnam</del>" in text and "<ins>HA/DR for Viet Nam</ins>" in text
    assert "Latest change by ed" in text
    assert f"Added since it was published: {added}" in text
    stale = client.post("/admin/projects/project/review/", {"pk": project.pk, "version": 1, "step": "approve"})
    assert stale.status_code == 302 and _state(project.slug) == IN_REVIEW
    version = Project.objects.get(pk=project.pk).version
    client.post("/admin/projects/project/review/", {"pk": project.pk, "version": version, "step": "approve"})
    assert _state(project.slug) == PUBLISHED
    assert "Nothing is waiting for review" in client.get("/admin/projects/project/review/").content.decode()
    # The list links to the queue, saying how many wait.
    assert "Review queue (0 waiting)" in client.get("/admin/projects/project/").content.decode()


def test_a_revert_keeps_the_publication_state_and_a_restore_brings_back_a_draft(editor_client, editor, project):
    first = project.history.earliest("history_date")
    review.take_step(review.WITHDRAW, project, editor, "To delete")
    Project.objects.get(pk=project.pk).delete()
    deleted = Project.history.filter(id=project.pk, history_type="-").get()
    editor_client.post(f"/admin/projects/project/deleted/{deleted.history_id}/restore/")
    assert _state(project.slug) == DRAFT
    assert first.publication_state == PUBLISHED


def test_an_import_makes_drafts_and_needs_a_reason_to_change_a_published_record(editor, project):
    from projects.resources import ProjectResource

    def run(rows, reason=None, dry_run=False):
        import tablib

        headers = ["slug", "title", "program", "partners", "start_year", "end_year", "description", "published"]
        data = tablib.Dataset(*rows, headers=headers)
        return ProjectResource().import_data(data, dry_run=dry_run, user=editor, change_reason=reason)

    row = [project.slug, project.title, project.program.slug, "vietnam", 2013, 2015, "Imported words", "1"]
    new = ["imported", "Imported", project.program.slug, "vietnam", 2016, 2017, "", "1"]
    refused = run([row, new], dry_run=True)  # a preview: the admin imports nothing of a file with refused rows
    assert refused.has_validation_errors()
    problems = " ".join(str(e) for r in refused.invalid_rows for e in r.error_dict.values())
    assert "This record is published" in problems
    assert [r.number for r in refused.invalid_rows] == [1]  # the new row needs no reason
    assert run([row, new], reason="Yearly update").totals["new"] == 1
    assert _state("imported") == DRAFT  # "published" is exported, never imported
    assert Project.objects.get(pk=project.pk).history.first().history_change_reason == "Yearly update"


def test_partners_follow_the_same_workflow(editor, reviewer):
    client = _api(editor)
    made = client.post(
        "/api/v1/partners/",
        {"slug": "timor", "name": "Timor-Leste", "kind": "country", "country": "TL", "region": "southeast_asia"},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["publication_state"] == "draft"
    assert _api().get("/api/v1/partners/timor/").status_code == 404
    assert client.post("/api/v1/partners/timor/submit/", {}, format="json").status_code == 200
    assert _api(reviewer).post("/api/v1/partners/timor/approve/", {}, format="json").status_code == 200
    assert _api().get("/api/v1/partners/timor/").json()["publication_state"] == "published"


def test_the_admin_deletes_a_part_of_a_published_record_only_with_a_reason(editor_client, project):
    activity = project.activities.get()
    url = f"/admin/projects/activity/{activity.pk}/delete/"
    page = editor_client.get(url)
    assert page.status_code == 200 and 'name="change_reason"' in page.content.decode()
    refused = editor_client.post(url, {"post": "yes"})
    assert refused.status_code == 200 and "This record is published" in refused.content.decode()
    assert Activity.objects.filter(pk=activity.pk).exists()
    assert editor_client.post(url, {"post": "yes", "change_reason": "Entered twice"}).status_code == 302
    assert Activity.history.filter(id=activity.pk, history_type="-").get().history_change_reason == "Entered twice"
    # The list's bulk delete asks no reason, so it deletes no part of a published record.
    other = Activity.objects.create(project=project, title="Another seminar", kind="seminar", year=2014)
    bulk = editor_client.post(
        "/admin/projects/activity/", {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"}
    )
    assert bulk.status_code == 403 and Activity.objects.filter(pk=other.pk).exists()


def test_a_step_refuses_a_reason_header_too_long_whatever_the_payload_says(editor, draft_project):
    answer = _api(editor).post(
        f"/api/v1/projects/{draft_project.slug}/submit/",
        {"comment": "fine"},
        format="json",
        HTTP_X_CHANGE_REASON="x" * 501,
        HTTP_IF_MATCH='"not-the-etag"',
    )
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "X-Change-Reason"
    assert _state(draft_project.slug) == DRAFT
    gone = _api(editor).delete(f"/api/v1/projects/{draft_project.slug}/", HTTP_X_CHANGE_REASON="x" * 501)
    assert gone.status_code == 400 and gone.json()["errors"][0]["field"] == "X-Change-Reason"
