from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


def _drop_span_rule(sender, using, **kwargs):
    from projects.db_rules import span_rule_drop

    span_rule_drop(using=using)


def _create_span_rule(sender, using, **kwargs):
    from projects.db_rules import span_rule_create

    span_rule_create(using=using)


class ProjectsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "projects"
    verbose_name = _("Projects")

    def ready(self):
        from projects import signals  # noqa: F401  (connects the receivers)

        # SQLite rebuilds tables during migrations; the span triggers would break that.
        pre_migrate.connect(_drop_span_rule, sender=self, dispatch_uid="projects_drop_span_rule")
        post_migrate.connect(_create_span_rule, sender=self, dispatch_uid="projects_create_span_rule")
