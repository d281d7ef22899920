"""Deleted records, and bringing them back from their history (django-simple-history).

Every tracked record leaves a "-" history entry when it is deleted, holding its last
values and (for a project) its links. `restore_deleted()` brings one back with its own
id, as it was when it was deleted: its links (a project's partners and fields), the links
other records had to it (the projects a partner or field was linked to, from each
project's latest history), and the records the deletion took with it (a project's
activities and their citations, a partner's citations), deleted in the same cascade.

`children_as_of()` and `revert_children()` do the same for a record reverted to one of
its versions: its child rows (a project's activities and citations, and their citations)
are brought back to what they were at that version's date: rows added since are removed,
rows deleted since come back, rows changed since take their values of then.
"""

from datetime import timedelta

from django.db import models, transaction
from django.db.models import Max

from core.models import OneHistoryEntry, PublicationState, ReviewedModel

# A cascade deletes the record and its children in one transaction, in whatever order
# the deletion collector chooses: their history entries fall within moments of each
# other. A child deleted further from the record's deletion than this, on its own,
# stays deleted.
CASCADE_WINDOW = timedelta(seconds=60)

RESTORED_REASON = "Restored from the deleted records"
REVERTED_REASON = "Reverted with its parent to its version of %s"

# What a child row's revert leaves as it is: the row's identity, and what every save
# moves on by itself.
_NOT_REVERTED = {"version", "created", "updated"}


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


def link_columns(field):
    """The columns of `field`'s through model beyond its two keys (a partner's role)."""
    through = field.remote_field.through
    keys = {field.m2m_field_name(), field.m2m_reverse_field_name()}
    return [f.attname for f in through._meta.concrete_fields if not f.primary_key and f.name not in keys]


def set_links(obj, field, record):
    """Give `obj` the links of `field` that history entry `record` held (None: none), each
    with the through model's other columns as they were (a partner's role)."""
    manager = getattr(obj, field.name)
    manager.clear()
    if record is None:
        return
    extras = link_columns(field)
    groups = {}
    for row in getattr(record, field.name).all():
        key = tuple(getattr(row, name) for name in extras)
        groups.setdefault(key, []).append(getattr(row, field.m2m_reverse_field_name() + "_id"))
    for key, ids in groups.items():
        manager.add(*ids, through_defaults=dict(zip(extras, key, strict=True)))


def link_states(field, *, record=None, obj=None):
    """{related id: (the through model's other columns)} of the links of `field` that a
    history entry `record` held, or that record `obj` has now."""
    extras = link_columns(field)
    target = field.m2m_reverse_field_name() + "_id"
    if record is not None:
        return {
            getattr(row, target): tuple(getattr(row, n) for n in extras) for row in getattr(record, field.name).all()
        }
    through = field.remote_field.through
    rows = through._base_manager.filter(**{f"{field.m2m_field_name()}_id": obj.pk}).values_list(target, *extras)
    return {row[0]: tuple(row[1:]) for row in rows}


def link_label(field, related, extras) -> str:
    """A link as the revert form lists it: "Brunei", or with its columns, "Brunei (Venue)"."""
    if not extras:
        return str(related)
    through = field.remote_field.through
    shown = [
        str(dict(through._meta.get_field(name).flatchoices).get(value, value))
        for name, value in zip(link_columns(field), extras, strict=True)
    ]
    return f"{related} ({', '.join(shown)})"


def history_m2m_fields(model):
    """The many-to-many fields whose links `model`'s history entries hold."""
    return getattr(model.history.model, "_history_m2m_fields", [])


def _restore(model, record, user, restored, when):
    obj = record.instance
    if isinstance(obj, ReviewedModel):
        # Back as a draft: published again only through review (core.review).
        obj.publication_state = PublicationState.DRAFT
    obj._history_user = user
    obj._change_reason = RESTORED_REASON
    entry = OneHistoryEntry(model).begin()  # the row and its links: one "+" entry
    obj.save(force_insert=True)
    restored.append(obj)
    # The "-" entry holds no links (they are gone by then): the entry before it has them.
    linked = model.history.model.objects.filter(id=record.id, history_id__lt=record.history_id)
    linked = linked.exclude(history_type="-").order_by("-history_id").first()
    for field in history_m2m_fields(model):
        set_links(obj, field, linked)
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
            extras = link_columns(field)
            rows = m2m_history.objects.filter(
                history__history_id__in=_latest_entries(history), **{f"{field.m2m_reverse_field_name()}_id": obj.pk}
            ).values_list(f"{field.m2m_field_name()}_id", *extras)
            then = {row[0]: dict(zip(extras, row[1:], strict=True)) for row in rows}
            for owner in other._base_manager.filter(pk__in=list(then)):
                getattr(owner, field.name).add(obj, through_defaults=then[owner.pk])


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


def _cascade_children(model):
    """The (child model, foreign key attname) of each tracked record deleted with one of
    `model`'s (a project's activities and citations)."""
    for relation in model._meta.related_objects:
        child = relation.related_model
        if relation.many_to_many or relation.on_delete is not models.CASCADE or not hasattr(child, "history"):
            continue
        yield child, relation.field.attname


def has_children(model):
    """Whether a revert of `model`'s records reverts child rows too."""
    return any(True for _ in _cascade_children(model))


def _compared_fields(model):
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in _NOT_REVERTED]


def children_as_of(model, pk, when):
    """What reverting record `pk` of `model` to its state at `when` does to its child rows,
    all the way down: a list of (action, child model, row now or None, history entry or
    None), action one of "remove" (added since), "restore" (deleted since) and "revert"
    (changed since), parents before their children."""
    plan = []
    for child, attname in _cascade_children(model):
        history = child.history.model
        ever = history.objects.filter(**{attname: pk}, history_date__lte=when).values("id")
        latest = history.objects.filter(id__in=ever, history_date__lte=when)
        latest = latest.values("id").annotate(last=Max("history_id"))
        then = {
            entry.id: entry
            for entry in history.objects.filter(history_id__in=latest.values("last"))
            if entry.history_type != "-" and getattr(entry, attname) == pk
        }
        now = {row.pk: row for row in child._base_manager.filter(**{attname: pk})}
        elsewhere = {row.pk: row for row in child._base_manager.filter(pk__in=set(then) - set(now))}
        for row_id, row in sorted(now.items()):
            if row_id not in then:
                plan.append(("remove", child, row, None))
        for row_id, entry in sorted(then.items()):
            row = now.get(row_id) or elsewhere.get(row_id)
            if row is None:
                plan.append(("restore", child, None, entry))
            elif any(f.value_from_object(row) != getattr(entry, f.attname) for f in _compared_fields(child)):
                plan.append(("revert", child, row, entry))
            plan.extend(children_as_of(child, row_id, when))
    return plan


def describe_children(plan):
    """The plan of `children_as_of()` in words, per child model: [{"model", "removed",
    "restored", "reverted"}], each a list of names ("reverted" with the fields that
    change)."""
    described = {}
    for action, child, row, entry in plan:
        item = described.setdefault(
            child,
            {"model": child._meta.verbose_name_plural, "removed": [], "restored": [], "reverted": []},
        )
        if action == "remove":
            item["removed"].append(str(row))
        elif action == "restore":
            item["restored"].append(str(entry.instance))
        else:
            changed = [
                str(f.verbose_name)
                for f in _compared_fields(child)
                if f.value_from_object(row) != getattr(entry, f.attname)
            ]
            item["reverted"].append(f"{entry.instance} ({', '.join(changed)})")
    return list(described.values())


def revert_children(model, pk, when, user, plan=None):
    """Carry out `children_as_of(model, pk, when)` (or the `plan` given): in the caller's
    transaction, each row checked as any save is (ValidationError) and saved with its own
    history entry, its reason naming the date."""
    plan = children_as_of(model, pk, when) if plan is None else plan
    reason = REVERTED_REASON % when.strftime("%Y-%m-%d %H:%M:%S")
    for action, _child, row, _entry in plan:
        if action == "remove":
            row._history_user, row._change_reason = user, reason
            row.delete()
    for action, _child, _row, entry in plan:
        if action == "remove":
            continue
        obj = entry.instance
        obj._history_user, obj._change_reason = user, reason
        # The checks every other save of the row passes (a slug taken since, a year
        # refused now): a ValidationError naming the field, and nothing written.
        obj._state.adding = action == "restore"
        obj.full_clean()
        obj.save(force_insert=action == "restore")
    return plan
