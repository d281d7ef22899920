from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(sender, using, apps=None, **kwargs):
    """The Editors, Viewers and Reviewers groups, made again whenever the tables are emptied and
    refilled (a test database's flush), as Django does for permissions. The first
    creation is migration 0002; this only fills in what is missing."""
    from django.contrib.auth.models import Group, Permission

    from projects.roles import ALL_ACTIONS, REVIEW_PERMISSIONS, TRACKED, reviewer_permissions

    def perms(actions):
        codenames = [f"{action}_{model}" for models in TRACKED.values() for model in models for action in actions]
        found = list(
            Permission.objects.using(using).filter(content_type__app_label__in=TRACKED, codename__in=codenames)
        )
        return found if len(found) == len(codenames) else None

    editor_perms, viewer_perms = perms(ALL_ACTIONS), perms(["view"])
    reviewer_perms = reviewer_permissions(Permission.objects.using(using))
    expected = len(viewer_perms or []) + sum(len(codenames) for codenames in REVIEW_PERMISSIONS.values())
    if editor_perms is None or viewer_perms is None or len(reviewer_perms) != expected:
        return  # not every app's permissions exist yet: a later app's post_migrate will do it
    for name, wanted in (("Editors", editor_perms), ("Viewers", viewer_perms), ("Reviewers", reviewer_perms)):
        group, created = Group.objects.using(using).get_or_create(name=name)
        if created:
            group.permissions.set(wanted)


class ProjectsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "projects"
    verbose_name = _("Projects")

    def ready(self):
        from projects import signals  # noqa: F401  (connects the receivers)

        post_migrate.connect(_ensure_roles, dispatch_uid="projects_ensure_roles")
