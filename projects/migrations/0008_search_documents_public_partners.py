from django.db import migrations


def rebuild_search_documents(apps, schema_editor):
    """Search documents hold the names of public partners only (projects.search): rebuild
    the ones written when they held every partner's name."""
    Project = apps.get_model("projects", "Project")
    for project in Project.objects.prefetch_related("partners", "fields"):
        parts = [project.title, project.description]
        for partner in project.partners.all():
            if partner.published:
                parts += [partner.name, partner.name_ja]
        for field in project.fields.all():
            parts += [field.name, field.name_ja]
        document = " ".join(p for p in parts if p)
        if document != project.search_document:
            Project.objects.filter(pk=project.pk).update(search_document=document)


class Migration(migrations.Migration):

    dependencies = [
        ("partners", "0001_initial"),
        ("projects", "0007_link_ids"),
    ]

    operations = [
        migrations.RunPython(rebuild_search_documents, migrations.RunPython.noop),
    ]
