"""The staff roles, as groups: Editors change data, Viewers only read.

Neither group holds any permission on users or groups: only superusers manage them.
"""

from django.db import migrations

TRACKED = {
    "partners": ["partner"],
    "projects": ["field", "program", "source", "project", "activity", "citation"],
}
ALL_ACTIONS = ["view", "add", "change", "delete"]


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(actions):
        codenames = [f"{action}_{model}" for models in TRACKED.values() for model in models for action in actions]
        found = list(Permission.objects.filter(content_type__app_label__in=TRACKED, codename__in=codenames))
        if len(found) != len(codenames):
            raise RuntimeError("Some permissions for the staff roles are missing.")
        return found

    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.set(perms(ALL_ACTIONS))
    viewers, _ = Group.objects.get_or_create(name="Viewers")
    viewers.permissions.set(perms(["view"]))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Editors", "Viewers"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("partners", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
