"""The staff roles: which models the Editors and Viewers groups hold permissions on."""

TRACKED = {
    "partners": ["partner"],
    "projects": [
        "field",
        "program",
        "source",
        "project",
        "projectpartner",
        "activity",
        "statusreport",
        "programevent",
        "citation",
    ],
}
ALL_ACTIONS = ["view", "add", "change", "delete"]


def grant_role_permissions(model):
    """A migration's (forwards, backwards) functions for a new tracked model of the
    projects app: Editors may view, add, change and delete its records, Viewers may view
    them. Forwards creates the model's permissions first (Django makes them only after
    the whole migrate)."""

    def grant(apps, schema_editor):
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        found = Permission.objects.filter(content_type__app_label="projects", content_type__model=model)
        for group in Group.objects.filter(name="Editors"):
            group.permissions.add(*found.filter(codename__in=[f"{a}_{model}" for a in ALL_ACTIONS]))
        for group in Group.objects.filter(name="Viewers"):
            group.permissions.add(*found.filter(codename=f"view_{model}"))

    def revoke(apps, schema_editor):
        Permission = apps.get_model("auth", "Permission")
        for permission in Permission.objects.filter(content_type__app_label="projects", content_type__model=model):
            permission.group_set.clear()

    return grant, revoke
