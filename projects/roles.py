"""The staff roles: which models the Editors, Viewers and Reviewers groups hold
permissions on. Reviewers view everything and approve or send back what waits for
review (core.review); a reviewer who is to edit too is put in Editors as well."""

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
# The review permission of each model published through review (core.models.ReviewedModel).
REVIEW_PERMISSIONS = {"partners": ["review_partner"], "projects": ["review_project"]}


def _create_permissions(apps):
    """Every model's permissions, made now: Django makes them only after the whole migrate,
    and a migration that grants them needs them before."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant_review_permissions(apps, schema_editor):
    """A migration's forwards function: the Reviewers group, which may view every tracked
    model and review partners and projects."""
    _create_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Reviewers")
    group.permissions.add(*reviewer_permissions(Permission.objects))


def reviewer_permissions(permissions):
    """The Reviewers group's permissions, from the Permission manager `permissions`."""
    views = [f"view_{model}" for models in TRACKED.values() for model in models]
    reviews = [codename for codenames in REVIEW_PERMISSIONS.values() for codename in codenames]
    return list(permissions.filter(content_type__app_label__in=TRACKED, codename__in=[*views, *reviews]))


def revoke_review_permissions(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Reviewers").delete()


def grant_role_permissions(model):
    """A migration's (forwards, backwards) functions for a new tracked model of the
    projects app: Editors may view, add, change and delete its records, Viewers may view
    them. Forwards creates the model's permissions first (Django makes them only after
    the whole migrate)."""

    def grant(apps, schema_editor):
        _create_permissions(apps)
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
