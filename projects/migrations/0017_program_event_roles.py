"""The staff roles' permissions on program events: Editors may add, change and delete
them, Viewers may view them (as on every other tracked record; projects.roles)."""

from django.db import migrations

ALL_ACTIONS = ["view", "add", "change", "delete"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    found = Permission.objects.filter(content_type__app_label="projects", content_type__model="programevent")
    for group in Group.objects.filter(name="Editors"):
        group.permissions.add(*found.filter(codename__in=[f"{a}_programevent" for a in ALL_ACTIONS]))
    for group in Group.objects.filter(name="Viewers"):
        group.permissions.add(*found.filter(codename="view_programevent"))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(content_type__app_label="projects", content_type__model="programevent"):
        permission.group_set.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0016_program_events"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
