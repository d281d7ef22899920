"""Review before publish (core.review): a project's publication state (draft, in review,
published), filled from `published`, which the database now checks against it; the
reviewer's last comment; and the Reviewers group (projects.roles)."""

from django.db import migrations, models

from projects.db_rules import around_table_changes
from projects.roles import grant_review_permissions, revoke_review_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0003_review_workflow"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("projects", "0021_releasability"),
    ]

    operations = [
        *around_table_changes(
            migrations.AlterModelOptions(
                name="project",
                options={
                    "ordering": ["start_year", "title"],
                    "permissions": [("review_project", "Can approve or send back projects in review")],
                    "verbose_name": "project",
                    "verbose_name_plural": "projects",
                },
            ),
            migrations.AddField(
                model_name="historicalproject",
                name="publication_state",
                field=models.CharField(
                    choices=[("draft", "Draft"), ("in_review", "In review"), ("published", "Published")],
                    db_default="draft",
                    default="draft",
                    editable=False,
                    max_length=10,
                    verbose_name="publication state",
                ),
            ),
            migrations.AddField(
                model_name="historicalproject",
                name="review_comment",
                field=models.TextField(
                    blank=True,
                    editable=False,
                    help_text="Why a reviewer last sent this record back.",
                    verbose_name="reviewer's comment",
                ),
            ),
            migrations.AddField(
                model_name="project",
                name="publication_state",
                field=models.CharField(
                    choices=[("draft", "Draft"), ("in_review", "In review"), ("published", "Published")],
                    db_default="draft",
                    default="draft",
                    editable=False,
                    max_length=10,
                    verbose_name="publication state",
                ),
            ),
            migrations.AddField(
                model_name="project",
                name="review_comment",
                field=models.TextField(
                    blank=True,
                    editable=False,
                    help_text="Why a reviewer last sent this record back.",
                    verbose_name="reviewer's comment",
                ),
            ),
            migrations.AlterField(
                model_name="historicalproject",
                name="published",
                field=models.BooleanField(default=False, editable=False, verbose_name="published"),
            ),
            migrations.AlterField(
                model_name="project",
                name="published",
                field=models.BooleanField(default=False, editable=False, verbose_name="published"),
            ),
            migrations.RunSQL(
                "UPDATE projects_project SET publication_state = CASE WHEN published THEN 'published' ELSE 'draft' END",
                migrations.RunSQL.noop,
            ),
            migrations.RunSQL(
                "UPDATE projects_historicalproject SET publication_state = CASE WHEN published THEN 'published' ELSE 'draft' END",
                migrations.RunSQL.noop,
            ),
            migrations.AddConstraint(
                model_name="project",
                constraint=models.CheckConstraint(
                    condition=models.Q(
                        models.Q(("publication_state", "published"), ("published", True)),
                        models.Q(("publication_state__in", ["draft", "in_review"]), ("published", False)),
                        _connector="OR",
                    ),
                    name="projects_project_published_is_state",
                    violation_error_message="“published” must say whether the publication state is “published”.",
                ),
            ),
        ),
        migrations.RunPython(grant_review_permissions, revoke_review_permissions),
    ]
