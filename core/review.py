"""Review before publish: the one workflow of every record published through review
(core.models.ReviewedModel: partners and projects), for the admin's actions and review
queue and the API's actions alike (README, "Review before publish").

    draft ──submit──▶ in_review ──approve──▶ published
      ▲                  │                       │
      └────send back─────┘                       │
      └──────────────────withdraw────────────────┘   (in review or published)

- An editor (change permission) submits a draft, and withdraws a record in review or
  published (a published record's withdrawal needs a reason: it leaves the public site).
- A reviewer (the review permission: the Reviewers group) approves or sends back
  (with a comment) a record in review, unless they made its latest change: a second
  person approves every publication. Nothing else publishes.
- A liaison officer never does any of it (core.models.is_liaison).

Each step is one save of the record (its version moves on, its history records who,
when and why), with the stored row locked, so two reviewers cannot both act on it."""

from django.contrib.auth import get_permission_codename
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import CHANGE_REASON_MAX, PublicationState, ReviewedModel, is_liaison

SUBMIT, APPROVE, SEND_BACK, WITHDRAW = "submit", "approve", "send_back", "withdraw"

# What each step is called, for buttons, messages and the API's actions.
STEP_LABELS = {
    SUBMIT: gettext_lazy("Submit for review"),
    APPROVE: gettext_lazy("Approve and publish"),
    SEND_BACK: gettext_lazy("Send back to draft"),
    WITHDRAW: gettext_lazy("Withdraw to draft"),
}
# The history's reason for each step, before the writer's own words.
STEP_REASONS = {SUBMIT: "Submitted for review", APPROVE: "Approved", SEND_BACK: "Sent back", WITHDRAW: "Withdrawn"}


class ReviewRefused(Exception):
    """A step the record's state or the user's role does not allow; the message says why.
    `forbidden`: the user's role is the reason (a 403 in the API), not the record's state."""

    def __init__(self, message, *, forbidden=False):
        super().__init__(message)
        self.message = str(message)
        self.forbidden = forbidden


def may_edit(user, model) -> bool:
    """Whether `user` may submit and withdraw records of `model`."""
    opts = model._meta
    return _staff(user) and user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")


def may_review(user, model) -> bool:
    """Whether `user` may approve and send back records of `model` (the Reviewers group)."""
    opts = model._meta
    return _staff(user) and user.has_perm(f"{opts.app_label}.review_{opts.model_name}")


def _staff(user) -> bool:
    return user is not None and user.is_active and user.is_authenticated and not is_liaison(user)


def latest_changer(record):
    """The user who made the latest change to `record` or to one of its parts (an
    activity of a project: `record.review_histories()`); None when no user is recorded."""
    latest = None
    for history in record.review_histories():
        entry = history.order_by("-history_date", "-history_id").select_related("history_user").first()
        if entry is not None and (latest is None or entry.history_date > latest.history_date):
            latest = entry
    return latest.history_user if latest is not None else None


def published_version(record):
    """The history entry of `record` as it was last published (None if never)."""
    return (
        record.history.filter(publication_state=PublicationState.PUBLISHED)
        .order_by("-history_date", "-history_id")
        .first()
    )


def step_problem(step, record, user, text=None) -> ReviewRefused | None:
    """Why `user` may not take `step` on `record` now, or None."""
    model = type(record)
    name = model._meta.verbose_name
    state = record.publication_state
    if step in (SUBMIT, WITHDRAW) and not may_edit(user, model):
        return ReviewRefused(_("Only editors may submit or withdraw a %(model)s.") % {"model": name}, forbidden=True)
    if step in (APPROVE, SEND_BACK) and not may_review(user, model):
        return ReviewRefused(
            _("Only reviewers (the Reviewers group) may approve or send back a %(model)s.") % {"model": name},
            forbidden=True,
        )
    if step == SUBMIT and state != PublicationState.DRAFT:
        return ReviewRefused(
            _("“%(record)s” is not a draft (it is %(state)s): only a draft is submitted.")
            % {"record": record, "state": record.get_publication_state_display().lower()}
        )
    if step in (APPROVE, SEND_BACK) and state != PublicationState.IN_REVIEW:
        return ReviewRefused(
            _("“%(record)s” has no change waiting for review (it is %(state)s).")
            % {"record": record, "state": record.get_publication_state_display().lower()}
        )
    if step == APPROVE and user is not None and latest_changer(record) == user:
        return ReviewRefused(
            _("You made the latest change to “%(record)s”: another reviewer approves it.") % {"record": record},
            forbidden=True,
        )
    if step == WITHDRAW and state == PublicationState.DRAFT:
        return ReviewRefused(_("“%(record)s” is a draft already.") % {"record": record})
    if step == SEND_BACK and not (text or "").strip():
        return ReviewRefused(_("Say what is to change: a comment is required to send a record back."))
    if step == WITHDRAW and state == PublicationState.PUBLISHED and not (text or "").strip():
        return ReviewRefused(_("“%(record)s” is published: say why it is withdrawn.") % {"record": record})
    if text is not None and len(text) > CHANGE_REASON_MAX:
        return ReviewRefused(
            _("The comment is %(length)s characters long; at most %(max)s are allowed.")
            % {"length": len(text), "max": CHANGE_REASON_MAX}
        )
    return None


def take_step(step, record, user, text=None):
    """Take `step` ("submit", "approve", "send_back", "withdraw") on `record` as `user`,
    with `text` (the comment sending it back, the reason for a withdrawal, or a note with
    a submission or approval); raises ReviewRefused. Returns the record as saved."""
    if not isinstance(record, ReviewedModel):
        raise TypeError(f"{type(record).__name__} is not published through review")
    text = (text or "").strip() or None
    with transaction.atomic():
        stored = type(record)._base_manager.select_for_update().get(pk=record.pk)
        problem = step_problem(step, stored, user, text)
        if problem is not None:
            raise problem
        stored.publication_state = {
            SUBMIT: PublicationState.IN_REVIEW,
            APPROVE: PublicationState.PUBLISHED,
            SEND_BACK: PublicationState.DRAFT,
            WITHDRAW: PublicationState.DRAFT,
        }[step]
        if step == SEND_BACK:
            stored.review_comment = text
        elif step in (SUBMIT, APPROVE):
            stored.review_comment = ""
        stored._history_user = user
        stored._change_reason = f"{STEP_REASONS[step]}: {text}" if text else STEP_REASONS[step]
        stored.save()
    return stored


def take_steps(step, records, user, text=None):
    """`take_step` on each of `records` (a bulk action): (the records it was taken on,
    [(record, why not)] for the others). A record refused (its state, the user's role)
    does not hold back the others; a failure of the database undoes them all, so a bulk
    step is never half applied."""
    done, refused = [], []
    with transaction.atomic():
        for record in list(records):
            try:
                done.append(take_step(step, record, user, text))
            except ReviewRefused as exc:
                refused.append((record, exc.message))
    return done, refused
