"""Keep each project's search document current when what it is built from changes: the
project itself, its partners and fields, and their names. (A spreadsheet import, which
writes without saving each record, builds the documents itself: projects.resources.)"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from partners.models import Partner
from partners.signals import partners_renamed
from projects.models import Activity, Citation, Field, Project, Source, StatusReport
from projects.search import project_refresh_search, project_search_document


@receiver(pre_save, sender=Project)
def build_on_save(sender, instance, raw, **kwargs):
    # A fixture (raw) is stored as it is, with the document it holds.
    if not raw:
        instance.search_document = project_search_document(instance)


@receiver(m2m_changed, sender=Project.partners.through)
@receiver(m2m_changed, sender=Project.fields.through)
def refresh_after_membership_change(sender, instance, action, reverse, pk_set, **kwargs):
    if reverse and action == "pre_clear":
        # After a clear the partner or field no longer knows its projects: note them now.
        instance._projects_before_clear = list(instance.projects.values_list("pk", flat=True))
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:
        # A partner or field gained or lost projects: refresh those projects.
        if action == "post_clear":
            pk_set = getattr(instance, "_projects_before_clear", [])
        projects = Project.objects.filter(pk__in=pk_set or [])
    else:
        projects = Project.objects.filter(pk=instance.pk)
    project_refresh_search(projects=projects)


@receiver(post_save, sender=Partner)
@receiver(post_save, sender=Field)
def refresh_after_rename(sender, instance, created, raw, **kwargs):
    if raw or created:
        return
    project_refresh_search(projects=instance.projects.all())


@receiver(partners_renamed)
def refresh_after_bulk_rename(sender, partner_ids, **kwargs):
    """A spreadsheet import changed these partners without model signals."""
    project_refresh_search(projects=Project.objects.filter(partners__in=partner_ids).distinct())


@receiver(post_save, sender=StatusReport)
@receiver(post_delete, sender=StatusReport)
@receiver(post_save, sender=Activity)
@receiver(post_delete, sender=Activity)
def refresh_latest(sender, instance, using, **kwargs):
    """The project's current status is its latest report, and the years it counts in run
    to its latest evidence: after every report or activity saved or deleted (a fixture's
    raw save and a cascade's delete too)."""
    project = Project.objects.using(using).filter(pk=instance.project_id).first()
    if project is not None:
        project.refresh_latest()


@receiver(post_save, sender=Citation)
@receiver(post_delete, sender=Citation)
def refresh_latest_after_citation(sender, instance, using, **kwargs):
    """A citation's source year is evidence for the project it (or its activity or status
    report) belongs to."""
    for project_id in _cited_project_ids(instance, using):
        project = Project.objects.using(using).filter(pk=project_id).first()
        if project is not None:
            project.refresh_latest()


def _cited_project_ids(citation, using):
    ids = {citation.project_id}
    for owner in ("activity", "status_report"):
        owner_id = getattr(citation, f"{owner}_id")
        if owner_id is not None:
            model = Citation._meta.get_field(owner).related_model
            ids.add(model.objects.using(using).filter(pk=owner_id).values_list("project_id", flat=True).first())
    return ids - {None}


@receiver(pre_save, sender=Source)
def note_source_year(sender, instance, raw, using, **kwargs):
    instance._year_before = (
        None
        if instance.pk is None
        else Source.objects.using(using).filter(pk=instance.pk).values_list("year", flat=True).first()
    )


@receiver(post_save, sender=Source)
def refresh_latest_after_source_year(sender, instance, created, using, **kwargs):
    """A source's publication year is evidence for every project it is cited for."""
    if created or instance.year == getattr(instance, "_year_before", instance.year):
        return
    cited = Citation.objects.using(using).filter(source=instance)
    ids = (
        set(cited.exclude(project=None).values_list("project_id", flat=True))
        | set(cited.exclude(activity=None).values_list("activity__project_id", flat=True))
        | set(cited.exclude(status_report=None).values_list("status_report__project_id", flat=True))
    )
    Project.refresh_latest_of(ids, using=using)
