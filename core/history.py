"""Deleted records, and bringing them back from their history (django-simple-history).

Every tracked record leaves a "-" history entry when it is deleted, holding its last
values and (for a project) its links. `restore_deleted()` brings one back with its own
id, as it was when it was deleted: its links (a project's partners and fields), the links
other records had to it (the projects a partner or field was linked to, from each
project's latest history), and the records the deletion took with it (a project's
activities and their citations, a partner's citations), deleted in the same cascade.
"""

from datetime import timedelta

from django.db import models, transaction
from django.db.models import Max

from core.models import OneHistoryEntry

# A cascade deletes the record and its children in one transaction, in whatever order
# the deletion collector chooses: their history entries fall within moments of each
# other. A child deleted further from the record's deletion than this, on its own,
# stays deleted.
CASCADE_WINDOW = timedelta(seconds=60)

RESTORED_REASON = "Restored from the deleted records"


class RestoreError(Exception):
    pass


def _latest_entries(history):
    """The id of each record's latest entry in a history table (a subquery)."""
    return history.objects.values("id").annotate(last=Max("history_id")).values("last")


def deleted_records(model):
    """The latest "-" history entry of each deleted record of `model` that is still
    deleted (no row with its id), newest first."""
    history = model.history.model
    existing = model._base_manager.values("pk")
    return (
        history.objects.filter(history_id__in=_latest_entries(history), history_type="-")
        .exclude(id__in=existing)
        .select_related("history_user")
        .order_by("-history_date")
    )


def linked_ids(record, field):
    """The ids a history entry's many-to-many `field` held (its partners, its fields)."""
    return [getattr(row, field.m2m_reverse_field_name() + "_id") for row in getattr(record, field.name).all()]


def history_m2m_fields(model):
    """The many-to-many fields whose links `model`'s history entries hold."""
    return getattr(model.history.model, "_history_m2m_fields", [])


def _restore(model, record, user, restored, when):
    obj = record.instance
    obj._history_user = user
    obj._change_reason = RESTORED_REASON
    entry = OneHistoryEntry(model).begin()  # the row and its links: one "+" entry
    obj.save(force_insert=True)
    restored.append(obj)
    # The "-" entry holds no links (they are gone by then): the entry before it has them.
    linked = model.history.model.objects.filter(id=record.id, history_id__lt=record.history_id)
    linked = linked.exclude(history_type="-").order_by("-history_id").first()
    for field in history_m2m_fields(model):
        getattr(obj, field.name).set(linked_ids(linked, field) if linked is not None else [])
    entry.end(obj)
    _restore_links_to(model, obj)
    _restore_children(model, obj, user, restored, when)
    return obj


def _restore_links_to(model, obj):
    """The links other records had to `obj` (a project's link to a deleted partner went
    with it): from each linking record's latest history entry."""
    for other in _models_linking_to(model):
        for field in history_m2m_fields(other):
            if field.related_model is not model:
                continue
            history = other.history.model
            m2m_history = getattr(history, field.name).model  # as manage.py seed reads it
            owners = m2m_history.objects.filter(
                history__history_id__in=_latest_entries(history), **{f"{field.m2m_reverse_field_name()}_id": obj.pk}
            ).values_list(f"{field.m2m_field_name()}_id", flat=True)
            for owner in other._base_manager.filter(pk__in=list(owners)):
                getattr(owner, field.name).add(obj)


def _models_linking_to(model):
    return [m for m in _tracked_models() if any(f.related_model is model for f in history_m2m_fields(m))]


def _tracked_models():
    from django.apps import apps

    return [m for m in apps.get_models() if hasattr(m, "history") and hasattr(m.history, "model")]


def _restore_children(model, obj, user, restored, when):
    for relation in model._meta.related_objects:
        child = relation.related_model
        if relation.many_to_many or relation.on_delete is not models.CASCADE or not hasattr(child, "history"):
            continue
        attname = relation.field.attname
        candidates = child.history.model.objects.filter(
            history_type="-",
            history_date__gte=when - CASCADE_WINDOW,
            history_date__lte=when + CASCADE_WINDOW,
            **{attname: obj.pk},
        ).order_by("history_id")
        existing = set(child._base_manager.filter(**{attname: obj.pk}).values_list("pk", flat=True))
        seen = set()
        for child_record in candidates:
            if child_record.id in existing or child_record.id in seen:
                continue
            seen.add(child_record.id)
            _restore(child, child_record, user, restored, when)


def restore_deleted(model, history_id, user):
    """Bring back the deleted record whose "-" history entry is `history_id`, with its
    links and the records deleted with it; one transaction. Returns the records restored
    (the record first). RestoreError says why not."""
    record = model.history.model.objects.filter(history_id=history_id, history_type="-").first()
    if record is None:
        raise RestoreError("No deleted record has this history entry.")
    with transaction.atomic():
        if model._base_manager.filter(pk=record.id).exists():
            raise RestoreError("This record exists again: it was restored or re-created since.")
        restored = []
        _restore(model, record, user, restored, record.history_date)
        return restored
